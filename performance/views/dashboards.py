"""Performance dashboards: one page per unit (Pusat, Wilayah, Area, Cabang) and
a scorecard per ME, with the ME evaluation the branch head writes.

Thin: the access policy decides (``org.access``: out of scope 404, wrong role
403), ``performance.achievement`` and ``performance.selectors`` read,
``performance.services`` writes. Every page runs a fixed number of queries,
whatever the number of children: each block is one GROUP BY.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.dates import day_param
from core.errors import DomainError
from org import access
from org.models import PATH_SEPARATOR, OrgUnit, UnitKind, User
from performance import achievement, charts, selectors, services
from performance.forms_dashboards import EvaluationForm
from performance.kpis import KPI_BY_CODE, KPIS, Kpi
from performance.models import TaskStatus
from performance.periods import Period, PeriodKind, add_months, parse_period

DASHBOARD_KINDS = (UnitKind.PUSAT, UnitKind.WILAYAH, UnitKind.AREA, UnitKind.CABANG)
DEFAULT_KPI = "closing_amount"
LEADERBOARD_SIZE = 10
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- Query parameters ---------------------------------------------------------------


def _period(request: HttpRequest) -> Period:
    return parse_period(request.GET.get("period")) or Period.of(timezone.localdate())


def _as_of(request: HttpRequest, period: Period) -> dt.date | None:
    """The ``as_of`` day when it falls in the period (else the period is read to date)."""
    raw = request.GET.get("as_of")
    if not raw:
        return None
    day = day_param(raw, period.end)
    return day if period.contains(day) else None


def _kpi(request: HttpRequest) -> Kpi:
    return KPI_BY_CODE.get(request.GET.get("kpi") or "", KPI_BY_CODE[DEFAULT_KPI])


def _period_choices(current: Period) -> list[dict[str, Any]]:
    """The selector's options: the last 13 months, the last 5 quarters, the last
    3 years, and the period on screen if it is older."""
    today = timezone.localdate()
    this_month = Period.of(today)
    months = [Period(add_months(this_month.start, -i), PeriodKind.MONTH) for i in range(13)]
    quarter = Period.of(today, PeriodKind.QUARTER)
    quarters = [quarter]
    for _i in range(4):
        quarters.append(quarters[-1].previous())
    years = [Period.of(today, PeriodKind.YEAR)]
    for _i in range(2):
        years.append(years[-1].previous())
    groups = [(_("Bulan"), months), (_("Triwulan"), quarters), (_("Tahun"), years)]
    known = {p for _label, ps in groups for p in ps}
    out = [{"label": label, "periods": [(p.code, p.label()) for p in ps]} for label, ps in groups]
    if current not in known:
        out.insert(0, {"label": _("Dipilih"), "periods": [(current.code, current.label())]})
    return out


def _query(request: HttpRequest, **changes: Any) -> str:
    q = request.GET.copy()
    for k, v in changes.items():
        if v is None:
            q.pop(k, None)
        else:
            q[k] = v
    return q.urlencode()


# --- Display helpers ------------------------------------------------------------------


def _cell(fig: achievement.Figure) -> dict[str, Any]:
    """One figure ready for a card or a table cell."""
    kpi = fig.kpi
    of_target = fig.of_target
    growth = fig.growth
    return {
        "kpi": kpi,
        "value": charts.fmt(kpi, fig.shown),
        "value_full": charts.fmt(kpi, fig.shown, short=False),
        "raw": fig.shown,
        "target": charts.fmt(kpi, fig.target) if fig.target is not None else "",
        "of_target": charts.pct(of_target) if of_target is not None else "",
        "bar": min(int(of_target), 100) if of_target is not None and of_target > 0 else 0,
        "level": _level(of_target),
        "last": charts.fmt(kpi, fig.last_shown),
        "growth": charts.signed(growth, points=kpi.is_ratio) if growth is not None else "",
        "growth_sign": 0 if growth is None else (1 if growth > 0 else (-1 if growth < 0 else 0)),
        "rank": fig.rank,
        "peers": fig.peers,
    }


def _table_cell(fig: achievement.Figure) -> dict[str, Any]:
    cell = _cell(fig)
    cell["html"] = _cell_html(cell)
    return cell


def _cell_html(x: dict[str, Any]) -> str:
    """A table cell of the child table (written here, not as an included template:
    a large table would render hundreds of includes)."""
    parts = [format_html('<strong title="{}">{}</strong>', x["value_full"], x["value"])]
    if x["target"]:
        parts.append(
            format_html(
                '<span class="dash-sub">/ {}</span><span class="dash-sub"><span class="dash-pct">{}</span></span>',
                x["target"],
                x["of_target"],
            )
        )
    if x["growth"]:
        sign = x["growth_sign"]
        parts.append(
            format_html(
                '<span class="dash-sub {}" title="{}: {}">{}{}</span>',
                "up" if sign > 0 else ("down" if sign < 0 else ""),
                _("vs tahun lalu"),
                x["last"],
                "▲" if sign > 0 else ("▼" if sign < 0 else ""),
                x["growth"],
            )
        )
    if x["rank"]:
        parts.append(format_html('<span class="dash-sub muted">#{}/{}</span>', x["rank"], x["peers"]))
    return format_html('<td class="num dash-cell level-{}">{}</td>', x["level"], mark_safe("".join(parts)))  # noqa: S308 - parts are escaped above


def _level(of_target: Decimal | None) -> str:
    if of_target is None:
        return "none"
    if of_target >= 100:
        return "high"
    if of_target >= 75:
        return "mid"
    return "low"


def _kpi_heads(codes: tuple[str, ...]) -> list[Kpi]:
    return [KPI_BY_CODE[c] for c in codes]


def _breadcrumbs(user: Any, unit: OrgUnit) -> list[OrgUnit]:
    """The unit's ancestors the user may see, top first (one query)."""
    codes = unit.path_codes
    prefixes = [PATH_SEPARATOR.join(codes[: i + 1]) + PATH_SEPARATOR for i in range(len(codes) - 1)]
    if not prefixes:
        return []
    found = access.visible_units(user).filter(path__in=prefixes, kind__in=DASHBOARD_KINDS)
    return sorted(found, key=lambda u: u.depth)


