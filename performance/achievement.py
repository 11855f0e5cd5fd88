"""Achievement: KPI values for a unit (or an ME) and its children in a period,
as of a date, beside their targets, last year's same period, and their rank
among peers.

Read from the monthly facts by one GROUP BY on the child level's id column
(region for Pusat, area for a Wilayah, branch for an Area, ME for a branch);
when the as-of date cuts a past month in two, that month is counted live from
the source tables by the same KPI definitions (``kpis.compute``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from org.models import OrgUnit, UnitKind, User
from performance import facts
from performance.kpis import KPI_BY_CODE, KPIS, Kpi, compute, percent
from performance.periods import Period, add_months, month_start

# The id column of each level in the facts, and the level below each kind.
LEVEL_COLUMN = {UnitKind.WILAYAH: "region", UnitKind.AREA: "area", UnitKind.CABANG: "branch"}
CHILD_KIND = {UnitKind.PUSAT: UnitKind.WILAYAH, UnitKind.WILAYAH: UnitKind.AREA, UnitKind.AREA: UnitKind.CABANG}
ALL = tuple(k.code for k in KPIS)


@dataclass
class Figure:
    kpi: Kpi
    value: Decimal = Decimal(0)
    base: int = 0
    target: Decimal | None = None
    last_value: Decimal = Decimal(0)
    last_base: int = 0
    rank: int | None = None
    peers: int = 0

    @property
    def shown(self) -> Decimal | None:
        """The figure as read: a count, rupiah, or a percent for a ratio KPI."""
        return percent(self.value, self.base) if self.kpi.is_ratio else self.value

    @property
    def last_shown(self) -> Decimal | None:
        return percent(self.last_value, self.last_base) if self.kpi.is_ratio else self.last_value

    @property
    def of_target(self) -> Decimal | None:
        """Percent of target (one decimal); ``None`` without a target."""
        shown = self.shown
        if self.target is None or shown is None or not self.target:
            return None
        return (Decimal(shown) * 100 / self.target).quantize(Decimal("0.1"))

    @property
    def growth(self) -> Decimal | None:
        """Change against the same period last year, in percent (points for a ratio KPI)."""
        now, then = self.shown, self.last_shown
        if now is None or then is None:
            return None
        if self.kpi.is_ratio:
            return (Decimal(now) - Decimal(then)).quantize(Decimal("0.1"))
        if not then:
            return None
        return ((Decimal(now) - Decimal(then)) * 100 / Decimal(then)).quantize(Decimal("0.1"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "kpi": self.kpi.code,
            "value": _num(self.shown),
            "numerator": _num(self.value),
            "base": self.base if self.kpi.is_ratio else None,
            "target": _num(self.target),
            "of_target": _num(self.of_target),
            "last_year": _num(self.last_shown),
            "growth": _num(self.growth),
            "rank": self.rank,
            "peers": self.peers,
        }


def _num(v: Decimal | None) -> str | None:
    return None if v is None else str(v)


@dataclass
class Line:
    """One row of an achievement table: a unit, an ME, or what no ME initiated."""

    key: Any  # an OrgUnit, a User, or None for "not attributed to an ME"
    figures: dict[str, Figure] = field(default_factory=dict)

    @property
    def label(self) -> str:
        if isinstance(self.key, OrgUnit):
            return self.key.name
        if isinstance(self.key, User):
            return self.key.get_full_name() or self.key.username
        return ""

    def __getitem__(self, code: str) -> Figure:
        return self.figures[code]


@dataclass
class Achievement:
    period: Period
    as_of: dt.date
    codes: tuple[str, ...]
    own: Line
    children: list[Line]
    child_kind: str  # a UnitKind, or "ME"
    unattributed: Line | None = None

    @property
    def kpis(self) -> list[Kpi]:
        return [KPI_BY_CODE[c] for c in self.codes]


def effective_as_of(period: Period, as_of: dt.date | None) -> dt.date:
    """The as-of date used: never after today, never after the period's last day."""
    today = timezone.localdate()
    day = min(as_of or today, today, period.last_day)
    return day


def _ranges(period: Period, as_of: dt.date) -> tuple[dt.date, dt.date, dt.date | None]:
    """(first month, end of the months read from facts, start of a month counted live or None)."""
    today = timezone.localdate()
    if as_of >= today or as_of >= period.last_day:
        return period.start, min(period.end, add_months(month_start(as_of), 1)), None
    cut = month_start(as_of)
    if cut < period.start:
        cut = period.start
    return period.start, cut, cut


