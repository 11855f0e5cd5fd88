"""Writes to the tree, roles and postings: validation, permission, audit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from control.models import AuditEvent
from core.errors import DomainError
from org import services
from org.models import OrgUnit, Placement, Role, RoleAssignment, UnitKind

pytestmark = pytest.mark.django_db


def _last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("-seq").first()  # type: ignore[return-value]


def test_move_branch_rewrites_the_whole_subtree_path(get_user: Any, unit: Any) -> None:
    branch, new_area = unit("C080101"), unit("A1001")
    old_path = branch.path
    upc_codes = list(branch.children.values_list("code", flat=True))
    services.unit_move(actor=get_user("admin"), unit=branch, new_parent=new_area)
    branch.refresh_from_db()
    assert branch.parent_id == new_area.pk
    assert branch.path == new_area.path + "C080101/"
    for code in upc_codes:
        u = unit(code)
        assert u.path == branch.path + code + "/"
        assert u.depth == branch.depth + 1
    assert not OrgUnit.objects.filter(path__startswith=old_path).exists()
    event = _last_event()
    assert event.action == "org.unit.move" and event.before["path"] == old_path
    assert event.after["path"] == branch.path and event.after["subtree_units"] == 1 + len(upc_codes)


def test_move_area_keeps_depths_and_scope_follows(get_user: Any, unit: Any) -> None:
    area = unit("A0801")
    services.unit_move(actor=get_user("admin"), unit=area, new_parent=unit("W10"))
    from org.access import visible_units

    w10_codes = set(visible_units(get_user("wil.w10")).values_list("code", flat=True))
    assert {"A0801", "C080101", "U08010101"} <= w10_codes
    assert "C080101" not in set(visible_units(get_user("wil.w08")).values_list("code", flat=True))
    assert unit("U08010101").depth == 4


@pytest.mark.parametrize(
    ("code", "new_parent", "message"),
    [
        ("A0801", "C080201", "harus berada di bawah"),  # an area under a branch
        ("W08", "A0801", "bawah dirinya sendiri"),  # a cycle
        ("C080101", "A0801", "sudah berada"),  # no-op move
    ],
)
def test_invalid_moves_are_refused_and_change_nothing(
    get_user: Any, unit: Any, code: str, new_parent: str, message: str
) -> None:
    before = dict(OrgUnit.objects.values_list("code", "path"))
    events = AuditEvent.objects.count()
    with pytest.raises(DomainError, match=message):
        services.unit_move(actor=get_user("admin"), unit=unit(code), new_parent=unit(new_parent))
    assert dict(OrgUnit.objects.values_list("code", "path")) == before
    assert AuditEvent.objects.count() == events


def test_only_admin_moves_units(get_user: Any, unit: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.unit_move(actor=get_user("pusat"), unit=unit("C080101"), new_parent=unit("A1001"))


def test_unit_create_checks_the_shape_of_the_network(get_user: Any, unit: Any) -> None:
    admin = get_user("admin")
    new = services.unit_create(
        actor=admin, kind=UnitKind.CABANG, code="c089999", name="Cabang Baru", parent=unit("A0801")
    )
    assert new.code == "C089999" and new.path == unit("A0801").path + "C089999/" and new.depth == 3
    assert _last_event().action == "org.unit.create"
    with pytest.raises(DomainError):
        services.unit_create(actor=admin, kind=UnitKind.CABANG, code="C1", name="x", parent=unit("W08"))
    with pytest.raises(DomainError):
        services.unit_create(actor=admin, kind=UnitKind.UPC, code="A/B", name="x", parent=new)
    with pytest.raises(DomainError, match="sudah dipakai"):
        services.unit_create(actor=admin, kind=UnitKind.UPC, code="U08010101", name="x", parent=new)
    with pytest.raises(DomainError, match="Kantor Pusat sudah ada"):
        services.unit_create(actor=admin, kind=UnitKind.PUSAT, code="PST2", name="x", parent=None)


def test_role_must_live_in_its_kind_of_unit(get_user: Any, unit: Any) -> None:
    admin, person = get_user("admin"), get_user("sales.c080101.1")
    with pytest.raises(DomainError, match="tidak dapat ditempatkan"):
        services.role_assign(actor=admin, user=person, role=Role.DBA, unit=unit("C080101"))
    a = services.role_assign(actor=admin, user=person, role=Role.KARYAWAN, unit=unit("U08010101"))
    assert _last_event().action == "org.role.assign" and _last_event().object_id == str(a.pk)
    with pytest.raises(DomainError):  # the same role twice at once
        services.role_assign(actor=admin, user=person, role=Role.KARYAWAN, unit=unit("U08010101"))
    with pytest.raises(PermissionDenied):
        services.role_assign(actor=get_user("pinca.c080101"), user=person, role=Role.SALES, unit=unit("C080101"))


def test_role_end_is_half_open(get_user: Any) -> None:
    a = RoleAssignment.objects.get(user__username="sales.c080101.1")
    services.role_end(actor=get_user("admin"), assignment=a, valid_to=dt.date(2026, 1, 1))
    assert not a.__class__.objects.active(on=dt.date(2026, 1, 1)).filter(pk=a.pk).exists()
    assert a.__class__.objects.active(on=dt.date(2025, 12, 31)).filter(pk=a.pk).exists()


def test_me_placement_keeps_history_and_moves_the_role(get_user: Any, unit: Any) -> None:
    me = get_user("me.c080101.1")
    dba = get_user("dba.a0801")
    day = dt.date(2026, 3, 1)
    services.me_place(actor=dba, me=me, branch=unit("C080102"), valid_from=day)
    history = list(Placement.objects.filter(user=me).order_by("valid_from").values_list("branch__code", "valid_to"))
    assert history == [("C080101", day), ("C080102", None)]
    roles = set(RoleAssignment.objects.filter(user=me, valid_to__isnull=True).values_list("role", "unit__code"))
    assert roles == {(Role.ME, "C080102")}
    assert _last_event().action == "org.me.place"


def test_me_placement_authority(get_user: Any, unit: Any) -> None:
    me = get_user("me.c080101.1")
    with pytest.raises(PermissionDenied):  # another area's DBA
        services.me_place(actor=get_user("dba.a0802"), me=me, branch=unit("C080201"))
    with pytest.raises(PermissionDenied):  # a branch head may not place
        services.me_place(actor=get_user("pinca.c080101"), me=me, branch=unit("C080102"))
    with pytest.raises(DomainError, match="alasan"):  # the exceptional path needs a reason
        services.me_place(actor=get_user("wil.w08"), me=me, branch=unit("C080102"), valid_from=dt.date(2026, 3, 1))
    services.me_place(
        actor=get_user("wil.w08"), me=me, branch=unit("C080102"), valid_from=dt.date(2026, 3, 1), reason="Plt."
    )


def test_every_service_write_leaves_an_audit_event(get_user: Any, unit: Any) -> None:
    admin = get_user("admin")
    start = AuditEvent.objects.count()
    user = services.user_create(actor=admin, username="baru", password="Sangat-Rahasia-2026", first_name="Baru")
    services.role_assign(actor=admin, user=user, role=Role.SALES, unit=unit("C080101"))
    services.user_set_language(user=user, language="en")
    services.user_change_password(user=user, new_password="Lain-Lagi-2026!")
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True)[start:])
    assert actions == ["org.user.create", "org.role.assign", "org.user.language", "org.user.password_change"]
    assert "Lain-Lagi" not in str(list(AuditEvent.objects.values_list("after", flat=True)))


def test_user_create_validates_password_and_duplicates(get_user: Any) -> None:
    admin = get_user("admin")
    with pytest.raises(DomainError):
        services.user_create(actor=admin, username="x1", password="123")
    with pytest.raises(DomainError, match="sudah dipakai"):
        services.user_create(actor=admin, username="ADMIN", password=None)


@pytest.mark.django_db
def test_moving_a_branch_moves_its_institutions_scope(get_user: Any, unit: Any) -> None:
    """Institutions carry area/region ids for scope filters: a move must keep them true."""
    from institutions.selectors import InstitutionFilters, institution_list
    from institutions.tests.factories import make_institution

    inst = make_institution(branch="C080101")
    services.unit_move(actor=get_user("admin"), unit=unit("C080101"), new_parent=unit("A0802"))
    inst.refresh_from_db()
    assert inst.area.code == "A0802" and inst.region.code == "W08"
    old_dba = set(institution_list(get_user("dba.a0801"), InstitutionFilters()).values_list("pk", flat=True))
    new_dba = set(institution_list(get_user("dba.a0802"), InstitutionFilters()).values_list("pk", flat=True))
    assert inst.pk not in old_dba and inst.pk in new_dba
    # An area moved to another region takes its institutions' region with it.
    services.unit_move(actor=get_user("admin"), unit=unit("A0802"), new_parent=unit("W10"))
    inst.refresh_from_db()
    assert inst.region.code == "W10"
    assert inst.pk in set(institution_list(get_user("wil.w10"), InstitutionFilters()).values_list("pk", flat=True))
