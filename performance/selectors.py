"""Every performance read a user sees, scoped by the access policy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from org import access
from org.models import OrgUnit, Placement, UnitKind, User
from performance.models import OPEN_TASK_STATUSES, MeEvaluation, Target, Task
from performance.periods import Period


def branch_mes(branch: OrgUnit, period: Period) -> list[User]:
    """The MEs placed at the branch at any time in the period (a moved ME still
    shows for the months they worked here)."""
    placed = Placement.objects.filter(branch=branch, valid_from__lt=period.end).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=period.start)
    )
    return list(User.objects.filter(pk__in=placed.values("user_id")).order_by("first_name", "last_name", "id"))


def current_mes(branch: OrgUnit) -> list[User]:
    placed = Placement.objects.filter(branch=branch, valid_to__isnull=True)
    return list(User.objects.filter(pk__in=placed.values("user_id")).order_by("first_name", "last_name", "id"))


def tasks_for(
    user: Any, *, me: User | None = None, branch: OrgUnit | None = None, open_only: bool = False
) -> QuerySet[Task]:
    qs = access.visible_tasks(user).select_related("me", "institution", "branch", "assigned_by")
    if me is not None:
        qs = qs.filter(me=me)
    if branch is not None:
        qs = qs.filter(branch=branch)
    if open_only:
        qs = qs.filter(status__in=list(OPEN_TASK_STATUSES))
    return qs.order_by("due_on", "id")


def overdue_tasks(
    user: Any, *, me: User | None = None, branch: OrgUnit | None = None, today: dt.date | None = None
) -> QuerySet[Task]:
    today = today or timezone.localdate()
    return tasks_for(user, me=me, branch=branch, open_only=True).filter(due_on__lt=today)


def evaluations_for(user: Any, *, me: User | None = None) -> QuerySet[MeEvaluation]:
    qs = access.visible_evaluations(user).select_related("me", "branch", "evaluated_by")
    if me is not None:
        qs = qs.filter(me=me)
    return qs.order_by("-period_start", "me_id")


def _unit_filter(
    unit: OrgUnit | None, *, branch: str = "branch", area: str = "area", region: str = "region"
) -> dict[str, Any]:
    if unit is None or unit.kind == UnitKind.PUSAT:
        return {}
    column = {UnitKind.WILAYAH: region, UnitKind.AREA: area, UnitKind.CABANG: branch}[unit.kind]  # type: ignore[index]
    return {f"{column}_id": unit.pk}


def funnel(unit: OrgUnit | None, *, me: User | None = None) -> list[dict[str, Any]]:
    """Live institutions per pipeline stage, in pipeline order."""
    from institutions.models import Institution, InstitutionStatus, Stage

    qs = Institution.objects.exclude(status=InstitutionStatus.DIGABUNG).filter(**_unit_filter(unit))
    if me is not None:
        qs = qs.filter(me=me)
    # COUNT(stage), not COUNT(id): the partial index on stage answers it alone (index-only scan).
    counts = {r["stage"]: r["n"] for r in qs.values("stage").annotate(n=Count("stage")).order_by()}
    return [{"stage": s, "label": s.label, "count": counts.get(s.value, 0)} for s in Stage]


@dataclass
class Overdue:
    visits: int
    leads: int
    tasks: int


def overdue(unit: OrgUnit | None, *, me: User | None = None, today: dt.date | None = None) -> Overdue:
    """Counts of what is late: maintenance visits past their grace, open leads past
    their follow-up date, open tasks past their due date."""
    from activities.models import OPEN_LEAD_STATUSES, Lead, MaintenanceVisit, VisitStatus

    today = today or timezone.localdate()
    where = _unit_filter(unit)
    visits = MaintenanceVisit.objects.filter(status=VisitStatus.PLANNED, overdue_on__lte=today, **where)
    leads = Lead.objects.filter(status__in=list(OPEN_LEAD_STATUSES), due_on__lt=today, **where)
    tasks = Task.objects.filter(status__in=list(OPEN_TASK_STATUSES), due_on__lt=today, **where)
    if me is not None:
        visits, leads, tasks = visits.filter(me=me), leads.filter(me=me), tasks.filter(me=me)
    return Overdue(visits=visits.count(), leads=leads.count(), tasks=tasks.count())


def leaderboard(
    unit: OrgUnit | None, period: Period, *, kpi: str = "closing_amount", limit: int = 10
) -> list[dict[str, Any]]:
    """The branches under the unit with the highest value of ``kpi`` in the period
    (to the last whole fact month: the board is a ranking, not an exact as-of figure)."""
    from django.db.models import Sum

    from performance import facts
    from performance.models import KpiFact

    facts.settle()
    qs = KpiFact.objects.filter(month__gte=period.start, month__lt=period.end, kpi=kpi, **_unit_filter(unit))
    rows = list(qs.values("branch_id").annotate(v=Sum("value")).order_by("-v", "branch_id")[:limit])
    names = {u.pk: u for u in OrgUnit.objects.filter(pk__in=[r["branch_id"] for r in rows])}
    return [{"unit": names[r["branch_id"]], "value": r["v"]} for r in rows if r["branch_id"] in names]


def targets_in(
    user: Any, period: Period, kpi: str, units: Sequence[OrgUnit] = (), mes: Sequence[User] = ()
) -> dict[tuple[str, int], Target]:
    """The targets of the given units (or MEs) the user may read."""
    qs = Target.objects.filter(period_kind=period.kind, period_start=period.start, kpi=kpi)
    path = access.scope_path(user)
    if path is None:
        return {}
    qs = qs.filter(unit__path__startswith=path)
    out: dict[tuple[str, int], Target] = {}
    if units:
        for t in qs.filter(unit__in=list(units), me__isnull=True):
            out[("unit", t.unit_id)] = t
    if mes:
        for t in qs.filter(me__in=list(mes)):
            out[("me", t.me_id)] = t  # type: ignore[index]
    return out
