"""Reads of the ME's work that users see, always scoped by the access policy.

Each list is built to cost a fixed number of queries whatever its length
(``select_related``/``prefetch_related`` here, asserted in the tests), and the
calendar and "today" read the (me|branch, day) indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from activities.models import (
    EVENT_KINDS,
    OPEN_LEAD_STATUSES,
    Activity,
    ActivityStatus,
    Lead,
    LeadStatus,
    MaintenancePlan,
    MaintenanceVisit,
    Participant,
    PlanStatus,
    VisitStatus,
)
from institutions.models import Institution, Stage
from institutions.pipeline import PATH, SIDE
from org.access import (
    active_role,
    visible_activities,
    visible_institutions,
    visible_leads,
    visible_plans,
    visible_visits,
)
from org.models import OrgUnit, Role, RoleAssignment, User

ACTIVITY_JOINS = ("me", "institution", "branch")
CALENDAR_FIELDS = (
    "id",
    "kind",
    "status",
    "starts_at",
    "day",
    "title",
    "me_id",
    "institution_id",
    "me__first_name",
    "me__last_name",
    "me__username",
    "institution__name",
)


def _with_participants(qs: QuerySet[Activity]) -> QuerySet[Activity]:
    return qs.prefetch_related(
        Prefetch("participant_rows", queryset=Participant.objects.select_related("user").order_by("role", "user_id"))
    )


def activities_between(
    user: Any,
    start: date,
    end: date,
    *,
    me: int | None = None,
    branch: int | None = None,
    kinds: tuple[str, ...] | None = None,
) -> QuerySet[Activity]:
    """Activities on Jakarta days ``start <= day < end`` in the user's scope."""
    qs = visible_activities(user).filter(day__gte=start, day__lt=end)
    if me:
        qs = qs.filter(me_id=me)
    if branch:
        qs = qs.filter(branch_id=branch)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs.select_related(*ACTIVITY_JOINS).order_by("starts_at", "id")


def me_agenda(user: Any, me: Any, day: date) -> list[Activity]:
    """The ME's activities of the day, and those they join (an audience the Pinca leads)."""
    qs = visible_activities(user).filter(day=day).filter(Q(me=me) | Q(participant_rows__user=me)).distinct()
    return list(_with_participants(qs.select_related(*ACTIVITY_JOINS)).order_by("starts_at", "id"))


def overdue_visits(
    user: Any, today: date, *, me: int | None = None, branch: int | None = None
) -> QuerySet[MaintenanceVisit]:
    qs = visible_visits(user).filter(status=VisitStatus.PLANNED, overdue_on__lte=today)
    if me:
        qs = qs.filter(me_id=me)
    if branch:
        qs = qs.filter(branch_id=branch)
    # The branch too: the access policy asks each visit for its unit (may this reader record it?).
    return qs.select_related("institution", "me", "branch").order_by("due_on", "id")


def visits_due(
    user: Any, start: date, end: date, *, me: int | None = None, branch: int | None = None
) -> QuerySet[MaintenanceVisit]:
    """Planned visits due in ``start <= due_on < end`` (not yet overdue or done)."""
    qs = visible_visits(user).filter(status=VisitStatus.PLANNED, due_on__gte=start, due_on__lt=end)
    if me:
        qs = qs.filter(me_id=me)
    if branch:
        qs = qs.filter(branch_id=branch)
    return qs.select_related("institution", "me").order_by("due_on", "id")


def visits_in_grace(
    user: Any, day: date, *, me: int | None = None, branch: int | None = None
) -> QuerySet[MaintenanceVisit]:
    """Planned visits due by ``day`` and not yet overdue (still within their grace period)."""
    qs = visible_visits(user).filter(status=VisitStatus.PLANNED, due_on__lte=day, overdue_on__gt=day)
    if me:
        qs = qs.filter(me_id=me)
    if branch:
        qs = qs.filter(branch_id=branch)
    return qs.select_related("institution", "me").order_by("due_on", "id")


