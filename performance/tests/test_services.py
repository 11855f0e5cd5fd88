"""Who may write what in the performance module (services), the sum check,
audit events, and bad values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from control.models import AuditEvent
from core.errors import DomainError
from org.access import current_branch_of
from org.models import OrgUnit, User
from performance import services
from performance.models import MeEvaluation, PlacementDecision, Target, Task, TaskStatus
from performance.periods import Period, PeriodKind
from performance.services import TargetRow, parse_value
from tests.authz import ROLES

pytestmark = pytest.mark.django_db

ALL = sorted(ROLES)
PERIOD = Period(dt.date(2026, 12, 1), PeriodKind.MONTH)


def u(username: str) -> User:
    return User.objects.get(username=username)


def unit(code: str) -> OrgUnit:
    return OrgUnit.objects.get(code=code)


def actor(role: str) -> User:
    return u(ROLES[role][0])


def _set(who: User, code: str, value: int = 10, me: User | None = None, kpi: str = "closing_count") -> list[str]:
    return services.targets_set(
        actor=who, kpi=kpi, period=PERIOD, rows=[TargetRow(unit(code), me, Decimal(value))], note="uji"
    )


# --- Targets ---------------------------------------------------------------------------------

TARGET_CASES = [
    # (unit code, ME username or None, the one role allowed)
    ("W08", None, "PUSAT"),
    ("A0801", None, "WILAYAH"),
    ("C080101", None, "DBA"),
    ("C080101", "me.c080101.1", "PINCA"),
]


@pytest.mark.parametrize("role", ALL)
@pytest.mark.parametrize(("code", "me", "allowed"), TARGET_CASES)
def test_target_authority(role: str, code: str, me: str | None, allowed: str) -> None:
    me_user = u(me) if me else None
    if role == allowed:
        _set(actor(role), code, me=me_user)
        assert Target.objects.filter(unit__code=code, me=me_user, period_start=PERIOD.start).exists()
    else:
        with pytest.raises(PermissionDenied):
            _set(actor(role), code, me=me_user)
        assert not Target.objects.filter(unit__code=code, me=me_user, period_start=PERIOD.start).exists()


@pytest.mark.parametrize(
    ("username", "code", "me"),
    [
        ("wil.w08", "A1001", None),  # another Wilayah's area
        ("dba.a0801", "C100101", None),  # another area's branch
        ("dba.a0801", "A0801", None),  # its own area: set by the Wilayah
        ("pinca.c080101", "C080101", None),  # the branch itself: set by the DBA
        ("pinca.c080102", "C080101", "me.c080101.1"),  # another branch's ME
    ],
)
def test_target_outside_own_reach_refused(username: str, code: str, me: str | None) -> None:
    with pytest.raises(PermissionDenied):
        _set(u(username), code, me=u(me) if me else None)


def test_sum_check_warn_saves_and_refuse_saves_nothing() -> None:
    Target.objects.filter(period_start=PERIOD.start).delete()
    dba, wil = u("dba.a0801"), u("wil.w08")
    children = list(OrgUnit.objects.filter(parent__code="A0801", is_active=True).order_by("code"))
    for kpi in ("closing_count", "closing_amount"):
        _set(wil, "A0801", 100, kpi=kpi)
    rows = [TargetRow(children[0], None, Decimal(60)), TargetRow(children[1], None, Decimal(30))]
    # WARN (closing_count's default): saved, with a warning.
    warnings = services.targets_set(actor=dba, kpi="closing_count", period=PERIOD, rows=rows)
    # One warning, about the area; none about the branches whose MEs have no targets yet.
    assert len(warnings) == 1 and "(90.00)" in warnings[0] and "(100.00)" in warnings[0], warnings
    assert Target.objects.filter(kpi="closing_count", unit__in=children[:2], period_start=PERIOD.start).count() == 2
    # REFUSE (closing_amount's default): DomainError(code="sum"), nothing saved, no audit event.
    events = AuditEvent.objects.count()
    with pytest.raises(DomainError) as err:
        services.targets_set(actor=dba, kpi="closing_amount", period=PERIOD, rows=rows)
    assert err.value.code == "sum"
    assert not Target.objects.filter(kpi="closing_amount", unit__in=children, period_start=PERIOD.start).exists()
    assert AuditEvent.objects.count() == events
    # Adding up: accepted without a warning about A0801.
    rest = [TargetRow(c, None, Decimal(0)) for c in children[2:]]
    ok = [TargetRow(children[0], None, Decimal(70)), TargetRow(children[1], None, Decimal(30)), *rest]
    assert services.targets_set(actor=dba, kpi="closing_amount", period=PERIOD, rows=ok) == []
    assert AuditEvent.objects.filter(action="performance.targets_set").count() >= 1


def test_audit_event_per_change_and_none_without_change() -> None:
    pusat = u("pusat")
    _set(pusat, "W08", 10)
    n = AuditEvent.objects.filter(action="performance.targets_set").count()
    _set(pusat, "W08", 10)  # the same value again
    assert AuditEvent.objects.filter(action="performance.targets_set").count() == n
    _set(pusat, "W08", 12)
    assert AuditEvent.objects.filter(action="performance.targets_set").count() == n + 1
    services.targets_set(actor=pusat, kpi="closing_count", period=PERIOD, rows=[TargetRow(unit("W08"), None, None)])
    assert not Target.objects.filter(unit__code="W08", period_start=PERIOD.start).exists()
    assert AuditEvent.objects.filter(action="performance.targets_set").count() == n + 2


@pytest.mark.parametrize(
    ("raw", "kpi", "value"),
    [
        ("1.500.000", "closing_amount", Decimal(1500000)),
        ("1500000", "closing_amount", Decimal(1500000)),
        ("85,5", "lead_conversion", Decimal("85.5")),
        ("", "closing_count", None),
        (12, "closing_count", Decimal(12)),
    ],
)
def test_parse_value_accepts(raw: Any, kpi: str, value: Decimal | None) -> None:
    assert parse_value(raw, kpi=kpi) == value


@pytest.mark.parametrize(
    ("raw", "kpi"),
    [
        ("abc", "closing_count"),
        ("-1", "closing_count"),
        ("NaN", "closing_count"),
        ("Infinity", "closing_amount"),
        ("1e30", "closing_amount"),
        ("12,5", "closing_count"),
        ("100,1", "lead_conversion"),
        ("1.2.3x", "closing_count"),
    ],
)
def test_parse_value_refuses_with_a_message(raw: str, kpi: str) -> None:
    with pytest.raises(DomainError) as err:
        parse_value(raw, kpi=kpi)
    assert str(err.value.message)


# --- Tasks and evaluations --------------------------------------------------------------------


def _assign(who: User) -> Task:
    return services.task_assign(
        actor=who, me=u("me.c080101.1"), objective="Kunjungi koperasi", due_on=timezone.localdate() + dt.timedelta(3)
    )


@pytest.mark.parametrize("role", [*ALL, "OTHER_PINCA"])
def test_only_the_branch_head_assigns_tasks(role: str) -> None:
    who = u("pinca.c080102") if role == "OTHER_PINCA" else actor(role)
    if role == "PINCA":
        task = _assign(who)
        assert task.branch.code == "C080101"
        assert AuditEvent.objects.filter(action="performance.task_assign").exists()
    else:
        with pytest.raises(PermissionDenied):
            _assign(who)
        assert not Task.objects.filter(objective="Kunjungi koperasi").exists()


@pytest.mark.parametrize(
    ("username", "allowed"),
    [
        ("me.c080101.1", True),
        ("pinca.c080101", True),
        ("me.c080101.2", False),
        ("pinca.c080102", False),
        ("dba.a0801", False),
        ("wil.w08", False),
        ("pusat", False),
        ("admin", False),
        ("auditor", False),
    ],
)
def test_task_update_by_own_me_or_branch_head(username: str, allowed: bool) -> None:
    task = _assign(u("pinca.c080101"))
    if allowed:
        services.task_update(actor=u(username), task=task, status=TaskStatus.IN_PROGRESS, progress_note="mulai")
        task.refresh_from_db()
        assert task.status == TaskStatus.IN_PROGRESS
    else:
        with pytest.raises(PermissionDenied):
            services.task_update(actor=u(username), task=task, status=TaskStatus.DONE)
        task.refresh_from_db()
        assert task.status == TaskStatus.OPEN


@pytest.mark.parametrize("role", [*ALL, "OTHER_PINCA"])
def test_only_the_branch_head_evaluates(role: str) -> None:
    who = u("pinca.c080102") if role == "OTHER_PINCA" else actor(role)
    period = Period.of(timezone.localdate())
    call = {"actor": who, "me": u("me.c080101.1"), "period": period, "rating": 4, "notes": "Baik"}
    if role == "PINCA":
        services.evaluation_save(**call)  # type: ignore[arg-type]
        assert MeEvaluation.objects.filter(me__username="me.c080101.1").exists()
    else:
        with pytest.raises(PermissionDenied):
            services.evaluation_save(**call)  # type: ignore[arg-type]


# --- Placement -----------------------------------------------------------------------------


def _move(who: User, reason: str = "") -> PlacementDecision:
    me = u("me.c080101.1")
    return services.placement_apply(
        actor=who,
        area=unit("A0801"),
        moves=[(me, unit("C080102"))],
        valid_from=timezone.localdate(),
        reason=reason,
        method="proportional-score-v1",
    )


@pytest.mark.parametrize("role", ALL)
def test_placement_apply_authority(role: str) -> None:
    who = actor(role)
    if role == "DBA":
        decision = _move(who)
        assert decision.moves[0]["to"] == "C080102"
        assert AuditEvent.objects.filter(action="performance.placement_apply").exists()
        return
    if role in ("WILAYAH", "PUSAT"):
        with pytest.raises(DomainError):
            _move(who)  # an exceptional placement needs a reason
        assert current_branch_of(u("me.c080101.1")).code == "C080101"  # type: ignore[union-attr]
        _move(who, reason="Kebutuhan mendesak")
        return
    with pytest.raises(PermissionDenied):
        _move(who)
    assert not PlacementDecision.objects.exists()


def test_placement_by_another_areas_dba_refused() -> None:
    with pytest.raises(PermissionDenied):
        _move(u("dba.a0802"))
    assert not PlacementDecision.objects.exists()
