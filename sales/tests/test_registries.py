"""Channel registries: the services (permission, validation, audit) and the
pages (lists scoped and paginated with a fixed query count, the create forms
per role, in and out of scope). Data is made through ``sales.services``."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from control.models import AuditEvent
from core.errors import DomainError
from institutions.models import Institution
from sales import services
from sales.models import CorporateAgent, FleetScheme, IndividualAgent, PmpFacility, PointRewardMembership

pytestmark = pytest.mark.django_db


def inst_of(code: str, *, without_points: bool = False) -> Institution:
    qs = Institution.objects.live().filter(branch__code=code).select_related("branch__parent")
    if without_points:
        qs = qs.filter(point_reward__isnull=True)
    inst = qs.order_by("id").first()
    assert inst is not None, f"demo data has no institution in {code}"
    return inst


def fleet(inst: Institution, name: str = "Fleet Ojol", size: int = 100, financed: int = 10, actor: Any = None) -> Any:
    return services.registry_create(
        actor=actor, kind="fleet", institution=inst, name=name, fleet_size=size, vehicles_financed=financed
    )


# --- Services --------------------------------------------------------------------------------------


def test_create_sets_owner_ids_and_records_one_audit_event(get_user: Any) -> None:
    pinca = get_user("pinca.c080101")
    inst = inst_of("C080101")
    before = AuditEvent.objects.count()
    obj = fleet(inst, actor=pinca)
    assert (obj.branch_id, obj.area_id, obj.region_id) == (inst.branch_id, inst.area_id, inst.region_id)
    events = AuditEvent.objects.filter(seq__gt=0).order_by("-id")
    assert AuditEvent.objects.count() == before + 1
    event = events.first()
    assert event is not None and event.action == "sales.fleet.create" and event.object_id == str(obj.pk)
    assert (event.after or {})["vehicles_financed"] == 10


@pytest.mark.parametrize("username", ["me.c080101.1", "sales.c080101.1", "kry.c080101", "agen.c080101", "auditor"])
def test_create_refused_to_roles_that_do_not_manage_registries(get_user: Any, username: str) -> None:
    with pytest.raises(PermissionDenied):
        fleet(inst_of("C080101"), actor=get_user(username))
    assert not FleetScheme.objects.filter(name="Fleet Ojol").exists()


def test_create_refused_outside_scope(get_user: Any) -> None:
    with pytest.raises(PermissionDenied):
        fleet(inst_of("C080102"), actor=get_user("pinca.c080101"))


@pytest.mark.parametrize(
    ("kind", "values", "field", "message"),
    [
        (
            "fleet",
            {"name": "F", "fleet_size": 5, "vehicles_financed": 6},
            "vehicles_financed",
            "melebihi jumlah armada",
        ),
        ("fleet", {"name": "", "fleet_size": 5, "vehicles_financed": 0}, "name", "Wajib diisi"),
        ("fleet", {"name": "F", "fleet_size": -1, "vehicles_financed": 0}, "fleet_size", "negatif"),
        ("fleet", {"name": "F", "fleet_size": "abc", "vehicles_financed": 0}, "fleet_size", "bilangan bulat"),
        (
            "point_reward",
            {"member_code": "CPR-1", "points_earned": 10, "points_redeemed": 11},
            "points_redeemed",
            "melebihi poin diperoleh",
        ),
        ("pmp", {"reference": "PMP-1", "ceiling": 0}, "ceiling", "lebih dari nol"),
        ("pmp", {"reference": "", "ceiling": 1000}, "reference", "Wajib diisi"),
        ("corporate_agent", {"code": "X" * 33}, "code", "32 karakter"),
    ],
)
def test_bad_values_are_refused_with_a_message_and_nothing_written(
    get_user: Any, kind: str, values: dict[str, Any], field: str, message: str
) -> None:
    reg = services.REGISTRIES[kind]
    count, events = reg.model._default_manager.count(), AuditEvent.objects.count()
    with pytest.raises(DomainError) as err:
        services.registry_create(
            actor=get_user("pinca.c080101"), kind=kind, institution=inst_of("C080101", without_points=True), **values
        )
    assert err.value.field == field and message in str(err.value.message)
    assert reg.model._default_manager.count() == count
    assert AuditEvent.objects.count() == events


def test_codes_are_unique_whatever_the_case(get_user: Any) -> None:
    pinca = get_user("pinca.c080101")
    services.registry_create(actor=pinca, kind="corporate_agent", institution=inst_of("C080101"), code="abu-77")
    with pytest.raises(DomainError, match="sudah dipakai"):
        services.registry_create(actor=pinca, kind="corporate_agent", institution=inst_of("C080101"), code="ABU-77")
    assert CorporateAgent.objects.filter(code="ABU-77").count() == 1


def test_one_point_reward_membership_per_institution(get_user: Any) -> None:
    pinca = get_user("pinca.c080101")
    inst = inst_of("C080101", without_points=True)
    services.registry_create(actor=pinca, kind="point_reward", institution=inst, member_code="CPR-A", points_earned=5)
    with pytest.raises(DomainError, match="sudah punya keanggotaan"):
        services.registry_create(actor=pinca, kind="point_reward", institution=inst, member_code="CPR-B")


def test_an_agent_tracks_an_institution_of_its_own_branch_only(get_user: Any, unit: Any) -> None:
    dba = get_user("dba.a0801")
    with pytest.raises(DomainError, match="cabang lain"):
        services.registry_create(
            actor=dba, kind="agent", branch=unit("C080101"), institution=inst_of("C080102"), code="AG-1", name="Ani"
        )
    agent = services.registry_create(actor=dba, kind="agent", branch=unit("C080102"), code="AG-1", name="Ani")
    assert agent.institution is None and agent.branch.code == "C080102"


def test_an_institution_outside_the_scope_is_not_found(get_user: Any, unit: Any) -> None:
    # The branch is the Pinca's; the institution is another region's: the same answer as a missing one.
    with pytest.raises(DomainError, match="Lembaga tidak ditemukan"):
        services.registry_create(
            actor=get_user("pinca.c080101"),
            kind="agent",
            branch=unit("C080101"),
            institution=inst_of("C100101"),
            code="AG-2",
            name="Budi",
        )


def test_update_checks_the_figures_and_records_before_and_after(get_user: Any) -> None:
    pinca = get_user("pinca.c080101")
    obj = fleet(inst_of("C080101"), actor=pinca)
    with pytest.raises(DomainError, match="melebihi jumlah armada"):
        services.registry_update(actor=pinca, obj=obj, vehicles_financed=101)
    obj.refresh_from_db()
    assert obj.vehicles_financed == 10
    services.registry_update(actor=pinca, obj=obj, vehicles_financed=40, is_active=False)
    obj.refresh_from_db()
    assert (obj.vehicles_financed, obj.is_active) == (40, False)
    event = AuditEvent.objects.order_by("-id").first()
    assert event is not None and event.action == "sales.fleet.update"
    assert ((event.before or {})["vehicles_financed"], (event.after or {})["vehicles_financed"]) == (10, 40)
    with pytest.raises(PermissionDenied):
        services.registry_update(actor=get_user("pinca.c080102"), obj=obj, vehicles_financed=1)


# --- Pages -----------------------------------------------------------------------------------------


LISTS = [
    "/penjualan/agen/",
    "/penjualan/agen-badan-usaha/",
    "/penjualan/fleet/",
    "/penjualan/point-reward/",
    "/penjualan/pmp/",
]


@pytest.mark.parametrize("url", LISTS)
def test_lists_are_for_every_role_but_agen(client_for: Any, url: str) -> None:
    assert client_for("agen.c080101").get(url).status_code == 403
    page = client_for("me.c080101.1").get(url)
    assert page.status_code == 200
    assert b"Tambah" not in page.content  # the ME reads, does not manage
    assert "Tambah" in client_for("pinca.c080101").get(url).content.decode()


def test_fleet_list_is_scoped_and_shows_the_figures(client_for: Any) -> None:
    mine = fleet(inst_of("C080101"), name="Armada Kita", size=250, financed=75)
    fleet(inst_of("C080102"), name="Armada Tetangga")
    html = client_for("pinca.c080101").get("/penjualan/fleet/").content.decode()
    assert "Armada Kita" in html and "Armada Tetangga" not in html
    assert f"/lembaga/{mine.operator_id}/" in html and "250" in html and "75" in html
    assert "Armada Tetangga" in client_for("dba.a0801").get("/penjualan/fleet/").content.decode()


def test_point_reward_list_shows_the_balance(client_for: Any) -> None:
    services.registry_create(
        actor=None,
        kind="point_reward",
        institution=inst_of("C080101", without_points=True),
        member_code="CPR-SALDO",
        points_earned=1200,
        points_redeemed=200,
    )
    html = client_for("pinca.c080101").get("/penjualan/point-reward/").content.decode()
    assert "CPR-SALDO" in html and ("1.000" in html or "1,000" in html)


def test_list_query_count_does_not_grow_with_its_rows(client_for: Any) -> None:
    c = client_for("dba.a0801")
    inst_a, inst_b = inst_of("C080101"), inst_of("C080102")
    fleet(inst_a, name="Q0")
    c.get("/penjualan/fleet/")  # warm caches (sessions, content types)
    with CaptureQueriesContext(connection) as few:
        assert c.get("/penjualan/fleet/").status_code == 200
    for i in range(30):
        fleet(inst_a if i % 2 else inst_b, name=f"Q{i + 1}")
    with CaptureQueriesContext(connection) as many:
        assert c.get("/penjualan/fleet/").status_code == 200
    assert len(many) == len(few)


def test_pinca_adds_a_fleet_scheme_from_the_form(client_for: Any) -> None:
    c = client_for("pinca.c080101")
    inst = inst_of("C080101")
    form = c.get("/penjualan/fleet/baru/")
    assert form.status_code == 200 and inst.name in form.content.decode()
    r = c.post(
        "/penjualan/fleet/baru/",
        {"institution": inst.pk, "name": "Ojol Sejahtera", "fleet_size": 300, "vehicles_financed": 20},
    )
    assert r.status_code == 302 and r["Location"] == "/penjualan/fleet/"
    obj = FleetScheme.objects.get(name="Ojol Sejahtera")
    assert obj.operator_id == inst.pk and obj.branch.code == "C080101"
    assert AuditEvent.objects.filter(action="sales.fleet.create", object_id=str(obj.pk)).count() == 1


def test_the_form_shows_the_service_message_and_writes_nothing(client_for: Any) -> None:
    c = client_for("pinca.c080101")
    inst = inst_of("C080101")
    r = c.post(
        f"/penjualan/fleet/baru/?institution={inst.pk}",
        {"name": "Terlalu Banyak", "fleet_size": 5, "vehicles_financed": 9},
    )
    assert r.status_code == 400
    assert "Kendaraan dibiayai tidak boleh melebihi jumlah armada." in r.content.decode()
    assert not FleetScheme.objects.filter(name="Terlalu Banyak").exists()


def test_pmp_form_refuses_a_zero_ceiling(client_for: Any) -> None:
    r = client_for("pinca.c080101").post(
        f"/penjualan/pmp/baru/?institution={inst_of('C080101').pk}", {"reference": "PMP-NOL", "ceiling": 0}
    )
    assert r.status_code == 400 and not PmpFacility.objects.filter(reference="PMP-NOL").exists()


def test_an_institution_of_another_branch_cannot_be_posted_into_the_select(client_for: Any) -> None:
    r = client_for("pinca.c080101").post(
        "/penjualan/fleet/baru/", {"institution": inst_of("C080102").pk, "name": "Nyasar", "fleet_size": 1}
    )
    assert r.status_code == 400 and not FleetScheme.objects.filter(name="Nyasar").exists()


@pytest.mark.parametrize("username", ["me.c080101.1", "sales.c080101.1", "agen.c080101", "auditor", "mitra.pms"])
def test_create_form_refused_to_other_roles(client_for: Any, username: str) -> None:
    c = client_for(username)
    assert c.get("/penjualan/pmp/baru/").status_code == 403
    assert (
        c.post(
            f"/penjualan/pmp/baru/?institution={inst_of('C080101').pk}", {"reference": "P", "ceiling": 5}
        ).status_code
        == 403
    )
    assert not PmpFacility.objects.filter(reference="P").exists()


def test_create_form_for_an_institution_out_of_scope_is_404(client_for: Any) -> None:
    c = client_for("pinca.c080101")
    assert c.get(f"/penjualan/fleet/baru/?institution={inst_of('C080102').pk}").status_code == 404
    assert c.get("/penjualan/fleet/baru/?institution=99999999999999999999").status_code == 404


def test_dba_chooses_the_branch_then_adds_an_agent_without_institution(client_for: Any, unit: Any) -> None:
    c = client_for("dba.a0801")
    chooser = c.get("/penjualan/agen/baru/").content.decode()
    assert "C080101" in chooser and "C080102" in chooser and 'name="code"' not in chooser
    branch = unit("C080102")
    assert c.get(f"/penjualan/agen/baru/?branch={unit('C100101').pk}").status_code == 404
    r = c.post(f"/penjualan/agen/baru/?branch={branch.pk}", {"institution": "", "code": "ag-dba-1", "name": "Siti"})
    assert r.status_code == 302
    agent = IndividualAgent.objects.get(code="AG-DBA-1")
    assert agent.branch_id == branch.pk and agent.institution is None


def test_point_reward_form_sets_the_membership(client_for: Any) -> None:
    inst = inst_of("C080101", without_points=True)
    r = client_for("pinca.c080101").post(
        f"/penjualan/point-reward/baru/?institution={inst.pk}",
        {"member_code": "CPR-FORM", "points_earned": 50, "points_redeemed": 60},
    )
    assert r.status_code == 400 and "Poin ditukar tidak boleh melebihi poin diperoleh." in r.content.decode()
    assert not PointRewardMembership.objects.filter(member_code="CPR-FORM").exists()
