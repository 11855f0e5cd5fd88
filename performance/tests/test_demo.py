"""The performance demo (loaded with the small demo for the test session):
targets that add up, facts that agree with a recount, tasks and evaluations by
the branch head, idempotency, determinism."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from control.models import AuditEvent
from org.models import OrgUnit, Placement, Role, RoleAssignment, UnitKind, User
from performance import demo, distribution, facts
from performance.kpis import KPI_BY_CODE, KPIS
from performance.models import KpiFact, MeEvaluation, Target, Task, TaskStatus
from performance.periods import parse_period

pytestmark = pytest.mark.django_db
JKT = ZoneInfo("Asia/Jakarta")


SETTER_ROLE: dict[str, str] = {
    UnitKind.PUSAT: Role.PUSAT,
    UnitKind.WILAYAH: Role.PUSAT,
    UnitKind.AREA: Role.WILAYAH,
    UnitKind.CABANG: Role.DBA,
}


def _quiet(label: str, total: int) -> Any:
    return lambda n: None


def _event() -> Any:
    event = AuditEvent.objects.filter(action="demo.load", object_type=demo.OBJECT_TYPE).order_by("-seq").first()
    assert event is not None
    return event


def _today() -> dt.date:
    return dt.date.fromisoformat(_event().after["today"])


def _periods() -> list[Any]:
    periods = [parse_period(code) for code in _event().after["periods"]]
    assert [p.kind for p in periods if p] == ["Y", "Q", "M"]
    return periods


def _current_mes() -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    for branch, user in Placement.objects.filter(valid_to__isnull=True).values_list("branch_id", "user_id"):
        out[branch].add(user)
    return out


def _snapshot() -> tuple[list[Any], list[Any], list[Any]]:
    targets = list(
        Target.objects.order_by("kpi", "period_kind", "period_start", "unit_id", "me_id").values_list(
            "kpi", "period_kind", "period_start", "unit_id", "me_id", "value", "set_by_id"
        )
    )
    tasks = list(
        Task.objects.order_by("branch_id", "me_id", "due_on", "objective", "status").values_list(
            "branch_id", "me_id", "institution_id", "objective", "kpi", "due_on", "status", "done_on", "assigned_by_id"
        )
    )
    evaluations = list(
        MeEvaluation.objects.order_by("me_id").values_list(
            "branch_id", "me_id", "period_kind", "period_start", "rating", "notes", "evaluated_by_id"
        )
    )
    return targets, tasks, evaluations


def test_every_kpi_has_targets_that_add_up_top_down() -> None:
    units = {u.pk: u for u in OrgUnit.objects.filter(kind__in=[UnitKind.PUSAT, UnitKind.WILAYAH, UnitKind.AREA,
                                                                  UnitKind.CABANG])}  # fmt: skip
    mes = _current_mes()
    for period in _periods():
        rows = list(Target.objects.filter(period_kind=period.kind, period_start=period.start))
        assert {t.kpi for t in rows} == {k.code for k in KPIS}
        for kpi in KPIS:
            own = {t.unit_id: t.value for t in rows if t.kpi == kpi.code and t.me_id is None}
            by_me = {t.me_id: t for t in rows if t.kpi == kpi.code and t.me_id is not None}
            # every office down to each branch has one, each current ME has one (at their branch)
            assert set(own) == set(units), (kpi.code, period)
            assert set(by_me) == {m for ids in mes.values() for m in ids}
            pst = next(u for u in units.values() if u.kind == UnitKind.PUSAT)
            assert own[pst.pk] > 0, (kpi.code, period)
            for parent in units.values():
                children = [own[c.pk] for c in units.values() if c.parent_id == parent.pk]
                if parent.kind == UnitKind.CABANG:
                    children = [t.value for t in by_me.values() if t.unit_id == parent.pk]
                    assert {t.unit_id for t in by_me.values() if t.me_id in mes[parent.pk]} <= {parent.pk}
                if not children:
                    continue
                if kpi.is_ratio:
                    assert set(children) == {own[parent.pk]}, (kpi.code, parent.code)
                    assert own[parent.pk] <= 100
                else:
                    assert sum(children, Decimal(0)) == own[parent.pk], (kpi.code, period, parent.code)
                    assert all(v == v.to_integral_value() for v in children)


def test_national_target_grows_on_last_year() -> None:
    year = _periods()[0]
    last = year.previous_year()
    pst = OrgUnit.objects.get(kind=UnitKind.PUSAT)
    for code in ("closing_amount", "closing_count", "new_customers"):
        achieved = sum(
            KpiFact.objects.filter(kpi=code, month__gte=last.start, month__lt=last.end).values_list("value", flat=True),
            Decimal(0),
        )
        target = Target.objects.get(kpi=code, period_kind="Y", period_start=year.start, unit=pst, me__isnull=True)
        assert achieved > 0
        assert achieved * Decimal("1.04") <= target.value <= achieved * Decimal("1.16"), code
    # Without figures last year (the demo's leads are recent): this year's run rate.
    if not KpiFact.objects.filter(kpi="leads", month__gte=last.start, month__lt=last.end).exists():
        this_year = KpiFact.objects.filter(kpi="leads", month__gte=year.start, month__lt=_today().replace(day=1))
        assert this_year.exists()
        assert Target.objects.get(kpi="leads", period_kind="Y", period_start=year.start, unit=pst).value > 0


def test_distribute_proposes_the_stored_split() -> None:
    """The loader reads weights in bulk; the documented helper gives the same children."""
    for period in _periods():
        for code in ("closing_amount", "leads", "lead_conversion"):
            targets = {
                (t.unit_id, t.me_id): t.value
                for t in Target.objects.filter(kpi=code, period_kind=period.kind, period_start=period.start)
            }
            pst = OrgUnit.objects.get(kind=UnitKind.PUSAT)
            region = OrgUnit.objects.filter(parent=pst, kind=UnitKind.WILAYAH).order_by("code").first()
            area = OrgUnit.objects.filter(parent=region, kind=UnitKind.AREA).order_by("code").first()
            branch = OrgUnit.objects.filter(parent=area, kind=UnitKind.CABANG).order_by("code").first()
            assert region and area and branch
            for parent, method in ((pst, "last_year"), (region, "last_year"), (area, "potential")):
                children = list(OrgUnit.objects.filter(parent=parent, is_active=True).exclude(kind=UnitKind.UNIT_KERJA)
                                .order_by("code"))  # fmt: skip
                kw = {"kpi": code, "period": period, "children": children, "parent": parent}
                if method == "last_year" and not sum(distribution.weights(method, **kw)):
                    method = "potential"  # no figures last year: by potential
                proposed = distribution.distribute(method, total=targets[(parent.pk, None)], **kw)
                assert proposed == [targets[(c.pk, None)] for c in children], (code, period, parent.code)
            mes = list(User.objects.filter(pk__in=_current_mes()[branch.pk]).order_by("first_name", "last_name", "id"))
            proposed = distribution.distribute(
                "equal", kpi=code, period=period, total=targets[(branch.pk, None)], children=mes, parent=branch
            )
            assert proposed == [targets[(branch.pk, m.pk)] for m in mes]


def test_targets_are_set_by_who_may_set_them() -> None:
    period = _periods()[2]
    for t in Target.objects.filter(period_kind=period.kind, period_start=period.start, kpi="leads").select_related(
        "unit", "set_by"
    ):
        assert t.set_by is not None
        if t.me_id is not None:
            assert t.set_by.has_perm("performance.set_me_target", t.unit)
        else:
            role = SETTER_ROLE[str(t.unit.kind)]
            assert RoleAssignment.objects.active(_today()).filter(user=t.set_by, role=role).exists()


def test_facts_agree_with_a_recount() -> None:
    assert KpiFact.objects.filter(kpi="closing_amount").exists()
    assert KpiFact.objects.filter(kpi="audiences_held").exists()
    assert facts.differences() == []


def test_tasks_by_the_branch_head_for_each_current_me() -> None:
    today = _today()
    mes = _current_mes()
    tasks = list(Task.objects.select_related("branch", "assigned_by", "institution"))
    assert tasks
    by_me: dict[int, list[Task]] = defaultdict(list)
    for t in tasks:
        by_me[t.me_id].append(t)
        assert t.me_id in mes[t.branch_id]
        assert t.area_id == t.branch.parent_id
        assert t.region_id == OrgUnit.objects.get(pk=t.area_id).parent_id
        assert t.assigned_by is not None
        assert RoleAssignment.objects.active(today).filter(user=t.assigned_by, role=Role.PINCA, unit=t.branch).exists()
        assert t.assigned_by.has_perm("performance.assign_task", t.branch)
        assert t.objective
        if t.institution is not None:
            assert t.institution.branch_id == t.branch_id
        if t.kpi:
            assert t.kpi in KPI_BY_CODE
        if t.status == TaskStatus.DONE:
            assert t.done_on is not None and t.done_on <= today
        else:
            assert t.done_on is None
    assert set(by_me) == {m for ids in mes.values() for m in ids}
    for me_tasks in by_me.values():  # the small demo: each ME has one of each
        assert 4 <= len(me_tasks) <= 5
        statuses = {t.status for t in me_tasks}
        assert {TaskStatus.OPEN, TaskStatus.IN_PROGRESS, TaskStatus.DONE} <= statuses
        assert any(t.is_overdue(today) for t in me_tasks)
    assert sum(1 for t in tasks if t.institution_id and t.kpi) > len(tasks) / 4


def test_last_months_evaluations_for_about_half_the_mes() -> None:
    today = _today()
    period = parse_period(_event().after["evaluated"])
    assert period is not None and period.end == today.replace(day=1)
    mes = _current_mes()
    evaluations = list(MeEvaluation.objects.select_related("branch", "evaluated_by"))
    assert evaluations
    per_branch: dict[int, int] = defaultdict(int)
    for e in evaluations:
        assert (e.period_kind, e.period_start) == (period.kind, period.start)
        assert e.me_id in mes[e.branch_id]
        assert e.area_id == e.branch.parent_id
        assert e.region_id == OrgUnit.objects.get(pk=e.area_id).parent_id
        assert 3 <= e.rating <= 5 and e.notes
        assert e.evaluated_by is not None and e.evaluated_by.has_perm("performance.evaluate_me", e.branch)
        per_branch[e.branch_id] += 1
    for branch, ids in mes.items():
        assert per_branch[branch] == (len(ids) + 1) // 2


def test_a_second_load_adds_nothing() -> None:
    before = _snapshot(), KpiFact.objects.count(), AuditEvent.objects.count()
    created = demo.load(scale="small", seed=1, progress=_quiet)
    assert set(created.values()) == {0}
    assert (_snapshot(), KpiFact.objects.count(), AuditEvent.objects.count()) == before


def test_same_seed_same_data() -> None:
    event = _event()
    before = _snapshot()
    for model in (Target, Task, MeEvaluation):
        model.objects.all().delete()
    now = dt.datetime.combine(_today(), dt.time(12), tzinfo=JKT)
    created = demo.load(scale="small", seed=1, now=now, progress=_quiet)
    assert created["targets"] == len(before[0]) and created["tasks"] == len(before[1])
    assert _snapshot() == before
    assert _event().after["digest"] == event.after["digest"]


def test_if_empty_completes_a_demo_database_without_performance_data() -> None:
    for model in (Target, Task, MeEvaluation):
        model.objects.all().delete()
    out = StringIO()
    call_command("demo_data", scale="small", if_empty=True, no_progress=True, stdout=out)
    assert "targets=" in out.getvalue() and "not loaded" not in out.getvalue()
    assert Target.objects.exists() and Task.objects.exists() and MeEvaluation.objects.exists()
    out = StringIO()
    call_command("demo_data", scale="small", if_empty=True, no_progress=True, stdout=out)
    assert "not loaded" in out.getvalue()