def leads_waiting(user: Any, *, me: Any = None, assignee: Any = None, branch: int | None = None) -> QuerySet[Lead]:
    """Open leads that need someone: not handed over yet (for the ME/Pinca), or
    handed to the sales member and still open."""
    qs = visible_leads(user).filter(status__in=OPEN_LEAD_STATUSES)
    if assignee is not None:
        qs = qs.filter(assigned_to=assignee)
    elif me is not None:
        qs = qs.filter(me=me)
    if branch:
        qs = qs.filter(branch_id=branch)
    return qs.select_related("institution", "assigned_to", "me").order_by(
        F("due_on").asc(nulls_last=True), "-created_at", "-id"
    )


@dataclass
class Today:
    day: date
    agenda: list[Activity]
    due_visits: list[MaintenanceVisit]
    overdue: list[MaintenanceVisit]
    leads: list[Lead]
    leads_total: int


def today_for(user: Any, day: date | None = None, *, limit: int = 20) -> Today:
    """The "Hari ini" page of the user acting now (an ME, or a sales member's leads)."""
    day = day or timezone.localdate()
    if active_role(user) == Role.SALES:
        leads_qs = leads_waiting(user, assignee=user)
    else:
        leads_qs = leads_waiting(user, me=user)
    return Today(
        day=day,
        agenda=me_agenda(user, user, day),
        due_visits=list(visits_in_grace(user, day, me=user.pk)),
        overdue=list(overdue_visits(user, day, me=user.pk)[:limit]),
        leads=list(leads_qs[:limit]),
        leads_total=leads_qs.count(),
    )


@dataclass
class BranchDay:
    day: date
    activities: list[Activity]
    by_me: list[dict[str, Any]]
    overdue: list[MaintenanceVisit]
    leads_today: list[Lead]
    leads_unassigned: int
    events: list[Activity]


def branch_day(user: Any, branch: OrgUnit, day: date) -> BranchDay:
    """The branch head's daily view: every ME's activity of the day, per ME,
    overdue visits, the day's leads and those not handed over yet."""
    acts = list(
        _with_participants(
            visible_activities(user).filter(branch=branch, day=day).select_related(*ACTIVITY_JOINS)
        ).order_by("me_id", "starts_at", "id")
    )
    per_me: dict[int, dict[str, Any]] = {}
    for me in mes_of_branch(branch):
        per_me[me.pk] = {"me": me, "done": 0, "planned": 0, "far": 0, "activities": []}
    for a in acts:
        row = per_me.setdefault(a.me_id, {"me": a.me, "done": 0, "planned": 0, "far": 0, "activities": []})
        row["activities"].append(a)
        row["done" if a.status == ActivityStatus.DONE else "planned"] += (
            1 if a.status != ActivityStatus.CANCELLED else 0
        )
        row["far"] += 1 if a.checkin_far else 0
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    leads = visible_leads(user).filter(branch=branch, created_at__gte=start, created_at__lt=start + timedelta(days=1))
    return BranchDay(
        day=day,
        activities=acts,
        by_me=list(per_me.values()),
        overdue=list(overdue_visits(user, day, branch=branch.pk)[:50]),
        leads_today=list(
            leads.select_related("institution", "assigned_to", "me", "source_activity").order_by("-id")[:50]
        ),
        leads_unassigned=visible_leads(user)
        .filter(branch=branch, status__in=OPEN_LEAD_STATUSES, assigned_to__isnull=True)
        .count(),
        events=[a for a in acts if a.kind in EVENT_KINDS],
    )


def mes_of_branch(branch: OrgUnit, day: date | None = None) -> list[User]:
    ids = RoleAssignment.objects.active(day).filter(unit=branch, role=Role.ME).values_list("user_id", flat=True)
    return list(User.objects.filter(pk__in=ids).order_by("first_name", "last_name", "id"))


def sales_of_branch(branch_id: int, day: date | None = None) -> list[User]:
    ids = (
        RoleAssignment.objects.active(day).filter(unit_id=branch_id, role=Role.SALES).values_list("user_id", flat=True)
    )
    return list(User.objects.filter(pk__in=ids).order_by("first_name", "last_name", "id"))


def staff_of_branch(branch_id: int, day: date | None = None) -> list[tuple[User, str]]:
    """Who may join an activity of the branch: its Pinca, sales team and MEs."""
    rows = (
        RoleAssignment.objects.active(day)
        .filter(unit_id=branch_id, role__in=(Role.PINCA, Role.SALES, Role.ME))
        .select_related("user")
        .order_by("role", "user__first_name", "user_id")
    )
    seen: set[int] = set()
    out = []
    for ra in rows:
        if ra.user_id not in seen:
            seen.add(ra.user_id)
            out.append((ra.user, ra.role))
    return out


