"""Monthly KPI facts: recomputed from the source tables for the (branch, month)
pairs that writes marked dirty, so that a dashboard reads a few thousand fact
rows instead of millions of source rows, and still shows exact figures.

* Writes mark: saving or deleting an activity, lead or maintenance visit (the
  month of its date, before and after the change), a stage change, an
  institution changing hands, a closings batch (``sales.ingest``), bulk updates
  of visits, and a unit moving in the tree (``org.services``).
* Reads settle first (``settle``): every dirty pair is recomputed, in one pass
  per source family, before the facts are read.
* The daily task (``refresh_recent``) recomputes the current and the previous
  month for every branch: a planned maintenance visit becomes overdue by the
  calendar alone, without a write.
* ``differences`` recounts and compares (``manage.py performance_facts --check``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_init, post_save
from django.utils import timezone

from performance.kpis import KPIS, compute, instant, jakarta
from performance.periods import add_months, month_start

ALL_CODES = [k.code for k in KPIS]


# --- Marking -------------------------------------------------------------------------


def _as_day(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return timezone.localtime(value, jakarta()).date() if timezone.is_aware(value) else value.date()
    return value  # type: ignore[no-any-return]


def mark(pairs: Iterable[tuple[int | None, Any]]) -> None:
    """Mark (branch id, any date in the month) pairs dirty; duplicates are ignored."""
    from performance.models import KpiDirty

    wanted = {(b, month_start(d)) for b, d in ((b, _as_day(v)) for b, v in pairs) if b and d}
    if not wanted:
        return
    ordered = sorted(wanted)
    if connection.vendor == "postgresql":
        # One statement whatever the number of pairs (a closings batch marks thousands).
        table = connection.ops.quote_name(KpiDirty._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (branch_id, month, marked_at) "  # noqa: S608 - our own table name
                "SELECT b, m, now() FROM unnest(%s::bigint[], %s::date[]) AS t(b, m) "
                "ON CONFLICT (branch_id, month) DO NOTHING",
                [[b for b, _m in ordered], [m for _b, m in ordered]],
            )
        return
    KpiDirty.objects.bulk_create([KpiDirty(branch_id=b, month=m) for b, m in ordered], ignore_conflicts=True)


def mark_span(branch_ids: Iterable[int], first: Any, last: Any) -> None:
    """Every month from ``first`` to ``last`` (dates) of the given branches."""
    first_m, last_m = month_start(_as_day(first)), month_start(_as_day(last))  # type: ignore[arg-type]
    months = []
    m = first_m
    while m <= last_m:
        months.append(m)
        m = add_months(m, 1)
    mark((b, m) for b in set(branch_ids) for m in months)


def mark_branches(branch_ids: Iterable[int]) -> None:
    """Every month a branch has facts for, and this month (a unit moved, an
    institution changed hands: the ids beside its facts changed)."""
    from performance.models import KpiFact, MeFact

    ids = sorted(set(branch_ids))
    if not ids:
        return
    # Every month any of them has facts for, for each of them: what moves between
    # them (an institution's stage changes, its leads) lands in months the other
    # branch may have had no facts for yet.
    months = set(KpiFact.objects.filter(branch_id__in=ids).values_list("month", flat=True).distinct())
    months |= set(MeFact.objects.filter(branch_id__in=ids).values_list("month", flat=True).distinct())
    months.add(month_start(timezone.localdate()))
    mark((b, m) for b in ids for m in months)


# Which date of a row puts it in a month, per source model.
_DATE_FIELD = {"Activity": "day", "Lead": "created_at", "MaintenanceVisit": "due_on"}


def _remember(sender: Any, instance: Any, **kwargs: Any) -> None:
    field = _DATE_FIELD[sender.__name__]
    instance._perf_was = (instance.__dict__.get("branch_id"), instance.__dict__.get(field))


def _changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    field = _DATE_FIELD[sender.__name__]
    pairs = [(instance.branch_id, getattr(instance, field))]
    was = getattr(instance, "_perf_was", None)
    if was and was[0] is not None:
        pairs.append(was)
    mark(pairs)
    instance._perf_was = (instance.branch_id, getattr(instance, field))


def _stage_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    from institutions.models import Institution

    branch_id = Institution.objects.filter(pk=instance.institution_id).values_list("branch_id", flat=True).first()
    mark([(branch_id, instance.at)])


def _institution_reassigned(sender: Any, institution: Any, **kwargs: Any) -> None:
    """Its stage changes now count at the new owner (and for its new ME): both
    branches' months are recomputed."""
    from institutions.models import Ownership

    branches = set(Ownership.objects.filter(institution=institution).values_list("branch_id", flat=True))
    branches.add(institution.branch_id)
    mark_branches(branches)