def _trend_block(
    unit: OrgUnit | None, kpi: Kpi, *, me: User | None = None, chart_id: str = "trend-chart"
) -> dict[str, Any]:
    series = achievement.trend(unit, [kpi.code], me=me)[kpi.code]
    months = [m for m, _v, _l in series]
    now = [v for _m, v, _l in series]
    then = [lv for _m, _v, lv in series]
    title = _("Tren 12 bulan: %(kpi)s") % {"kpi": kpi.label}
    chart = charts.line_chart(
        months,
        [
            charts.Series(_("12 bulan terakhir"), now, charts.ACHIEVED),
            charts.Series(_("Tahun lalu"), then, charts.LAST_YEAR, dashed=True),
        ],
        title=title,
        chart_id=chart_id,
        kpi=kpi,
    )
    rows = [{"month": m, "now": charts.fmt(kpi, v), "then": charts.fmt(kpi, lv)} for m, v, lv in series]
    return {"chart": chart, "rows": rows, "title": title}


def _funnel_block(unit: OrgUnit | None, *, me: User | None = None) -> dict[str, Any]:
    stages = selectors.funnel(unit, me=me)
    title = _("Corong pipeline: lembaga per tahap")
    chart = charts.bars(
        [charts.BarGroup("", [charts.Bar(str(s["label"]), s["count"], charts.number(s["count"])) for s in stages])],
        title=title,
        chart_id="funnel-chart",
        centred=True,
    )
    return {"chart": chart, "rows": stages, "title": title, "total": sum(s["count"] for s in stages)}


# --- Home ---------------------------------------------------------------------------


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Where "Kinerja" lands: the unit dashboard of the user's scope, or the ME's own scorecard."""
    user = request.user
    if user.has_perm("performance.view"):
        root = access.scope_root(user)
        while root is not None and root.kind not in DASHBOARD_KINDS:
            root = root.parent  # a UPC's branch; a head-office work unit's Pusat
        if root is not None and user.has_perm("performance.view_unit", root):
            return HttpResponseRedirect(reverse("performance:unit", args=[root.pk]))
    if access.visible_mes(user).filter(pk=user.pk).exists():
        return HttpResponseRedirect(reverse("performance:me", args=[user.pk]))
    raise PermissionDenied


# --- A unit's dashboard -------------------------------------------------------------


def _dashboard_unit(request: HttpRequest, unit_pk: int) -> OrgUnit:
    unit = access.get_unit_for_user(request.user, unit_pk, action="performance.view_unit")
    if unit.kind not in DASHBOARD_KINDS:
        raise Http404
    return unit


def _own_rank(user: Any, unit: OrgUnit, period: Period, as_of: dt.date | None) -> dict[str, tuple[int, int]]:
    """The unit's rank among its siblings per KPI: {code: (rank, peers)}."""
    parent = unit.parent
    if parent is None or parent.kind not in DASHBOARD_KINDS or unit.kind == UnitKind.PUSAT:
        return {}
    siblings = achievement.for_unit(parent, period, as_of, last_year=False)
    for line in siblings.children:
        if isinstance(line.key, OrgUnit) and line.key.pk == unit.pk:
            return {c: (f.rank, f.peers) for c, f in line.figures.items() if f.rank}
    return {}


