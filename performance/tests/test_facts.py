"""The monthly facts stay exact after every kind of write: each write marks its
(branch, month) pairs, the next read settles them, and a recount agrees."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from activities import services as act_services
from activities.models import ActivityKind, LeadStatus, MaintenanceVisit, VisitStatus
from activities.tests import factories as af
from institutions.models import Stage, StageChange
from institutions.services import institution_reassign
from org.models import OrgUnit
from org.services import unit_move
from performance import achievement, facts
from performance.models import KpiDirty, KpiFact
from performance.periods import Period
from performance.tests import factories as f
from sales.ingest import ingest
from sales.tests import rows as sales_rows

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _facts() -> None:
    f.build_facts()
    assert facts.differences() == []


def figure(unit: str | OrgUnit, code: str, period: Period | None = None) -> Decimal:
    u = unit if isinstance(unit, OrgUnit) else OrgUnit.objects.get(code=unit)
    p = period or Period.of(timezone.localdate())
    return Decimal(achievement.for_unit(u, p).own.figures[code].value)


def exact() -> None:
    assert facts.differences() == []
    assert not KpiDirty.objects.exists()


def test_activity_create_edit_move_and_delete() -> None:
    this = Period.of(timezone.localdate())
    last = this.previous()
    inst = af.institution_for()
    before_this, before_last = figure("C080101", "audiences_held"), figure("C080101", "audiences_held", last)
    act = af.activity(inst, ActivityKind.AUDIENSI)
    assert figure("C080101", "audiences_held") == before_this + 1
    exact()
    # Moved to a day of last month: both months change.
    day = last.start + dt.timedelta(days=9)
    act.starts_at, act.day = f.moment(day), day
    act.save()
    assert figure("C080101", "audiences_held") == before_this
    assert figure("C080101", "audiences_held", last) == before_last + 1
    exact()
    act.delete()
    assert figure("C080101", "audiences_held", last) == before_last
    exact()


def test_lead_status_change() -> None:
    inst = af.institution_for()
    leads, won = figure("C080101", "leads"), figure("C080101", "lead_conversion")
    lead = af.lead(inst)
    assert figure("C080101", "leads") == leads + 1
    exact()
    lead.status = LeadStatus.CLOSING
    lead.save()
    assert figure("C080101", "lead_conversion") == won + 1
    exact()


def test_visit_done_marks_earlier_missed() -> None:
    today = timezone.localdate()
    inst = af.institution_for(stage=Stage.EKSEKUSI)
    start = (today.replace(day=1) - dt.timedelta(days=70)).replace(day=1)
    af.plan(inst, starts_on=start, today=today, grace_days=60)
    f.build_facts()  # see test_plan_with_past_visits_marks_their_months for the plan itself
    visits = list(MaintenanceVisit.objects.filter(institution=inst, due_on__lte=today).order_by("due_on"))
    assert len(visits) >= 2
    exact()
    af.visit_done(visits[-1])
    statuses = set(MaintenanceVisit.objects.filter(pk__in=[v.pk for v in visits[:-1]]).values_list("status", flat=True))
    assert statuses == {VisitStatus.MISSED}
    exact()


def test_plan_with_past_visits_marks_their_months() -> None:
    today = timezone.localdate()
    inst = af.institution_for(stage=Stage.EKSEKUSI)
    start = (today.replace(day=1) - dt.timedelta(days=70)).replace(day=1)
    af.plan(inst, starts_on=start, today=today, grace_days=30)
    exact()


def test_stage_change_counts_and_follows_a_reassigned_institution(get_user: Any) -> None:
    inst = af.institution_for()
    executed = figure("C080101", "institutions_executed")
    other = figure("C080102", "institutions_executed")
    StageChange.objects.create(
        institution=inst, from_stage=Stage.KERJA_SAMA, to_stage=Stage.EKSEKUSI, at=timezone.now()
    )
    assert figure("C080101", "institutions_executed") == executed + 1
    exact()
    institution_reassign(
        actor=get_user("dba.a0801"), institution=inst, branch=OrgUnit.objects.get(code="C080102"), reason="Uji"
    )
    assert figure("C080101", "institutions_executed") == executed
    assert figure("C080102", "institutions_executed") == other + 1
    exact()


def test_closings_batch_and_correction() -> None:
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    period = Period.of(yesterday)
    amount = figure("C080101", "closing_amount", period)
    count = figure("C080101", "closing_count", period)
    row = sales_rows.row(external_id=f.next_id("FACT"), amount="2500000")
    assert not ingest(actor=None, source=sales_rows.SOURCE, rows=[row]).problems
    assert figure("C080101", "closing_amount", period) == amount + 2_500_000
    assert figure("C080101", "closing_count", period) == count + 1
    exact()
    row["amount"] = "1000000"  # the core system corrects the transaction
    assert not ingest(actor=None, source=sales_rows.SOURCE, rows=[row]).problems
    assert figure("C080101", "closing_amount", period) == amount + 1_000_000
    assert figure("C080101", "closing_count", period) == count + 1
    exact()


def test_unit_move_carries_its_figures(get_user: Any) -> None:
    year = Period.of(timezone.localdate(), "Y")
    branch = OrgUnit.objects.get(code="C080101")
    old_area, new_area = OrgUnit.objects.get(code="A0801"), OrgUnit.objects.get(code="A1001")
    own = figure(branch, "closing_amount", year)
    assert own > 0
    before_old, before_new = figure(old_area, "closing_amount", year), figure(new_area, "closing_amount", year)
    unit_move(actor=get_user("admin"), unit=branch, new_parent=new_area)
    assert figure(old_area, "closing_amount", year) == before_old - own
    assert figure(new_area, "closing_amount", year) == before_new + own
    exact()


def test_check_command_passes_then_fails_on_a_tampered_fact() -> None:
    call_command("performance_facts", check=True)
    fact = KpiFact.objects.filter(kpi="closing_amount").order_by("pk").first()
    assert fact is not None
    KpiFact.objects.filter(pk=fact.pk).update(value=fact.value + 1)
    with pytest.raises(CommandError):
        call_command("performance_facts", check=True)
    # A rebuild repairs it.
    call_command("performance_facts", rebuild=True)
    call_command("performance_facts", check=True)


def test_check_command_exit_status() -> None:
    """``manage.py performance_facts --check`` exits non-zero on a difference (CommandError → exit 1)."""
    KpiFact.objects.filter(pk=KpiFact.objects.order_by("pk").values("pk")[:1]).delete()
    with pytest.raises(CommandError):
        call_command("performance_facts", check=True)


def test_daily_refresh_catches_visits_overdue_after_a_long_grace() -> None:
    today = timezone.localdate()
    inst = af.institution_for(stage=Stage.EKSEKUSI)
    plan = af.plan(inst, starts_on=today.replace(day=1), today=today, grace_days=60)
    due = today - dt.timedelta(days=60)  # two months back, grace of 60 days
    visit = MaintenanceVisit.objects.create(
        **f.owned(plan.branch), plan=plan, institution=inst, me=plan.me, due_on=due, overdue_on=today + dt.timedelta(1)
    )
    exact()  # not yet overdue: not counted
    # A day passes (no write): the visit is overdue now. The daily task runs.
    MaintenanceVisit.objects.filter(pk=visit.pk).update(overdue_on=today)
    facts.refresh_recent(today=today)
    assert facts.differences() == []


def test_service_writes_mark_dirty_and_settle_on_read(get_user: Any) -> None:
    inst = af.institution_for()
    act = af.activity(inst, ActivityKind.SOSIALISASI, status="PLANNED")
    events = figure("C080101", "events_held")
    act_services.activity_update(actor=inst.me, activity=act, status="DONE", outcome=af.DONE_OUTCOME)
    assert KpiDirty.objects.exists()
    assert figure("C080101", "events_held") == events + 1
    exact()