# --- Calendar -------------------------------------------------------------------------------


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def calendar_range(view: str, day: date) -> tuple[date, date]:
    if view == "month":
        first = day.replace(day=1)
        start = week_start(first)
        next_month = (first + timedelta(days=32)).replace(day=1)
        end = week_start(next_month - timedelta(days=1)) + timedelta(days=7)
        return start, end
    start = week_start(day)
    return start, start + timedelta(days=7)


def calendar_days(
    user: Any, view: str, day: date, *, me: int | None = None, branch: int | None = None
) -> list[dict[str, Any]]:
    """Days of the week or month grid, each with its activities and visits due."""
    start, end = calendar_range(view, day)
    # Only what a calendar cell shows: a month of a busy branch is several hundred rows.
    acts = list(
        activities_between(user, start, end, me=me, branch=branch)
        .select_related(None)
        .select_related("me", "institution")
        .only(*CALENDAR_FIELDS)
    )
    visits = list(visits_due(user, start, end, me=me, branch=branch))
    days: dict[date, dict[str, Any]] = {}
    d = start
    while d < end:
        days[d] = {"day": d, "activities": [], "visits": [], "in_month": d.month == day.month}
        d += timedelta(days=1)
    for a in acts:
        days[a.day]["activities"].append(a)
    for v in visits:
        days[v.due_on]["visits"].append(v)
    return list(days.values())


# --- Pipeline board ---------------------------------------------------------------------------


def pipeline_board(user: Any, branch: OrgUnit, *, per_stage: int = 15, me: int | None = None) -> list[dict[str, Any]]:
    """Institutions of a branch by stage: a count per stage and the first
    ``per_stage`` cards (longest in their stage first). Two queries."""
    qs = visible_institutions(user).filter(branch=branch)
    if me:
        qs = qs.filter(me_id=me)
    counts = dict(qs.values_list("stage").annotate(n=Count("id")).values_list("stage", "n"))
    stages = list(PATH) + list(SIDE)
    # One query for every column's first cards: a window numbers each stage's rows.
    cards: dict[str, list[Institution]] = {s: [] for s in stages}
    ranked = (
        qs.annotate(
            rank=Window(
                RowNumber(),
                partition_by=F("stage"),
                order_by=[F("stage_since").asc(nulls_first=True), F("id").asc()],
            )
        )
        .filter(rank__lte=per_stage)
        .select_related("me")
        .only(
            "id",
            "name",
            "stage",
            "stage_since",
            "score",
            "me_id",
            "me__first_name",
            "me__last_name",
            "me__username",
            "type",
        )
        .order_by(F("stage_since").asc(nulls_first=True), "id")
    )
    for inst in ranked:
        cards[inst.stage].append(inst)
    return [
        {"stage": s, "label": Stage(s).label, "count": counts.get(s, 0), "cards": cards[s], "side": s in SIDE}
        for s in stages
    ]


# --- Events and leads -------------------------------------------------------------------------


def events(
    user: Any, *, upcoming: bool | None = None, branch: int | None = None, today: date | None = None
) -> QuerySet[Activity]:
    today = today or timezone.localdate()
    qs = visible_activities(user).filter(kind__in=EVENT_KINDS)
    if branch:
        qs = qs.filter(branch_id=branch)
    if upcoming is True:
        qs = qs.filter(day__gte=today).order_by("starts_at", "id")
    elif upcoming is False:
        qs = qs.filter(day__lt=today).order_by("-starts_at", "-id")
    else:
        qs = qs.order_by("-starts_at", "-id")
    # The support team of every event on a page comes in one more query.
    return _with_participants(
        qs.select_related(*ACTIVITY_JOINS).annotate(
            lead_count=Count("leads", distinct=True),
            won_count=Count("leads", filter=Q(leads__status=LeadStatus.CLOSING), distinct=True),
        )
    )


@dataclass(frozen=True)
class LeadFilters:
    status: str = ""
    institution: int | None = None
    source_activity: int | None = None
    assigned_to: int | None = None
    me: int | None = None
    branch: int | None = None
    open_only: bool = False
    unassigned: bool = False