@login_required
@require_GET
def unit_dashboard(request: HttpRequest, unit_pk: int) -> HttpResponse:
    user = request.user
    unit = _dashboard_unit(request, unit_pk)
    period = _period(request)
    as_of = _as_of(request, period)
    chosen = _kpi(request)
    ach = achievement.for_unit(unit, period, as_of)
    ranks = _own_rank(user, unit, period, as_of)
    heads = _kpi_heads(ach.codes)

    cards = []
    for kpi in heads:
        cell = _cell(ach.own[kpi.code])
        cell["rank"], cell["peers"] = ranks.get(kpi.code, (None, 0))
        cards.append(cell)

    # Children: a branch's are its MEs (each linking to their scorecard when the user may open it).
    is_branch = ach.child_kind == "ME"
    openable_mes: set[int] = set()
    if is_branch:
        me_ids = [line.key.pk for line in ach.children]
        openable_mes = set(access.visible_mes(user).filter(pk__in=me_ids).values_list("pk", flat=True))
    children: list[dict[str, Any]] = []
    for line in ach.children:
        key = line.key
        if is_branch:
            url = reverse("performance:me", args=[key.pk]) if key.pk in openable_mes else ""
        else:
            url = reverse("performance:unit", args=[key.pk])
        children.append(
            {
                "label": line.label,
                "code": getattr(key, "code", ""),
                "url": url + ("?" + _query(request, kpi=None) if url and request.GET else ""),
                "cells": [_table_cell(line[k.code]) for k in heads],
                "line": line,
            }
        )
    unattributed = None
    if ach.unattributed is not None:
        unattributed = {"cells": [_table_cell(ach.unattributed[k.code]) for k in heads]}

    # Target vs achievement by child, for the chosen KPI.
    chart_rows = [
        charts.TargetBar(
            label=c["label"],
            value=c["line"][chosen.code].shown,
            target=c["line"][chosen.code].target,
            value_text=charts.fmt(chosen, c["line"][chosen.code].shown),
            target_text=charts.fmt(chosen, c["line"][chosen.code].target),
            of_target=charts.pct(c["line"][chosen.code].of_target) if c["line"][chosen.code].of_target else "",
        )
        for c in children
    ]
    if ach.unattributed is not None:
        fig = ach.unattributed[chosen.code]
        chart_rows.append(charts.TargetBar(_("Tanpa ME"), fig.shown, None, charts.fmt(chosen, fig.shown), "", ""))
    child_title = _("Target vs realisasi per %(child)s: %(kpi)s") % {
        "child": _child_name(ach.child_kind),
        "kpi": chosen.label,
    }
    target_chart = charts.target_bars(
        chart_rows,
        title=child_title,
        chart_id="target-chart",
        achieved=_("Realisasi"),
        target=_("Target"),
        no_target=_("tanpa target"),
    )

    # Scheme × channel mix.
    mix_rows = achievement.mix(unit, period, as_of)
    mix = _mix_block(mix_rows)

    # Maintenance compliance: the unit's and each child's.
    compliance_kpi = KPI_BY_CODE["maintenance_compliance"]
    compliance_bars = [
        charts.Bar(
            c["label"], c["line"]["maintenance_compliance"].shown, charts.pct(c["line"]["maintenance_compliance"].shown)
        )
        for c in children
    ]
    compliance_title = _("Kepatuhan kunjungan maintenance per %(child)s") % {"child": _child_name(ach.child_kind)}
    compliance_chart = charts.bars(
        [charts.BarGroup("", compliance_bars)],
        title=compliance_title,
        chart_id="compliance-chart",
        maximum=Decimal(100),
    )
    compliance = {
        "own": _cell(ach.own["maintenance_compliance"]),
        "kpi": compliance_kpi,
        "chart": compliance_chart if compliance_bars else None,
        "title": compliance_title,
        "rows": [{"label": c["label"], "cell": _cell(c["line"]["maintenance_compliance"])} for c in children],
    }

    board = []
    if unit.kind != UnitKind.CABANG:
        for position, row in enumerate(selectors.leaderboard(unit, period, kpi=chosen.code, limit=LEADERBOARD_SIZE), 1):
            board.append(
                {
                    "position": position,
                    "unit": row["unit"],
                    "value": charts.fmt(chosen, row["value"]),
                    "url": reverse("performance:unit", args=[row["unit"].pk]),
                }
            )

    context = {
        "unit": unit,
        "period": period,
        "as_of": ach.as_of,
        "as_of_param": request.GET.get("as_of", "") if as_of else "",
        "period_choices": _period_choices(period),
        "prev_query": _query(request, period=period.previous().code),
        "next_query": _query(request, period=period.following().code),
        "has_next": period.following().start <= timezone.localdate(),
        "kpis": KPIS,
        "heads": heads,
        "chosen": chosen,
        "cards": cards,
        "own_cells": [_table_cell(ach.own[k.code]) for k in heads],
        "children": children,
        "child_kind": _child_name(ach.child_kind),
        "is_branch": is_branch,
        "unattributed": unattributed,
        "target_chart": target_chart,
        "target_title": child_title,
        "target_rows": chart_rows,
        "mix": mix,
        "funnel": _funnel_block(unit),
        "trend": _trend_block(unit, chosen),
        "compliance": compliance,
        "overdue": selectors.overdue(unit),
        "leaderboard": board,
        "crumbs": _breadcrumbs(user, unit),
        "export_query": urlencode({"period": period.code, **({"as_of": ach.as_of.isoformat()} if as_of else {})}),
        "kpi_query": _query(request, kpi=None),
        # Links to what the user may do from here (decided by the access policy).
        "can_place": unit.kind == UnitKind.AREA and user.has_perm("performance.view_placement", unit),
        "can_set_targets": _sets_children_targets(user, unit),
        "can_assign": unit.kind == UnitKind.CABANG and user.has_perm("performance.assign_task", unit),
    }
    return render(request, "performance/dashboard.html", context)


