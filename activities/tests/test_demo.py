"""The small demo of the ME's work (activities/demo.py), as loaded for the test
session by the root conftest: what it promises me.c080101.1, that every
institution's stage has its evidence, that maintenance visits are the ones
the schedule makes, and that loading again adds nothing."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db.models import F, Q
from django.utils import timezone

from activities import demo, schedule, selectors, services
from activities.models import (
    EVENT_KINDS,
    OPEN_LEAD_STATUSES,
    Activity,
    ActivityKind,
    ActivityStatus,
    Lead,
    LeadStatus,
    MaintenancePlan,
    MaintenanceVisit,
    Participant,
    ParticipantRole,
    PlanStatus,
    VisitStatus,
)
from control.models import AuditEvent
from core.geo import haversine_km
from core.products import Product
from institutions.models import Institution, LawfulBasis, Stage, StageChange
from institutions.pipeline import PATH, RULES, TRANSITIONS, check_move, stage_move
from org.models import Role, RoleAssignment

pytestmark = pytest.mark.django_db

ME = "me.c080101.1"


def _load_event() -> AuditEvent:
    return AuditEvent.objects.filter(action="demo.load", object_type="activities.demo").latest("seq")


def _load_day() -> dt.date:
    """The Jakarta day the demo was loaded on: its dates are relative to it."""
    return dt.date.fromisoformat(_load_event().after["today"])


def _holds(user_id: int, role: str, unit_id: int) -> bool:
    return RoleAssignment.objects.active().filter(user_id=user_id, role=role, unit_id=unit_id).exists()


# --- What me.c080101.1 opens -------------------------------------------------------------------


def test_first_me_has_work_today_and_this_week(get_user: Any) -> None:
    me = get_user(ME)
    day = _load_day()
    today = selectors.today_for(me, day)
    statuses = {a.status for a in today.agenda if a.me_id == me.pk}
    assert {ActivityStatus.DONE, ActivityStatus.PLANNED} <= statuses
    start, end = selectors.calendar_range("week", day)
    week = Activity.objects.filter(me=me, day__gte=start, day__lt=end)
    assert week.filter(status=ActivityStatus.DONE).exists() and week.filter(status=ActivityStatus.PLANNED).exists()
    assert week.filter(status=ActivityStatus.PLANNED, day__gte=day).exists()
    assert not week.filter(status=ActivityStatus.DONE, day__gt=day).exists()


def test_first_me_has_a_visit_due_today_an_overdue_one_and_an_active_plan(get_user: Any) -> None:
    me = get_user(ME)
    day = _load_day()
    today = selectors.today_for(me, day)
    assert day in [v.due_on for v in today.due_visits]
    assert today.overdue and all(schedule.is_overdue(v.due_on, v.plan.grace_days, day) for v in today.overdue)
    assert MaintenancePlan.objects.filter(me=me, status=PlanStatus.ACTIVE).exists()


def test_first_me_has_an_event_with_leads_and_an_open_lead_not_handed_over(get_user: Any) -> None:
    me = get_user(ME)
    events = Activity.objects.filter(me=me, kind__in=EVENT_KINDS, status=ActivityStatus.DONE, leads__isnull=False)
    assert events.exists()
    today = selectors.today_for(me, _load_day())
    assert any(lead.assigned_to_id is None and lead.status in OPEN_LEAD_STATUSES for lead in today.leads)
    # The branch's sales member has open leads waiting on their own page.
    sales = get_user("sales.c080101.1")
    assert Lead.objects.filter(assigned_to=sales, status__in=OPEN_LEAD_STATUSES).exists()


def test_first_me_can_log_the_missing_audience_and_move_the_institution(get_user: Any) -> None:
    """An institution at KOMUNIKASI_AWAL lacks its audience: the move is refused
    until the ME logs one the branch head attended, then it goes through."""
    me, pinca = get_user(ME), get_user("pinca.c080101")
    waiting = [
        i for i in Institution.objects.filter(me=me, stage=Stage.KOMUNIKASI_AWAL) if check_move(i, Stage.AUDIENSI)
    ]
    assert waiting
    inst = waiting[0]
    assert "Belum ada audiensi" in " ".join(check_move(inst, Stage.AUDIENSI))
    services.activity_create(
        actor=me,
        kind=ActivityKind.AUDIENSI,
        status=ActivityStatus.DONE,
        starts_at=timezone.now() - dt.timedelta(hours=2),
        institution=inst,
        participants=[pinca.pk],
        outcome="Audiensi dengan pimpinan; disepakati penjajakan kerja sama.",
    )
    stage_move(actor=me, institution=inst, to_stage=Stage.AUDIENSI)
    inst.refresh_from_db()
    assert inst.stage == Stage.AUDIENSI


# --- Consistency ----------------------------------------------------------------------------------


def test_every_stage_has_its_evidence_and_a_history_that_leads_to_it() -> None:
    moved = Institution.objects.exclude(stage=Stage.IDENTIFIKASI)
    assert set(moved.values_list("stage", flat=True)) == set(Stage.values) - {Stage.IDENTIFIKASI}
    changes: dict[int, list[StageChange]] = {}
    for ch in StageChange.objects.order_by("institution_id", "at", "id"):
        changes.setdefault(ch.institution_id, []).append(ch)
    for inst in moved:
        history = changes[inst.pk]
        assert history[0].from_stage == Stage.IDENTIFIKASI, inst.pk
        for before, after in zip(history, history[1:], strict=False):
            assert after.from_stage == before.to_stage and after.at > before.at, inst.pk
        for ch in history:
            assert ch.to_stage in TRANSITIONS[ch.from_stage], (inst.pk, ch.from_stage, ch.to_stage)
            assert ch.evidence and ch.by_id == inst.me_id
        assert history[-1].to_stage == inst.stage and history[-1].at == inst.stage_since
        if inst.stage in PATH:
            # Every rule on the way still holds, checked as pipeline.stage_move checks it.
            for stage in PATH[1 : PATH.index(inst.stage) + 1]:
                assert RULES[stage].check(inst, "") is None, (inst.pk, stage)
            continue
        # Moved aside from the path (its evidence then belongs to an ended engagement).
        assert history[-1].from_stage in PATH[1:] and history[-1].note, inst.pk
        if inst.stage == Stage.DORMAN:
            quiet_from = inst.stage_since - dt.timedelta(days=90)
            assert not inst.activities.filter(status=ActivityStatus.DONE, starts_at__gte=quiet_from).exists()
            assert len(history) == 1 or history[-2].at <= quiet_from, inst.pk
            assert not inst.maintenance_plans.filter(status=PlanStatus.ACTIVE).exists()


def test_each_move_came_after_its_evidence() -> None:
    done = Activity.objects.filter(status=ActivityStatus.DONE)
    for ch in StageChange.objects.select_related("institution"):
        mine = done.filter(institution_id=ch.institution_id, starts_at__lt=ch.at)
        if ch.to_stage == Stage.KOMUNIKASI_AWAL:
            assert mine.filter(kind=ActivityKind.KOMUNIKASI_AWAL).exists()
        elif ch.to_stage == Stage.AUDIENSI:
            assert mine.filter(kind=ActivityKind.AUDIENSI, participant_rows__role=ParticipantRole.PINCA).exists()
        elif ch.to_stage == Stage.KERJA_SAMA:
            audience = mine.filter(kind=ActivityKind.AUDIENSI).latest("starts_at")
            assert mine.filter(kind=ActivityKind.KOMUNIKASI_LANJUTAN, starts_at__gte=audience.starts_at).exists()
        elif ch.to_stage == Stage.EKSEKUSI:
            assert (
                mine.filter(kind__in=EVENT_KINDS).exists()
                or Lead.objects.filter(institution_id=ch.institution_id, created_at__lte=ch.at).exists()
            )
        elif ch.to_stage == Stage.MAINTENANCE:
            assert MaintenancePlan.objects.filter(institution_id=ch.institution_id, created_at__lte=ch.at).exists()


def test_no_activity_lies_outside_its_institutions_branch() -> None:
    assert Activity.objects.count() >= 300
    same_place = Q(branch_id=F("institution__branch_id"), area_id=F("institution__area_id"))
    same_place &= Q(region_id=F("institution__region_id"))
    for model in (Activity, Lead, MaintenancePlan, MaintenanceVisit):
        assert not model.objects.filter(institution__isnull=False).exclude(same_place).exists(), model
    # The ME of each activity is posted to its branch; only branch work has no institution.
    for me_id, branch_id in Activity.objects.values_list("me_id", "branch_id").distinct():
        assert _holds(me_id, Role.ME, branch_id)
    assert not Activity.objects.filter(institution__isnull=True).exclude(kind=ActivityKind.LAINNYA).exists()


def test_activities_are_dated_done_behind_planned_ahead_in_jakarta_days() -> None:
    day = _load_day()
    kinds = Counter(Activity.objects.values_list("kind", flat=True))
    assert set(kinds) >= set(ActivityKind.values) - {ActivityKind.LAINNYA}
    assert Activity.objects.filter(status=ActivityStatus.CANCELLED).exists()
    for act in Activity.objects.all():
        assert act.day == timezone.localtime(act.starts_at).date()
        assert act.ends_at is None or act.ends_at >= act.starts_at
        if act.status == ActivityStatus.DONE:
            assert act.day <= day and act.outcome
        if act.status == ActivityStatus.PLANNED:
            assert act.day >= day
    oldest = Activity.objects.order_by("starts_at").first()
    newest = Activity.objects.order_by("-starts_at").first()
    assert oldest is not None and newest is not None
    assert oldest.day >= demo.FIRST_DAY and newest.day <= day + dt.timedelta(days=demo.AHEAD_DAYS)


def test_events_have_attendance_products_and_the_branch_sales_team() -> None:
    events = Activity.objects.filter(kind__in=EVENT_KINDS)
    assert events.filter(status=ActivityStatus.DONE).exists() and events.filter(status=ActivityStatus.PLANNED).exists()
    for ev in events.prefetch_related("participant_rows"):
        assert ev.products and set(ev.products) <= set(Product.values) and ev.title
        assert (ev.attendance is not None) == (ev.status == ActivityStatus.DONE)
        roles = [(p.user_id, p.role) for p in ev.participant_rows.all()]
        assert any(role == ParticipantRole.SALES for _u, role in roles)
    for p in Participant.objects.select_related("activity"):
        role = Role.PINCA if p.role == ParticipantRole.PINCA else Role.SALES
        assert _holds(p.user_id, role, p.activity.branch_id)


def test_leads_carry_purpose_lawful_basis_and_go_to_the_branch_sales_team() -> None:
    leads = Lead.objects.all()
    assert set(leads.values_list("status", flat=True)) == set(LeadStatus.values)
    assert leads.filter(source_activity__kind__in=EVENT_KINDS).exists()
    assert leads.exclude(source_activity__kind__in=EVENT_KINDS).exists()
    for lead in leads.select_related("source_activity"):
        assert lead.name.strip() and lead.purpose and lead.lawful_basis in LawfulBasis.values
        assert lead.phone.startswith("08") and lead.product in Product.values
        if lead.source_activity is not None:
            assert lead.source_activity.institution_id == lead.institution_id
            assert lead.source_activity.status == ActivityStatus.DONE
        if lead.status != LeadStatus.BARU:
            assert lead.assigned_to_id is not None
        if lead.assigned_to_id is not None:
            assert _holds(lead.assigned_to_id, Role.SALES, lead.branch_id)
        if lead.status == LeadStatus.TIDAK_TERTARIK:
            assert lead.notes
    # Nothing is past its retention period the day it is loaded.
    assert services.leads_anonymise(today=_load_day()) == 0


def test_maintenance_visits_are_the_ones_the_schedule_makes() -> None:
    day = _load_day()
    plans = MaintenancePlan.objects.select_related("institution")
    assert plans.exists()
    for plan in plans:
        assert plan.status == PlanStatus.ACTIVE and plan.institution.stage == Stage.MAINTENANCE
        until = max(day, plan.starts_on) + dt.timedelta(days=schedule.HORIZON_DAYS)
        visits = list(plan.visits.order_by("due_on"))
        assert [v.due_on for v in visits] == schedule.due_dates(plan.frequency, plan.starts_on, until)
        assert all(v.overdue_on == schedule.overdue_on(v.due_on, plan.grace_days) for v in visits)
        assert services.generate_visits(plan, today=day) == 0
    linked = dict(Activity.objects.filter(visit__isnull=False).values_list("visit_id", "day"))
    last_done = dict(  # each plan's last done visit (the latest due date wins)
        MaintenanceVisit.objects.filter(status=VisitStatus.DONE).values_list("plan_id", "due_on").order_by("due_on")
    )
    for v in MaintenanceVisit.objects.all():
        if v.status == VisitStatus.DONE:
            assert linked[v.pk] == v.done_on and v.done_on <= day
            continue
        assert v.pk not in linked
        # Skipped visits are missed once a later one is done (services._complete_visit), else still planned.
        later_done = v.plan_id in last_done and v.due_on < last_done[v.plan_id]
        assert v.status == (VisitStatus.MISSED if later_done else VisitStatus.PLANNED), (v.pk, v.status)
    assert Activity.objects.filter(visit__isnull=False).exclude(kind=ActivityKind.KUNJUNGAN_MAINTENANCE).count() == 0
    overdue = MaintenanceVisit.objects.filter(status=VisitStatus.PLANNED, overdue_on__lte=day)
    assert overdue.exists() and MaintenanceVisit.objects.filter(status=VisitStatus.DONE).exists()
    assert MaintenanceVisit.objects.filter(status=VisitStatus.MISSED).exists()


def test_checkins_are_near_the_institution_and_a_few_are_far() -> None:
    checked = Activity.objects.filter(checkin_latitude__isnull=False).select_related("institution")
    assert checked.filter(checkin_far=False).exists() and checked.filter(checkin_far=True).exists()
    for act in checked:
        inst = act.institution
        km = haversine_km(
            float(inst.latitude), float(inst.longitude), float(act.checkin_latitude), float(act.checkin_longitude)
        )
        assert abs(Decimal(str(round(km, 2))) - act.checkin_distance_km) <= Decimal("0.01")
        assert act.checkin_far == (km > settings.CHECKIN_FAR_KM + (act.checkin_accuracy_m or 0) / 1000)


# --- Loading ----------------------------------------------------------------------------------


def _clear() -> None:
    Lead.objects.all().delete()
    Activity.objects.all().delete()
    MaintenanceVisit.objects.all().delete()
    MaintenancePlan.objects.all().delete()
    StageChange.objects.all().delete()
    Institution.objects.update(stage=Stage.IDENTIFIKASI, stage_since=None)


def _snapshot() -> list[tuple[Any, ...]]:
    return sorted(
        Activity.objects.values_list("institution_id", "me_id", "kind", "status", "starts_at", "place", "outcome")
    )


def test_a_second_load_adds_nothing() -> None:
    before = (
        Activity.objects.count(),
        Lead.objects.count(),
        MaintenanceVisit.objects.count(),
        StageChange.objects.count(),
    )
    events = AuditEvent.objects.count()
    assert set(demo.load(scale="small", seed=1, progress=lambda *a: lambda n: None).values()) == {0}
    out = StringIO()
    call_command("demo_data", scale="small", seed=1, no_progress=True, stdout=out)
    assert "activities=0, participants=0, plans=0, visits=0, leads=0, stage_changes=0" in out.getvalue()
    after = (
        Activity.objects.count(),
        Lead.objects.count(),
        MaintenanceVisit.objects.count(),
        StageChange.objects.count(),
    )
    assert after == before and AuditEvent.objects.count() == events


def test_the_same_seed_and_day_give_the_same_work_and_one_audit_event() -> None:
    now = timezone.now()
    quiet = lambda *a: lambda n: None  # noqa: E731
    _clear()
    events = AuditEvent.objects.count()
    created = demo.load(scale="small", seed=1, progress=quiet, now=now)
    assert AuditEvent.objects.count() == events + 1
    assert created["activities"] == Activity.objects.count() > 0
    first = _snapshot()
    _clear()
    demo.load(scale="small", seed=1, progress=quiet, now=now)
    assert _snapshot() == first
    _clear()
    demo.load(scale="small", seed=2, progress=quiet, now=now)
    assert _snapshot() != first


def test_if_empty_completes_a_demo_database_without_activities() -> None:
    """A demo database made before this module gets its activities on `make run`."""
    _clear()
    out = StringIO()
    call_command("demo_data", scale="small", if_empty=True, no_progress=True, stdout=out)
    assert "activities=0" not in out.getvalue() and Activity.objects.exists()
    out = StringIO()
    call_command("demo_data", scale="small", if_empty=True, no_progress=True, stdout=out)
    assert "not loaded" in out.getvalue()


def test_an_earlier_day_moves_the_dates_with_it() -> None:
    """Dates are relative to the load day: loaded on another day, the promises hold then."""
    then = timezone.now() - dt.timedelta(days=100)
    _clear()
    demo.load(scale="small", seed=1, progress=lambda *a: lambda n: None, now=then)
    from org.models import User

    me = User.objects.get(username=ME)
    day = timezone.localtime(then).date()
    today = selectors.today_for(me, day)
    assert today.due_visits and today.overdue and today.agenda
    assert not Activity.objects.filter(status=ActivityStatus.DONE, starts_at__gt=then).exists()
