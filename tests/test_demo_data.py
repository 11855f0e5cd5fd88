"""demo_data and demo_users: shape, idempotency, determinism."""

from __future__ import annotations

import json
import random
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from faker import Faker

from org.demo import SCALES, plan_units, plan_users
from org.models import ROLE_UNIT_KINDS, OrgUnit, Role, RoleAssignment, UnitKind, User

pytestmark = pytest.mark.django_db


def test_small_network_has_the_promised_shape() -> None:
    counts = {k: OrgUnit.objects.filter(kind=k).count() for k in UnitKind.values}
    assert counts == {"PUSAT": 1, "UNIT_KERJA": 6, "WILAYAH": 2, "AREA": 4, "CABANG": 12, "UPC": 24}


def test_every_role_lives_in_each_place_it_belongs() -> None:
    """At least one user of every role in each unit of the kinds that role lives in
    (Mitra in the partner work units, Auditor in internal control, Pusat in business)."""
    active = RoleAssignment.objects.active()
    for kind, roles in {
        UnitKind.WILAYAH: [Role.WILAYAH],
        UnitKind.AREA: [Role.DBA],
        UnitKind.CABANG: [Role.PINCA, Role.ME, Role.SALES, Role.KARYAWAN, Role.AGEN],
    }.items():
        for u in OrgUnit.objects.filter(kind=kind):
            held = set(active.filter(unit=u).values_list("role", flat=True))
            assert set(roles) <= held, (u.code, set(roles) - held)
    for role in (Role.ADMIN, Role.PUSAT, Role.AUDITOR, Role.MITRA):
        assignments = active.filter(role=role).select_related("unit")
        assert assignments.exists()
        assert all(a.unit.kind in ROLE_UNIT_KINDS[role] for a in assignments)
    assert active.filter(role=Role.KARYAWAN, unit__kind=UnitKind.UPC).exists()
    assert active.filter(user__username="plt.dba").count() == 2


def test_running_twice_adds_nothing() -> None:
    before = (OrgUnit.objects.count(), User.objects.count(), RoleAssignment.objects.count())
    out = StringIO()
    call_command("demo_data", scale="small", seed=1, no_progress=True, stdout=out)
    assert "units=0, users=0, assignments=0, placements=0" in out.getvalue()
    assert (OrgUnit.objects.count(), User.objects.count(), RoleAssignment.objects.count()) == before


def test_if_empty_skips_a_loaded_database() -> None:
    out = StringIO()
    call_command("demo_data", scale="small", if_empty=True, stdout=out)
    assert "not loaded" in out.getvalue()


def _plan(seed: int, scale: str = "small") -> tuple[list[Any], list[Any]]:
    rng = random.Random(seed)
    fake = Faker("id_ID")
    fake.seed_instance(seed)
    units = plan_units(SCALES[scale], rng)
    return units, plan_users(SCALES[scale], units, rng, fake)


def test_same_seed_same_data_other_seed_other_names() -> None:
    a_units, a_users = _plan(7)
    b_units, b_users = _plan(7)
    c_units, c_users = _plan(8)
    assert [(u.code, u.name) for u in a_units] == [(u.code, u.name) for u in b_units]
    assert [(u.username, u.first_name, u.last_name) for u in a_users] == [
        (u.username, u.first_name, u.last_name) for u in b_users
    ]
    assert [(u.first_name, u.last_name) for u in a_users] != [(u.first_name, u.last_name) for u in c_users]


def test_national_plan_has_the_real_network() -> None:
    units, users = _plan(1, "national")
    kinds: dict[str, int] = {}
    for u in units:
        kinds[u.kind] = kinds.get(u.kind, 0) + 1
    assert kinds == {"PUSAT": 1, "UNIT_KERJA": 6, "WILAYAH": 12, "AREA": 61, "CABANG": 640, "UPC": 3450}
    wilayah = sorted(u.name for u in units if u.kind == UnitKind.WILAYAH)
    assert "Kantor Wilayah VIII Jakarta 1" in wilayah and "Kantor Wilayah XII Surabaya" in wilayah
    roles: dict[str, int] = {}
    for p in users:
        for role, _ in p.roles:
            roles[role] = roles.get(role, 0) + 1
    assert roles[Role.ME] == 1500
    assert sum(1 for p in users if p.roles[0][0] != Role.AGEN) == 15000
    assert len({p.username for p in users}) == len(users)
    assert len({u.code for u in units}) == len(units)


def test_demo_users_json_lists_every_login() -> None:
    out = StringIO()
    call_command("demo_users", json=True, stdout=out)
    rows = json.loads(out.getvalue())
    assert {"username", "password", "role", "unit_code", "unit_path"} == set(rows[0])
    assert {r["role"] for r in rows} == set(Role.values)
    assert any(r["username"] == "me.c080101.1" and r["unit_path"].endswith("/C080101/") for r in rows)
    # The printed password really opens the account.
    user = User.objects.get(username=rows[0]["username"])
    assert user.check_password(rows[0]["password"])


def test_demo_users_only_lists_demo_accounts(get_user: Any) -> None:
    from org import services

    real = services.user_create(actor=None, username="nyata", password=None)
    services.role_assign(actor=None, user=real, role=Role.SALES, unit=OrgUnit.objects.get(code="C080101"))
    out = StringIO()
    call_command("demo_users", json=True, stdout=out)
    assert "nyata" not in {r["username"] for r in json.loads(out.getvalue())}


def _drop_registry() -> None:
    """Back to a database from before the registry: no institutions, nor anything hanging on them."""
    from activities.models import Activity, Lead, MaintenancePlan, MaintenanceVisit
    from institutions.models import Contact, Institution, Ownership, StageChange
    from performance import models as performance
    from sales import models as sales

    for model in (
        performance.Task,
        performance.MeEvaluation,
        performance.Target,
        performance.KpiFact,
        performance.MeFact,
        performance.RegionDayFact,
        performance.BranchDayFact,
        performance.RegionMonthFact,
        performance.KpiDirty,
        sales.ClosingRevision,
        sales.Closing,
        sales.ClosingSummary,
        sales.IndividualAgent,
        sales.CorporateAgent,
        sales.FleetScheme,
        sales.PointRewardMembership,
        sales.PmpFacility,
        Lead,
        MaintenanceVisit,
        Activity,
        MaintenancePlan,
        StageChange,
        Contact,
        Ownership,
        Institution,
    ):
        model.objects.all().delete()


def test_if_empty_completes_a_demo_database_from_an_earlier_version() -> None:
    """A demo database made before the registry existed gets its institutions on `make run`."""

    _drop_registry()
    out = StringIO()
    call_command("demo_data", scale="small", if_empty=True, no_progress=True, stdout=out)
    assert "institutions=300" in out.getvalue()


def test_if_empty_never_touches_real_data() -> None:
    from institutions.models import Institution

    _drop_registry()
    User.objects.filter(is_demo=True).update(is_demo=False)
    out = StringIO()
    call_command("demo_data", scale="small", if_empty=True, no_progress=True, stdout=out)
    assert "not loaded" in out.getvalue() and not Institution.objects.exists()