def _sets_children_targets(user: Any, unit: OrgUnit) -> bool:
    """Whether the user sets the targets of the unit's children (a branch's: its MEs)."""
    if unit.kind == UnitKind.CABANG:
        return bool(user.has_perm("performance.set_me_target", unit))
    child = OrgUnit.objects.filter(parent=unit, kind=achievement.CHILD_KIND.get(unit.kind)).first()  # type: ignore[call-overload]
    return child is not None and bool(user.has_perm("performance.set_unit_target", child))


def _child_name(kind: str) -> str:
    return {
        UnitKind.WILAYAH: _("wilayah"),
        UnitKind.AREA: _("area"),
        UnitKind.CABANG: _("cabang"),
        "ME": _("ME"),
    }.get(kind, _("unit"))


def _mix_block(rows: list[dict[str, Any]]) -> dict[str, Any]:
    from sales.models import Channel, Scheme

    schemes = dict(Scheme.choices)
    channels = dict(Channel.choices)
    amount_kpi = KPI_BY_CODE["closing_amount"]
    table = []
    groups: dict[str, list[charts.Bar]] = {}
    for r in rows:
        scheme = str(schemes.get(r["scheme"], r["scheme"] or _("Tanpa skema")))
        channel = str(channels.get(r["channel"], r["channel"] or _("Tanpa kanal")))
        table.append(
            {
                "scheme": scheme,
                "channel": channel,
                "amount": charts.fmt(amount_kpi, r["closing_amount"], short=False),
                "amount_short": charts.fmt(amount_kpi, r["closing_amount"]),
                "count": charts.number(r["closing_count"]),
                "new": charts.number(r["new_customers"]),
            }
        )
        groups.setdefault(scheme, []).append(
            charts.Bar(channel, r["closing_amount"], charts.fmt(amount_kpi, r["closing_amount"]))
        )
    title = _("Nilai closing per skema dan kanal")
    chart = (
        charts.bars([charts.BarGroup(k, v) for k, v in groups.items()], title=title, chart_id="mix-chart")
        if groups
        else None
    )
    total = sum((r["closing_amount"] for r in rows), Decimal(0))
    return {
        "chart": chart,
        "rows": table,
        "title": title,
        "total": charts.fmt(amount_kpi, total, short=False),
        "count": charts.number(sum((r["closing_count"] for r in rows), Decimal(0))),
        "new": charts.number(sum((r["new_customers"] for r in rows), Decimal(0))),
    }