def lead_list(user: Any, f: LeadFilters | None = None) -> QuerySet[Lead]:
    f = f or LeadFilters()
    qs = visible_leads(user)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.open_only:
        qs = qs.filter(status__in=OPEN_LEAD_STATUSES)
    if f.institution:
        qs = qs.filter(institution_id=f.institution)
    if f.source_activity:
        qs = qs.filter(source_activity_id=f.source_activity)
    if f.assigned_to:
        qs = qs.filter(assigned_to_id=f.assigned_to)
    if f.unassigned:
        qs = qs.filter(assigned_to__isnull=True)
    if f.me:
        qs = qs.filter(me_id=f.me)
    if f.branch:
        qs = qs.filter(branch_id=f.branch)
    return qs.select_related("institution", "assigned_to", "me", "branch", "source_activity").order_by(
        "-created_at", "-id"
    )


CONVERSION_GROUPS = {
    "institution": ("institution_id", "institution__name"),
    "event": ("source_activity_id", "source_activity__title"),
    "me": ("me_id", "me__username"),
    "branch": ("branch_id", "branch__name"),
}


def conversion(
    user: Any, by: str, *, start: date | None = None, end: date | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Lead conversion per institution, event, ME or branch: closing / all leads
    (collected in ``start <= created < end``), one GROUP BY. Leads still open
    count in the denominator: the rate is of everything collected."""
    key, label = CONVERSION_GROUPS[by]
    qs = visible_leads(user)
    if by == "event":
        qs = qs.filter(source_activity__kind__in=EVENT_KINDS)
    if start:
        qs = qs.filter(created_at__date__gte=start)
    if end:
        qs = qs.filter(created_at__date__lt=end)
    rows = (
        qs.values(key, label)
        .annotate(
            total=Count("id"),
            won=Count("id", filter=Q(status=LeadStatus.CLOSING)),
            lost=Count("id", filter=Q(status=LeadStatus.TIDAK_TERTARIK)),
        )
        .order_by("-total", key)[:limit]
    )
    out = []
    for r in rows:
        out.append(
            {
                "id": r[key],
                "label": r[label],
                "total": r["total"],
                "won": r["won"],
                "lost": r["lost"],
                "open": r["total"] - r["won"] - r["lost"],
                "rate": round(100 * r["won"] / r["total"], 1) if r["total"] else 0.0,
            }
        )
    if by == "me":
        names = {u.pk: u for u in User.objects.filter(pk__in=[r["id"] for r in out])}
        for r in out:
            user_obj = names.get(r["id"])
            r["label"] = (user_obj.get_full_name() or user_obj.username) if user_obj else r["label"]
    return out


def plans(
    user: Any, *, branch: int | None = None, me: int | None = None, active_only: bool = True
) -> QuerySet[MaintenancePlan]:
    qs = visible_plans(user)
    if active_only:
        qs = qs.filter(status=PlanStatus.ACTIVE)
    if branch:
        qs = qs.filter(branch_id=branch)
    if me:
        qs = qs.filter(me_id=me)
    today = timezone.localdate()
    return (
        qs.select_related("institution", "me", "branch")
        .annotate(
            overdue_count=Count("visits", filter=Q(visits__status=VisitStatus.PLANNED, visits__overdue_on__lte=today)),
            done_count=Count("visits", filter=Q(visits__status=VisitStatus.DONE)),
        )
        .order_by("-overdue_count", "institution__name", "id")
    )


def institution_activity(user: Any, inst: Institution, limit: int = 10) -> dict[str, Any]:
    """What the institution page shows of the ME's work: recent activities, open
    leads, the active plan with its next visits."""
    acts = list(
        visible_activities(user).filter(institution=inst).select_related("me").order_by("-starts_at", "-id")[:limit]
    )
    plan = visible_plans(user).filter(institution=inst, status=PlanStatus.ACTIVE).select_related("me").first()
    visits = list(plan.visits.filter(status=VisitStatus.PLANNED).order_by("due_on")[:3]) if plan else []
    leads = list(
        visible_leads(user).filter(institution=inst).select_related("assigned_to").order_by("-created_at")[:limit]
    )
    return {"activities": acts, "plan": plan, "next_visits": visits, "leads": leads}