def _records_changed(sender: Any, pairs: Any = (), branches: Any = (), **kwargs: Any) -> None:
    mark(pairs)
    mark_branches(branches)


def connect_signals() -> None:
    from activities.models import Activity, Lead, MaintenanceVisit
    from core.figures import records_changed
    from institutions.models import StageChange
    from institutions.signals import institution_reassigned

    for model in (Activity, Lead, MaintenanceVisit):
        uid = f"performance.{model.__name__}"
        post_init.connect(_remember, sender=model, dispatch_uid=uid + ".init")
        post_save.connect(_changed, sender=model, dispatch_uid=uid + ".save")
        post_delete.connect(_changed, sender=model, dispatch_uid=uid + ".delete")
    post_save.connect(_stage_changed, sender=StageChange, dispatch_uid="performance.StageChange.save")
    institution_reassigned.connect(_institution_reassigned, dispatch_uid="performance.reassigned")
    records_changed.connect(_records_changed, dispatch_uid="performance.records_changed")


# --- Recomputing -----------------------------------------------------------------------


def _recompute(pairs: set[tuple[int, dt.date]], today: dt.date) -> int:
    """Recompute the facts of the given (branch, month) pairs: one pass per
    source family by day and branch (monthly and daily branch facts both come
    from it), one by month and ME; then the day facts of their regions, summed
    from the branches' day facts."""
    from org.models import OrgUnit
    from performance.models import BranchDayFact, KpiFact, MeFact

    if not pairs:
        return 0
    by_month: dict[dt.date, set[int]] = {}
    for b, m in pairs:
        by_month.setdefault(m, set()).add(b)
    # Group months that share the same branch set (the usual case: one branch, a few months).
    groups: dict[frozenset[int], list[dt.date]] = {}
    for m, bs in by_month.items():
        groups.setdefault(frozenset(bs), []).append(m)
    written = 0
    for branches, months in groups.items():
        ids = sorted(branches)
        first, last = min(months), add_months(max(months), 1)
        wanted = set(months)
        where = {} if len(ids) > 500 else {"branch__in": ids}
        monthly: dict[tuple[Any, ...], KpiFact] = {}
        daily: dict[tuple[Any, ...], BranchDayFact] = {}
        for r in compute(
            ALL_CODES, start=first, end=last, as_of=today, by=("day", "branch", "area", "region"), where=where
        ):
            day, branch, area, region = r.key
            month = month_start(day)
            if month not in wanted or branch not in branches:
                continue
            mk = (month, branch, r.kpi, r.scheme, r.channel)
            if mk in monthly:
                monthly[mk].value += r.value
                monthly[mk].base += r.base
            else:
                monthly[mk] = KpiFact(
                    month=month,
                    branch_id=branch,
                    area_id=area,
                    region_id=region,
                    kpi=r.kpi,
                    scheme=r.scheme,
                    channel=r.channel,
                    value=r.value,
                    base=r.base,
                )
            dk = (day, branch, r.kpi)  # schemes and channels together
            if dk in daily:
                daily[dk].value += r.value
                daily[dk].base += r.base
            else:
                daily[dk] = BranchDayFact(
                    day=day, branch_id=branch, area_id=area, region_id=region, kpi=r.kpi, value=r.value, base=r.base
                )
        merged: dict[tuple[Any, ...], MeFact] = {}
        for r in compute(ALL_CODES, start=first, end=last, as_of=today, by=("month", "branch", "me"), where=where):
            if r.key[0] not in wanted or r.key[1] not in branches or r.key[2] is None:
                continue
            k = (r.key[0], r.key[1], r.key[2], r.kpi)
            if k in merged:
                merged[k].value += r.value
                merged[k].base += r.base
            else:
                merged[k] = MeFact(
                    month=r.key[0], branch_id=r.key[1], me_id=r.key[2], kpi=r.kpi, value=r.value, base=r.base
                )
        # The regions whose day facts change: where the branches are now, and where
        # their facts said they were (a branch that moved to another region).
        regions = set(
            KpiFact.objects.filter(branch_id__in=ids, month__in=months).values_list("region_id", flat=True).distinct()
        )
        regions |= {f.region_id for f in monthly.values()}
        regions |= {
            r for r in OrgUnit.objects.filter(pk__in=ids).values_list("parent__parent_id", flat=True) if r is not None
        }
        KpiFact.objects.filter(branch_id__in=ids, month__in=months).delete()
        MeFact.objects.filter(branch_id__in=ids, month__in=months).delete()
        BranchDayFact.objects.filter(branch_id__in=ids).filter(_month_q(wanted)).delete()
        KpiFact.objects.bulk_create(monthly.values(), batch_size=5000)
        MeFact.objects.bulk_create(merged.values(), batch_size=5000)
        BranchDayFact.objects.bulk_create(daily.values(), batch_size=5000)
        written += len(monthly) + len(merged) + len(daily)
        written += _recompute_regions(sorted(regions), months)
    return written