@login_required
@require_GET
def unit_dashboard_xlsx(request: HttpRequest, unit_pk: int) -> HttpResponse:
    """The child table (unit or ME × KPI) and the scheme × channel mix as a spreadsheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    unit = _dashboard_unit(request, unit_pk)
    period = _period(request)
    as_of = _as_of(request, period)
    ach = achievement.for_unit(unit, period, as_of)
    wb = Workbook()
    ws: Any = wb.active
    ws.title = _("Capaian")[:31]
    is_branch = ach.child_kind == "ME"
    ws.append([f"{unit.name} ({unit.code})", period.label(), _("per %(day)s") % {"day": ach.as_of.isoformat()}])
    for cell in ws[1]:
        cell.data_type = "s"
    ws.append([])
    head = [
        _("ME") if is_branch else _("Kode"),
        _("Nama"),
        _("KPI"),
        _("Realisasi"),
        _("Target"),
        _("% target"),
        _("Tahun lalu"),
        _("Pertumbuhan"),
        _("Peringkat"),
        _("Dari"),
    ]
    ws.append(head)
    for cell in ws[3]:
        cell.font = Font(bold=True)

    def as_text(sheet: Any) -> None:
        # The row just written: names stay text, never a formula, whatever they start with.
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"

    def put(code: str, name: str, line: achievement.Line) -> None:
        for kpi in _kpi_heads(ach.codes):
            f = line[kpi.code]
            ws.append(
                [
                    code,
                    name,
                    str(kpi.label),
                    _xl(f.shown),
                    _xl(f.target),
                    _xl(f.of_target),
                    _xl(f.last_shown),
                    _xl(f.growth),
                    f.rank,
                    f.peers or None,
                ]
            )
            as_text(ws)

    put(unit.code, unit.name, ach.own)
    for line in ach.children:
        key = line.key
        put(str(getattr(key, "code", None) or getattr(key, "username", "")), line.label, line)
    if ach.unattributed is not None:
        put("", _("Tanpa ME"), ach.unattributed)
    for col, width in zip("ABCDEFGHIJ", (12, 30, 30, 18, 18, 10, 18, 12, 10, 8), strict=True):
        ws.column_dimensions[col].width = width

    mix_ws: Any = wb.create_sheet(_("Skema x kanal")[:31])
    mix_ws.append([_("Skema"), _("Kanal"), _("Nilai closing (Rp)"), _("Jumlah closing"), _("Nasabah baru")])
    for cell in mix_ws[1]:
        cell.font = Font(bold=True)
    for r in achievement.mix(unit, period, as_of):
        mix_ws.append(
            [r["scheme"], r["channel"], _xl(r["closing_amount"]), _xl(r["closing_count"]), _xl(r["new_customers"])]
        )
    for col, width in zip("ABCDE", (10, 22, 20, 16, 14), strict=True):
        mix_ws.column_dimensions[col].width = width

    out = io.BytesIO()
    wb.save(out)
    response = HttpResponse(out.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="kinerja-{unit.code}-{period.code}.xlsx"'
    return response


def _xl(value: Decimal | None) -> int | float | None:
    """A spreadsheet number: whole numbers stay whole."""
    if value is None:
        return None
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


# --- The ME's scorecard ----------------------------------------------------------------


def _activity_counts(user: Any, me: User, period: Period) -> list[dict[str, Any]]:
    """The ME's activities in the period by kind: planned, done, cancelled (one GROUP BY)."""
    from activities.models import ActivityKind, ActivityStatus

    qs = (
        access.visible_activities(user)
        .filter(me=me, day__gte=period.start, day__lt=period.end)
        .values("kind")
        .annotate(
            done=Count("id", filter=Q(status=ActivityStatus.DONE)),
            planned=Count("id", filter=Q(status=ActivityStatus.PLANNED)),
            cancelled=Count("id", filter=Q(status=ActivityStatus.CANCELLED)),
        )
        .order_by()
    )
    by_kind = {r["kind"]: r for r in qs}
    out = []
    for value, label in ActivityKind.choices:
        r = by_kind.get(value)
        if r:
            out.append({"label": label, "done": r["done"], "planned": r["planned"], "cancelled": r["cancelled"]})
    return out


