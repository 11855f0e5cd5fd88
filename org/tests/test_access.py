"""The access policy: what each role sees of the tree."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from org import services
from org.access import active_assignment, scope_path, unit_in_scope, visible_units
from org.models import OrgUnit, Role, RoleAssignment, UnitKind

pytestmark = pytest.mark.django_db


def _kinds(user: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for u in visible_units(user):
        out[u.kind] = out.get(u.kind, 0) + 1
    return out


@pytest.mark.parametrize("username", ["admin", "pusat", "auditor", "mitra.pms"])
def test_all_seeing_roles_see_the_whole_network(get_user: Any, username: str) -> None:
    assert visible_units(get_user(username)).count() == OrgUnit.objects.count()


def test_wilayah_sees_its_region_only(get_user: Any) -> None:
    user = get_user("wil.w08")
    codes = set(visible_units(user).values_list("code", flat=True))
    assert "W08" in codes and "A0801" in codes and "C080101" in codes
    assert not any(c.startswith(("W10", "A10", "C10", "U10")) for c in codes)
    assert "PST" not in codes
    assert _kinds(user) == {UnitKind.WILAYAH: 1, UnitKind.AREA: 2, UnitKind.CABANG: 6, UnitKind.UPC: 12}


def test_dba_sees_its_area_only(get_user: Any) -> None:
    assert _kinds(get_user("dba.a0801")) == {UnitKind.AREA: 1, UnitKind.CABANG: 3, UnitKind.UPC: 6}
    assert not unit_in_scope(get_user("dba.a0801"), OrgUnit.objects.get(code="A0802"))


@pytest.mark.parametrize("username", ["pinca.c080101", "me.c080101.1", "sales.c080101.1", "agen.c080101"])
def test_branch_roles_see_their_branch_and_its_upcs(get_user: Any, username: str) -> None:
    codes = set(visible_units(get_user(username)).values_list("code", flat=True))
    assert codes == {"C080101", "U08010101", "U08010102"}


def test_upc_employee_sees_the_branch_of_the_upc(get_user: Any) -> None:
    user = get_user("kry.u08010101")
    assert scope_path(user) == OrgUnit.objects.get(code="C080101").path
    assert "U08010102" in set(visible_units(user).values_list("code", flat=True))


def test_user_without_active_role_sees_nothing(get_user: Any) -> None:
    user = get_user("me.c080101.1")
    RoleAssignment.objects.filter(user=user).update(valid_to=dt.date(2025, 6, 1))
    assert active_assignment(user) is None
    assert visible_units(user).count() == 0


def test_expired_and_future_assignments_do_not_count(get_user: Any) -> None:
    user = get_user("me.c080101.1")
    with time_machine.travel(dt.datetime(2024, 12, 1, 12, tzinfo=dt.UTC)):
        # The ME posting starts 2025-01-02: before it, no role.
        assert active_assignment(user) is None


def test_switching_role_switches_scope(get_user: Any) -> None:
    user = get_user("plt.dba")
    dba, pinca = (
        RoleAssignment.objects.get(user=user, role=Role.DBA),
        RoleAssignment.objects.get(user=user, role=Role.PINCA),
    )
    services.active_role_switch(user=user, assignment_id=pinca.pk)
    assert scope_path(user) == pinca.unit.path
    services.active_role_switch(user=user, assignment_id=dba.pk)
    assert scope_path(user) == dba.unit.path
    user.refresh_from_db()
    assert user.current_assignment_id == dba.pk  # remembered


def test_cannot_switch_to_someone_elses_role(get_user: Any) -> None:
    from core.errors import DomainError

    user = get_user("me.c080101.1")
    other = RoleAssignment.objects.get(user__username="admin")
    with pytest.raises(DomainError):
        services.active_role_switch(user=user, assignment_id=other.pk)


@pytest.mark.parametrize(
    ("username", "perm", "code", "allowed"),
    [
        ("admin", "org.move_unit", "C080101", True),
        ("pusat", "org.move_unit", "C080101", False),
        ("auditor", "control.view_audit", None, True),
        ("wil.w08", "control.view_audit", None, False),
        ("dba.a0801", "org.place_me", "C080101", True),
        ("dba.a0801", "org.place_me", "C080201", False),  # another area's branch
        ("pinca.c080101", "org.place_me", "C080101", False),
        ("wil.w08", "org.place_me", "C080101", True),
        ("wil.w08", "org.place_me", "C100101", False),
        ("agen.c080101", "org.view_people", "C080101", False),
        ("pinca.c080101", "org.view_people", "C080101", True),
    ],
)
def test_action_rules(get_user: Any, username: str, perm: str, code: str | None, allowed: bool) -> None:
    obj = OrgUnit.objects.get(code=code) if code else None
    assert get_user(username).has_perm(perm, obj) is allowed
