"""The ME's work where it meets the rest: merging duplicate institutions, moving
a branch to another area, and the institution's timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from activities import services
from activities.models import Activity, Lead, MaintenancePlan, MaintenanceVisit, PlanStatus, VisitStatus
from institutions import selectors as registry
from institutions.models import Institution, Stage
from institutions.pipeline import stage_move
from institutions.services import institution_merge
from org.models import OrgUnit
from org.services import unit_move

pytestmark = pytest.mark.django_db


def _two(me: Any) -> tuple[Institution, Institution]:
    insts = list(Institution.objects.live().filter(me=me, maintenance_plans__isnull=True).order_by("id")[:2])
    assert len(insts) == 2
    return insts[0], insts[1]


def _executed(inst: Institution) -> Institution:
    Institution.objects.filter(pk=inst.pk).update(stage=Stage.EKSEKUSI)
    inst.refresh_from_db()
    return inst


def test_merge_moves_the_work_and_keeps_one_active_plan(get_user: Any) -> None:
    me, pinca = get_user("me.c080101.1"), get_user("pinca.c080101")
    dup, surv = (_executed(i) for i in _two(me))
    act, _ = services.activity_create(
        actor=me,
        kind="KOMUNIKASI_AWAL",
        status="DONE",
        starts_at=timezone.now() - timedelta(hours=1),
        institution=dup,
        outcome="ok",
    )
    lead, _ = services.lead_create(
        actor=me,
        institution=dup,
        name="Ani",
        product="KRASIDA",
        purpose="Penawaran",
        lawful_basis="PERSETUJUAN",
        phone="081234567890",
    )
    dup_plan = services.plan_create(actor=me, institution=dup, starts_on=timezone.localdate())
    surv_plan = services.plan_create(actor=me, institution=surv, starts_on=timezone.localdate())
    institution_merge(actor=pinca, duplicate=dup, survivor=surv, reason="Duplikat")
    act.refresh_from_db()
    lead.refresh_from_db()
    dup_plan.refresh_from_db()
    assert act.institution_id == surv.pk and lead.institution_id == surv.pk
    assert dup_plan.institution_id == surv.pk and dup_plan.status == PlanStatus.ENDED
    assert MaintenancePlan.objects.filter(institution=surv, status=PlanStatus.ACTIVE).get() == surv_plan
    # The ended plan's future visits are cancelled and every visit follows the survivor.
    assert not MaintenanceVisit.objects.filter(institution=dup).exists()
    assert not dup_plan.visits.filter(status=VisitStatus.PLANNED).exists()


def test_merge_keeps_each_stage_history_with_its_institution(get_user: Any) -> None:
    me, pinca = get_user("me.c080101.1"), get_user("pinca.c080101")
    dup, surv = _two(me)
    Institution.objects.filter(pk=dup.pk).update(stage=Stage.IDENTIFIKASI)
    dup.refresh_from_db()
    dup_before, surv_before = dup.stage_changes.count(), surv.stage_changes.count()
    services.activity_create(
        actor=me,
        kind="KOMUNIKASI_AWAL",
        status="DONE",
        starts_at=timezone.now() - timedelta(hours=1),
        institution=dup,
        outcome="ok",
    )
    stage_move(actor=me, institution=dup, to_stage="KOMUNIKASI_AWAL")
    institution_merge(actor=pinca, duplicate=dup, survivor=surv, reason="Duplikat")
    assert dup.stage_changes.count() == dup_before + 1 and surv.stage_changes.count() == surv_before


def test_branch_move_takes_its_activities_to_the_new_area(get_user: Any) -> None:
    me = get_user("me.c080101.1")
    inst = _two(me)[0]
    act, _ = services.activity_create(
        actor=me, kind="KOMUNIKASI_AWAL", status="PLANNED", starts_at=timezone.now(), institution=inst
    )
    lead, _ = services.lead_create(
        actor=me,
        institution=inst,
        name="Ani",
        product="KRASIDA",
        purpose="Penawaran",
        lawful_basis="PERSETUJUAN",
        email="ani@contoh.id",
    )
    branch = OrgUnit.objects.get(code="C080101")
    new_area = OrgUnit.objects.get(code="A0802")
    unit_move(actor=None, unit=branch, new_parent=new_area)
    act.refresh_from_db()
    lead.refresh_from_db()
    assert (act.area_id, act.region_id) == (new_area.pk, new_area.parent_id)
    assert (lead.area_id, lead.region_id) == (new_area.pk, new_area.parent_id)
    assert Activity.objects.filter(area=new_area, branch=branch).count() >= 1
    assert Lead.objects.filter(area=new_area).count() >= 1


def test_timeline_of_an_institution_includes_its_activities_and_stage(get_user: Any) -> None:
    me = get_user("me.c080101.1")
    inst = _two(me)[0]
    services.activity_create(
        actor=me,
        kind="KOMUNIKASI_AWAL",
        status="DONE",
        starts_at=timezone.now() - timedelta(hours=1),
        institution=inst,
        outcome="ok",
    )
    stage_move(actor=me, institution=inst, to_stage="KOMUNIKASI_AWAL")
    actions = [row["action"] for row in registry.timeline(inst, [])]
    assert "activity.create" in actions and "institution.stage" in actions


def test_new_me_takes_over_the_plan_and_a_branch_move_ends_it(get_user: Any) -> None:
    from institutions.services import institution_reassign

    me1, me2, dba = get_user("me.c080101.1"), get_user("me.c080101.2"), get_user("dba.a0801")
    inst = _executed(_two(me1)[0])
    plan = services.plan_create(actor=me1, institution=inst, starts_on=timezone.localdate())
    institution_reassign(actor=get_user("pinca.c080101"), institution=inst, me=me2, reason="Rotasi")
    plan.refresh_from_db()
    assert plan.me == me2 and plan.status == PlanStatus.ACTIVE
    assert not plan.visits.filter(status=VisitStatus.PLANNED).exclude(me=me2).exists()
    inst.refresh_from_db()
    other = OrgUnit.objects.get(code="C080102")
    institution_reassign(actor=dba, institution=inst, branch=other, me=None, reason="Wilayah kerja")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ENDED
    assert not plan.visits.filter(status=VisitStatus.PLANNED, due_on__gte=timezone.localdate()).exists()


def test_the_plans_me_logs_a_visit_and_earlier_missed_ones_close(get_user: Any, client_for: Any) -> None:
    """A plan may name another ME than the institution's: that ME records the
    visit; recording the latest overdue visit marks the earlier ones missed."""
    me1, me2, pinca = get_user("me.c080101.1"), get_user("me.c080101.2"), get_user("pinca.c080101")
    inst = _executed(_two(me1)[0])
    today = timezone.localdate()
    plan = services.plan_create(
        actor=pinca, institution=inst, me=me2, starts_on=today - timedelta(days=70), grace_days=3
    )
    overdue = list(plan.visits.filter(status=VisitStatus.PLANNED, overdue_on__lte=today).order_by("due_on"))
    assert len(overdue) >= 2
    latest = overdue[-1]
    c = client_for("me.c080101.2")
    assert c.get(f"/aktivitas/catat/?visit={latest.pk}").status_code == 200
    act, created = services.activity_create(
        actor=me2,
        kind="KUNJUNGAN_MAINTENANCE",
        status="DONE",
        starts_at=timezone.now() - timedelta(hours=1),
        institution=inst,
        outcome="Kunjungan rutin",
        visit=latest,
    )
    assert created and act.me == me2
    statuses = dict(plan.visits.filter(pk__in=[v.pk for v in overdue]).values_list("pk", "status"))
    assert statuses[latest.pk] == VisitStatus.DONE
    assert all(statuses[v.pk] == VisitStatus.MISSED for v in overdue[:-1])


def test_a_notification_is_written_in_its_readers_language(get_user: Any) -> None:
    """The Pinca works in Indonesian, the sales member chose English: the hand-off
    reaches the sales member in English."""
    from core.models import Notification

    me, pinca, sales = get_user("me.c080101.1"), get_user("pinca.c080101"), get_user("sales.c080101.1")
    sales.language = "en"
    sales.save(update_fields=["language"])
    lead, _ = services.lead_create(
        actor=me,
        institution=_two(me)[0],
        name="Ani",
        product="KRASIDA",
        purpose="Penawaran",
        lawful_basis="PERSETUJUAN",
        phone="081234567890",
    )
    services.lead_assign(actor=pinca, lead=lead, assignee=sales)
    note = Notification.objects.filter(user=sales).latest("id")
    assert note.title.startswith("New lead for you")


def test_open_leads_follow_the_institution_to_its_new_branch(get_user: Any, client_for: Any) -> None:
    from institutions.services import institution_reassign

    me = get_user("me.c080101.1")
    inst = _two(me)[0]
    lead, _ = services.lead_create(
        actor=me,
        institution=inst,
        name="Ani",
        product="KRASIDA",
        purpose="Penawaran",
        lawful_basis="PERSETUJUAN",
        phone="081234567890",
    )
    services.lead_assign(actor=get_user("pinca.c080101"), lead=lead, assignee=get_user("sales.c080101.1"))
    other = OrgUnit.objects.get(code="C080102")
    institution_reassign(actor=get_user("dba.a0801"), institution=inst, branch=other, me=None, reason="Wilayah kerja")
    lead.refresh_from_db()
    assert lead.branch_id == other.pk and lead.assigned_to is None
    assert client_for("pinca.c080102").get(f"/aktivitas/prospek/{lead.pk}/").status_code == 200
    assert client_for("pinca.c080101").get(f"/aktivitas/prospek/{lead.pk}/").status_code == 404


def test_the_timeline_shows_each_reader_only_what_they_may_see(get_user: Any) -> None:
    me = get_user("me.c080101.1")
    inst = _two(me)[0]
    services.activity_create(
        actor=me,
        kind="KOMUNIKASI_AWAL",
        status="DONE",
        starts_at=timezone.now() - timedelta(hours=1),
        institution=inst,
        outcome="ok",
    )
    services.lead_create(
        actor=me,
        institution=inst,
        name="Ani",
        product="KRASIDA",
        purpose="Penawaran",
        lawful_basis="PERSETUJUAN",
        phone="081234567890",
    )

    def actions(username: str) -> set[str]:
        return {row["action"] for row in registry.timeline(inst, [], user=get_user(username))}

    assert {"activity.create", "lead.create"} <= actions("pinca.c080101")
    assert "activity.create" in actions("kry.c080101") and "lead.create" not in actions("kry.c080101")
    assert not {"activity.create", "lead.create"} & actions("agen.c080101")