def _scorecard(
    request: HttpRequest, me: User, *, form: EvaluationForm | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
    period = (parse_period(form.data.get("period")) if form is not None and form.is_bound else None) or _period(request)
    as_of = _as_of(request, period)
    chosen = _kpi(request)
    line = achievement.for_me(me, period, as_of)
    heads = _kpi_heads(tuple(line.figures))
    cards = [_cell(line[k.code]) for k in heads]
    today = timezone.localdate()

    tasks = list(selectors.tasks_for(user, me=me))
    in_period = [t for t in tasks if period.start <= t.due_on < period.end]
    counted = [t for t in in_period if t.status != TaskStatus.CANCELLED]
    done = [t for t in counted if t.status == TaskStatus.DONE]
    overdue_tasks = [t for t in tasks if t.is_overdue(today)]
    open_tasks = [t for t in tasks if t.is_open and not t.is_overdue(today)]

    branch = access.current_branch_of(me)
    can_evaluate = branch is not None and user.has_perm("performance.evaluate_me", branch)
    evaluations = list(selectors.evaluations_for(user, me=me))
    if can_evaluate and form is None:
        form = EvaluationForm()
        current = next((e for e in evaluations if e.period == period), None)
        form.initial_from(period, current)
    overdue = selectors.overdue(None, me=me, today=today)
    context = {
        "me": me,
        "branch": branch,
        "branch_url": reverse("performance:unit", args=[branch.pk])
        if branch is not None and user.has_perm("performance.view_unit", branch)
        else "",
        "period": period,
        "as_of": achievement.effective_as_of(period, as_of),
        "as_of_param": request.GET.get("as_of", "") if as_of else "",
        "period_choices": _period_choices(period),
        "prev_query": _query(request, period=period.previous().code),
        "next_query": _query(request, period=period.following().code),
        "has_next": period.following().start <= today,
        "kpis": KPIS,
        "chosen": chosen,
        "cards": cards,
        "trend": _trend_block(None, chosen, me=me),
        "funnel": _funnel_block(None, me=me),
        "tasks_total": len(counted),
        "tasks_done": len(done),
        "completion": charts.pct(Decimal(len(done) * 100) / len(counted)) if counted else "",
        "completion_bar": int(len(done) * 100 / len(counted)) if counted else 0,
        "overdue_tasks": overdue_tasks,
        "open_tasks": open_tasks[:10],
        "overdue": overdue,
        "activities": _activity_counts(user, me, period),
        "evaluations": evaluations,
        "can_evaluate": can_evaluate,
        "form": form if can_evaluate else None,
        "kpi_query": _query(request, kpi=None),
        "is_self": me.pk == user.pk,
    }
    return render(request, "performance/me_scorecard.html", context, status=status)


@login_required
@require_GET
def me_scorecard(request: HttpRequest, user_pk: int) -> HttpResponse:
    me = access.get_me_for_user(request.user, user_pk)
    return _scorecard(request, me)


@login_required
@require_POST
def me_evaluate(request: HttpRequest, user_pk: int) -> HttpResponse:
    """Save the branch head's evaluation of the ME for a period (``services.evaluation_save``)."""
    me = access.get_me_for_user(request.user, user_pk)
    branch = access.current_branch_of(me)
    if branch is None or not request.user.has_perm("performance.evaluate_me", branch):
        raise PermissionDenied
    form = EvaluationForm(request.POST)
    if form.is_valid():
        period: Period = form.cleaned_data["period"]
        try:
            services.evaluation_save(
                actor=request.user,
                me=me,
                period=period,
                rating=form.cleaned_data["rating"],
                notes=form.cleaned_data["notes"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            messages.success(
                request,
                _("Evaluasi %(me)s untuk %(period)s tersimpan.")
                % {"me": me.get_full_name() or me.username, "period": period.label()},
            )
            url = reverse("performance:me", args=[me.pk]) + "?" + urlencode({"period": period.code})
            return HttpResponseRedirect(url + "#evaluasi")
    return _scorecard(request, me, form=form, status=400)