def _recompute_regions(regions: list[int], months: list[dt.date]) -> int:
    """Recompute the day facts of the given regions in the given months from
    their branches' day facts (one GROUP BY)."""
    from django.db.models import Sum

    from performance.models import BranchDayFact, RegionDayFact, RegionMonthFact

    if not regions or not months:
        return 0
    span = _month_q(set(months))
    rows = [
        RegionDayFact(day=r["day"], region_id=r["region_id"], kpi=r["kpi"], value=r["v"], base=r["b"])
        for r in BranchDayFact.objects.filter(region_id__in=regions)
        .filter(span)
        .values("day", "region_id", "kpi")
        .annotate(v=Sum("value"), b=Sum("base"))
        .order_by()
    ]
    RegionDayFact.objects.filter(region_id__in=regions).filter(span).delete()
    RegionDayFact.objects.bulk_create(rows, batch_size=5000)
    totals: dict[tuple[Any, ...], RegionMonthFact] = {}
    for row in rows:
        key = (month_start(row.day), row.region_id, row.kpi)
        if key in totals:
            totals[key].value += row.value
            totals[key].base += row.base
        else:
            totals[key] = RegionMonthFact(
                month=key[0], region_id=row.region_id, kpi=row.kpi, value=row.value, base=row.base
            )
    RegionMonthFact.objects.filter(region_id__in=regions, month__in=months).delete()
    RegionMonthFact.objects.bulk_create(totals.values(), batch_size=5000)
    return len(rows) + len(totals)


def _months_between(first: dt.date, end: dt.date) -> int:
    return (end.year - first.year) * 12 + end.month - first.month


def _month_q(months: set[dt.date]) -> Any:
    """``day`` within any of the months (contiguous months as one range)."""
    from django.db.models import Q

    q = Q()
    ordered = sorted(months)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == add_months(ordered[j], 1):
            j += 1
        q |= Q(day__gte=ordered[i], day__lt=add_months(ordered[j], 1))
        i = j + 1
    return q


def settle(today: dt.date | None = None) -> int:
    """Recompute every dirty (branch, month) pair; return how many pairs. Pairs
    another request is recomputing right now (PostgreSQL) are skipped."""
    from performance.models import KpiDirty

    if not KpiDirty.objects.exists():
        return 0
    today = today or timezone.localdate()
    with transaction.atomic():
        qs = KpiDirty.objects.order_by("branch_id", "month")
        if connection.vendor == "postgresql":
            qs = qs.select_for_update(skip_locked=True)
        dirty = list(qs.values_list("id", "branch_id", "month"))
        if not dirty:
            return 0
        _recompute({(b, m) for _i, b, m in dirty}, today)
        KpiDirty.objects.filter(id__in=[i for i, _b, _m in dirty]).delete()
    return len(dirty)


def rebuild(*, first: dt.date | None = None, today: dt.date | None = None) -> int:
    """Recompute every branch's facts from ``first`` (default: the earliest source
    row) to this month. Used after a bulk load and by the daily task."""
    from org.models import OrgUnit, UnitKind
    from performance.models import KpiDirty

    today = today or timezone.localdate()
    if first is None:
        first = _earliest() or today
    branches = list(OrgUnit.objects.filter(kind=UnitKind.CABANG).values_list("id", flat=True))
    months = []
    m = month_start(first)
    while m <= month_start(today):
        months.append(m)
        m = add_months(m, 1)
    with transaction.atomic():
        written = 0
        # One pass per quarter keeps each statement's result set (day × branch rows) small.
        for i in range(0, len(months), 3):
            written += _recompute({(b, mm) for b in branches for mm in months[i : i + 3]}, today)
        KpiDirty.objects.filter(month__gte=month_start(first)).delete()
    return written