def _fact_sums(
    *, period: Period, as_of: dt.date, codes: Sequence[str], by: str, where: dict[str, Any], me: bool = False
) -> dict[tuple[Any, str], tuple[Decimal, int]]:
    """{(child id, kpi): (value, base)} over the period, as of the date."""
    from performance.models import BranchDayFact, KpiFact, MeFact, RegionDayFact, RegionMonthFact

    out: dict[tuple[Any, str], list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    if by == "region" and not where and not me:
        # Pusat: the regions' month facts for whole months, their day facts for
        # the month the as-of date falls in: any period, any as-of date.
        last = min(period.end, as_of + dt.timedelta(days=1))
        cut = max(period.start, month_start(last - dt.timedelta(days=1)))
        parts = [
            RegionMonthFact.objects.filter(month__gte=period.start, month__lt=cut, kpi__in=list(codes)),
            RegionDayFact.objects.filter(day__gte=cut, day__lt=last, kpi__in=list(codes)),
        ]
        for part in parts:
            for r in part.values("region_id", "kpi").annotate(v=Sum("value"), b=Sum("base")).order_by():
                cell = out[(r["region_id"], r["kpi"])]
                cell[0] += r["v"] or 0
                cell[1] += r["b"] or 0
        return {k: (v[0], v[1]) for k, v in out.items()}
    first, fact_end, live_from = _ranges(period, as_of)
    if first < fact_end:
        model: Any = MeFact if me else KpiFact
        qs: Any = model.objects.filter(month__gte=first, month__lt=fact_end, kpi__in=list(codes), **where)
        group = f"{by}_id" if by else None
        names = [group, "kpi"] if group else ["kpi"]
        for r in qs.values(*names).annotate(v=Sum("value"), b=Sum("base")).order_by():
            cell = out[(r[group] if group else None, r["kpi"])]
            cell[0] += r["v"] or 0
            cell[1] += r["b"] or 0
    if live_from is not None and not me:
        # The cut month from the branches' day facts.
        cut_end = min(period.end, as_of + dt.timedelta(days=1))
        day_qs = BranchDayFact.objects.filter(day__gte=live_from, day__lt=cut_end, kpi__in=list(codes), **where)
        group = f"{by}_id" if by else None
        names = [group, "kpi"] if group else ["kpi"]
        for r in day_qs.values(*names).annotate(v=Sum("value"), b=Sum("base")).order_by():
            cell = out[(r[group] if group else None, r["kpi"])]
            cell[0] += r["v"] or 0
            cell[1] += r["b"] or 0
    elif live_from is not None:
        # An ME's cut month, counted live (a few rows).
        live_where = {k.removesuffix("_id"): v for k, v in where.items()}
        for row in compute(
            codes, start=live_from, end=period.end, as_of=as_of, by=(by,) if by else (), where=live_where
        ):
            cell = out[(row.key[0] if by else None, row.kpi)]
            cell[0] += row.value
            cell[1] += row.base
    return {k: (v[0], v[1]) for k, v in out.items()}


def _fill(lines: dict[Any, Line], sums: dict[tuple[Any, str], tuple[Decimal, int]], *, last: bool) -> None:
    for (key, code), (value, base) in sums.items():
        line = lines.get(key)
        if line is None:
            continue
        fig = line.figures[code]
        if last:
            fig.last_value, fig.last_base = value, base
        else:
            fig.value, fig.base = value, base


def _rank(lines: Iterable[Line], codes: Sequence[str]) -> None:
    """Rank peers per KPI by percent of target when every peer has one, else by the figure."""
    lines = list(lines)
    for code in codes:
        figs = [line.figures[code] for line in lines]
        with_target = all(f.of_target is not None for f in figs)

        def score(f: Figure, with_target: bool = with_target) -> Decimal:
            v = f.of_target if with_target else f.shown
            return Decimal(v) if v is not None else Decimal(-1)

        ordered = sorted(figs, key=score, reverse=True)
        for position, f in enumerate(ordered, start=1):
            f.rank, f.peers = position, len(figs)


def _empty_line(key: Any, codes: Sequence[str]) -> Line:
    return Line(key, {c: Figure(KPI_BY_CODE[c]) for c in codes})


def _targets(period: Period, codes: Sequence[str], *, units: Sequence[int] = (), mes: Sequence[int] = ()) -> dict:
    from performance.models import Target

    qs = Target.objects.filter(period_kind=period.kind, period_start=period.start, kpi__in=list(codes))
    out: dict[tuple[str, int, str], Decimal] = {}
    if units:
        for unit_id, code, value in qs.filter(unit_id__in=list(units), me__isnull=True).values_list(
            "unit_id", "kpi", "value"
        ):
            out[("unit", unit_id, code)] = value
    if mes:
        for me_id, code, value in qs.filter(me_id__in=list(mes)).values_list("me_id", "kpi", "value"):
            out[("me", me_id, code)] = value
    return out


def for_unit(
    unit: OrgUnit,
    period: Period,
    as_of: dt.date | None = None,
    codes: Sequence[str] = ALL,
    *,
    last_year: bool = True,
) -> Achievement:
    """The unit's own figures and one line per child unit (a branch: per ME, plus
    what no ME initiated), with targets, last year (unless ``last_year`` is
    false: a ranking needs only this period) and ranks."""
    facts.settle()
    as_of = effective_as_of(period, as_of)
    last_period = period.previous_year()
    last_as_of = _year_before(as_of)
    kind = unit.kind
    if kind == UnitKind.CABANG:
        return _branch(unit, period, as_of, last_period, last_as_of, codes, last_year=last_year)
    child_kind = CHILD_KIND.get(kind)  # type: ignore[call-overload]
    if child_kind is None:
        raise ValueError(f"no achievement for a {kind}")
    by = LEVEL_COLUMN[child_kind]
    where = {} if kind == UnitKind.PUSAT else {f"{LEVEL_COLUMN[UnitKind(kind)]}_id": unit.pk}
    # Closed units too: their history still adds up to the parent's figures.
    children = list(OrgUnit.objects.filter(parent=unit, kind=child_kind).order_by("code"))
    lines = {c.pk: _empty_line(c, codes) for c in children}
    _fill(lines, _fact_sums(period=period, as_of=as_of, codes=codes, by=by, where=where), last=False)
    if last_year:
        _fill(lines, _fact_sums(period=last_period, as_of=last_as_of, codes=codes, by=by, where=where), last=True)
    own = _sum_line(unit, lines.values(), codes)
    targets = _targets(period, codes, units=[unit.pk, *lines])
    for pk, line in lines.items():
        for code, fig in line.figures.items():
            fig.target = targets.get(("unit", pk, code))
    for code, fig in own.figures.items():
        fig.target = targets.get(("unit", unit.pk, code))
    _rank(lines.values(), codes)
    return Achievement(period, as_of, tuple(codes), own, list(lines.values()), child_kind)


def _sum_line(key: Any, lines: Iterable[Line], codes: Sequence[str]) -> Line:
    own = _empty_line(key, codes)
    for line in lines:
        for code, fig in line.figures.items():
            o = own.figures[code]
            o.value += fig.value
            o.base += fig.base
            o.last_value += fig.last_value
            o.last_base += fig.last_base
    return own


def _branch(
    unit: OrgUnit,
    period: Period,
    as_of: dt.date,
    last_period: Period,
    last_as_of: dt.date,
    codes: Sequence[str],
    *,
    last_year: bool = True,
) -> Achievement:
    from performance import selectors

    mes = selectors.branch_mes(unit, period)
    me_lines = {m.pk: _empty_line(m, codes) for m in mes}
    total = {None: _empty_line(unit, codes)}
    where = {"branch_id": unit.pk}
    _fill(total, _fact_sums(period=period, as_of=as_of, codes=codes, by="", where=where), last=False)
    _fill(me_lines, _fact_sums(period=period, as_of=as_of, codes=codes, by="me", where=where, me=True), last=False)
    if last_year:
        _fill(total, _fact_sums(period=last_period, as_of=last_as_of, codes=codes, by="", where=where), last=True)
        _fill(
            me_lines,
            _fact_sums(period=last_period, as_of=last_as_of, codes=codes, by="me", where=where, me=True),
            last=True,
        )
    own = total[None]
    attributed = _sum_line(None, me_lines.values(), codes)
    rest = _empty_line(None, codes)
    for code in codes:
        o, a, r = own.figures[code], attributed.figures[code], rest.figures[code]
        r.value, r.base = o.value - a.value, o.base - a.base
        r.last_value, r.last_base = o.last_value - a.last_value, o.last_base - a.last_base
    targets = _targets(period, codes, units=[unit.pk], mes=list(me_lines))
    for pk, line in me_lines.items():
        for code, fig in line.figures.items():
            fig.target = targets.get(("me", pk, code))
    for code, fig in own.figures.items():
        fig.target = targets.get(("unit", unit.pk, code))
    _rank(me_lines.values(), codes)
    return Achievement(period, as_of, tuple(codes), own, list(me_lines.values()), "ME", unattributed=rest)


def for_me(me: User, period: Period, as_of: dt.date | None = None, codes: Sequence[str] = ALL) -> Line:
    """One ME's figures (across the branches they worked in during the period)."""
    facts.settle()
    as_of = effective_as_of(period, as_of)
    line = {None: _empty_line(me, codes)}
    where = {"me_id": me.pk}
    _fill(line, _fact_sums(period=period, as_of=as_of, codes=codes, by="", where=where, me=True), last=False)
    _fill(
        line,
        _fact_sums(period=period.previous_year(), as_of=_year_before(as_of), codes=codes, by="", where=where, me=True),
        last=True,
    )
    targets = _targets(period, codes, mes=[me.pk])
    for code, fig in line[None].figures.items():
        fig.target = targets.get(("me", me.pk, code))
    return line[None]


def _year_before(day: dt.date) -> dt.date:
    if day.year <= dt.MINYEAR:
        return day
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def trend(unit: OrgUnit | None, codes: Sequence[str], *, months: int = 12, me: User | None = None) -> dict:
    """Monthly values of the last ``months`` months (this one included), and the
    same months a year earlier: {kpi: [(month, value, last_year_value)]}."""
    from performance.models import KpiFact, MeFact, RegionMonthFact

    facts.settle()
    this = month_start(timezone.localdate())
    first = add_months(this, -(months - 1))
    qs: Any
    if me is None and (unit is None or unit.kind == UnitKind.PUSAT):
        qs = RegionMonthFact.objects.all()
    elif me is not None:
        qs = MeFact.objects.filter(me=me)
    else:
        qs = KpiFact.objects.all()
        if unit is not None and unit.kind in LEVEL_COLUMN:
            qs = qs.filter(**{f"{LEVEL_COLUMN[unit.kind]}_id": unit.pk})  # type: ignore[index]
    qs = qs.filter(kpi__in=list(codes), month__gte=add_months(first, -12), month__lte=this)
    sums: dict[tuple[str, dt.date], tuple[Decimal, int]] = {}
    for r in qs.values("kpi", "month").annotate(v=Sum("value"), b=Sum("base")).order_by():
        sums[(r["kpi"], r["month"])] = (r["v"] or Decimal(0), r["b"] or 0)
    out: dict[str, list[tuple[dt.date, Decimal | None, Decimal | None]]] = {}
    for code in codes:
        kpi = KPI_BY_CODE[code]
        series = []
        for i in range(months):
            m = add_months(first, i)
            v, b = sums.get((code, m), (Decimal(0), 0))
            lv, lb = sums.get((code, add_months(m, -12)), (Decimal(0), 0))
            series.append((m, percent(v, b) if kpi.is_ratio else v, percent(lv, lb) if kpi.is_ratio else lv))
        out[code] = series
    return out


def mix(unit: OrgUnit | None, period: Period, as_of: dt.date | None = None) -> list[dict[str, Any]]:
    """Closings by scheme × channel in the period (amount, count, new customers)."""
    from performance.models import KpiFact

    facts.settle()
    as_of = effective_as_of(period, as_of)
    first, fact_end, live_from = _ranges(period, as_of)
    where: dict[str, Any] = {}
    if unit is not None and unit.kind in LEVEL_COLUMN:
        where[f"{LEVEL_COLUMN[unit.kind]}_id"] = unit.pk  # type: ignore[index]
    cells: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    codes = ["closing_amount", "closing_count", "new_customers"]
    qs = KpiFact.objects.filter(month__gte=first, month__lt=fact_end, kpi__in=codes, **where)
    for r in qs.values("scheme", "channel", "kpi").annotate(v=Sum("value")).order_by():
        cells[(r["scheme"], r["channel"])][r["kpi"]] += r["v"] or 0
    if live_from is not None:
        live_where = {k.removesuffix("_id"): v for k, v in where.items()}
        for row in compute(codes, start=live_from, end=period.end, as_of=as_of, by=(), where=live_where):
            cells[(row.scheme, row.channel)][row.kpi] += row.value
    return [
        {"scheme": s, "channel": c, **{k: v.get(k, Decimal(0)) for k in codes}} for (s, c), v in sorted(cells.items())
    ]