# The longest grace a maintenance plan allows: a visit due that long ago can turn
# overdue today, by the calendar alone.
MAX_GRACE_DAYS = 60


def refresh_recent(today: dt.date | None = None) -> int:
    """Recompute every month in which a planned visit may have turned overdue
    since yesterday (the longest grace back), up to this month."""
    today = today or timezone.localdate()
    return rebuild(first=month_start(today - dt.timedelta(days=MAX_GRACE_DAYS + 1)), today=today)


def _earliest() -> dt.date | None:
    from activities.models import Activity, Lead, MaintenanceVisit
    from institutions.models import StageChange
    from sales.models import ClosingSummary

    days = [
        Activity.objects.order_by("day").values_list("day", flat=True).first(),
        MaintenanceVisit.objects.order_by("due_on").values_list("due_on", flat=True).first(),
        ClosingSummary.objects.order_by("day").values_list("day", flat=True).first(),
        _as_day(Lead.objects.order_by("created_at").values_list("created_at", flat=True).first()),
        _as_day(StageChange.objects.order_by("at").values_list("at", flat=True).first()),
    ]
    present = [d for d in days if d is not None]
    return min(present) if present else None


def differences(limit: int = 20, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Where the kept facts and a recount disagree (after settling); empty when they agree."""
    from performance.models import KpiFact

    today = today or timezone.localdate()
    settle(today)
    first = _earliest()
    if first is None:
        return []
    recount: dict[tuple[Any, ...], tuple[Decimal, int]] = {}
    for r in compute(
        ALL_CODES, start=month_start(first), end=add_months(month_start(today), 1), as_of=today, by=("month", "branch")
    ):
        recount[(r.key[0], r.key[1], r.kpi, r.scheme, r.channel)] = (r.value, r.base)
    kept: dict[tuple[Any, ...], tuple[Decimal, int]] = {
        (f.month, f.branch_id, f.kpi, f.scheme, f.channel): (f.value, f.base)
        for f in KpiFact.objects.only("month", "branch_id", "kpi", "scheme", "channel", "value", "base")
    }
    from performance.models import RegionDayFact

    for r in compute(
        ALL_CODES, start=month_start(first), end=add_months(month_start(today), 1), as_of=today, by=("day", "region")
    ):
        key = ("day", r.key[0], r.key[1], r.kpi)
        value, base = recount.get(key, (Decimal(0), 0))
        recount[key] = (value + r.value, base + r.base)
    for f in RegionDayFact.objects.only("day", "region_id", "kpi", "value", "base"):
        kept[("day", f.day, f.region_id, f.kpi)] = (f.value, f.base)
    from performance.models import BranchDayFact, RegionMonthFact

    for rkey, (value, base) in list(recount.items()):
        if rkey[0] == "day":
            _tag, day, region, kpi = rkey
            key = ("region-month", month_start(day), region, kpi)
            v, b = recount.get(key, (Decimal(0), 0))
            recount[key] = (v + value, b + base)
    for mf in RegionMonthFact.objects.only("month", "region_id", "kpi", "value", "base"):
        kept[("region-month", mf.month, mf.region_id, mf.kpi)] = (mf.value, mf.base)
    for r in compute(
        ALL_CODES, start=month_start(first), end=add_months(month_start(today), 1), as_of=today, by=("day", "branch")
    ):
        key = ("branch-day", r.key[0], r.key[1], r.kpi)
        value, base = recount.get(key, (Decimal(0), 0))
        recount[key] = (value + r.value, base + r.base)
    for bf in BranchDayFact.objects.only("day", "branch_id", "kpi", "value", "base"):
        kept[("branch-day", bf.day, bf.branch_id, bf.kpi)] = (bf.value, bf.base)
    out = []
    for key in sorted(set(recount) | set(kept), key=str):
        if recount.get(key) != kept.get(key):
            out.append({"key": key, "recount": recount.get(key), "kept": kept.get(key)})
            if len(out) >= limit:
                break
    return out


__all__ = ["differences", "instant", "mark", "mark_branches", "mark_span", "rebuild", "refresh_recent", "settle"]
