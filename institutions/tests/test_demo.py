"""The small demo registry (loaded once per test database by the root conftest)."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.core.management import call_command
from django.db.models import Count, Min

from control.models import AuditEvent
from institutions import demo
from institutions.models import Contact, Institution, InstitutionStatus, LawfulBasis, Ownership
from institutions.normalise import name_key
from org.models import OrgUnit, Placement, UnitKind

pytestmark = pytest.mark.django_db


def test_about_three_hundred_institutions_in_every_branch() -> None:
    assert 280 <= Institution.objects.count() <= 320
    per_branch = dict(Institution.objects.values_list("branch__code").annotate(n=Count("id")))
    branches = set(OrgUnit.objects.filter(kind=UnitKind.CABANG).values_list("code", flat=True))
    assert set(per_branch) == branches and len(branches) == 12
    assert min(per_branch.values()) >= 5


def test_area_and_region_are_the_branch_ancestors() -> None:
    for inst in Institution.objects.select_related("branch__parent"):
        assert inst.area_id == inst.branch.parent_id
        assert inst.region_id == inst.branch.parent.parent_id
        assert inst.province_code == inst.regency_code[:2]


def test_an_assigned_me_is_posted_to_the_branch() -> None:
    posted = set(Placement.objects.filter(valid_to__isnull=True).values_list("user_id", "branch_id"))
    assigned = list(Institution.objects.exclude(me=None).values_list("me_id", "branch_id"))
    assert len(assigned) > 0.6 * Institution.objects.count()
    assert set(assigned) <= posted


def test_npwps_are_unique_and_fifteen_digits() -> None:
    npwps = list(Institution.objects.exclude(npwp=None).values_list("npwp", flat=True))
    assert len(npwps) > 0.4 * Institution.objects.count()
    assert len(set(npwps)) == len(npwps)
    assert all(re.fullmatch(r"\d{15}", n) for n in npwps)


def test_first_institution_of_a_branch_is_active_with_the_first_me() -> None:
    firsts = Institution.objects.values("branch").annotate(first=Min("id")).values_list("first", flat=True)
    for inst in Institution.objects.filter(id__in=firsts).select_related("branch", "me"):
        assert inst.status == InstitutionStatus.AKTIF
        assert inst.me is not None and inst.me.username == f"me.{inst.branch.code.lower()}.1"


def test_every_institution_has_a_contact_with_purpose_and_lawful_basis() -> None:
    without = Institution.objects.annotate(n=Count("contacts")).filter(n=0)
    assert not without.exists()
    assert not Contact.objects.filter(purpose="").exists()
    assert set(Contact.objects.values_list("lawful_basis", flat=True)) <= {LawfulBasis.KONTRAK, LawfulBasis.PERSETUJUAN}
    assert all(c.phone.startswith("08") and "@" in c.email for c in Contact.objects.all())


def test_no_two_live_institutions_of_a_regency_share_a_name_key() -> None:
    rows = list(Institution.objects.live().values_list("regency_code", "name_key", "name"))
    assert all(key == name_key(name) for _, key, name in rows)
    dupes = [k for k, n in Counter((r, k) for r, k, _ in rows).items() if n > 1]
    assert dupes == []


def test_one_open_ownership_each_and_a_plausible_score() -> None:
    assert Ownership.objects.filter(valid_to__isnull=True).count() == Institution.objects.count()
    owners = dict(Ownership.objects.values_list("institution_id", "branch_id"))
    assert owners == dict(Institution.objects.values_list("id", "branch_id"))
    scores = list(Institution.objects.values_list("score", flat=True))
    assert min(scores) >= 0 and max(scores) <= 100 and len(set(scores)) > 20


def test_head_offices_have_regional_children() -> None:
    pos = Institution.objects.get(name="PT Pos Indonesia (Persero)")
    assert pos.parent is None and pos.status == InstitutionStatus.AKTIF
    assert Institution.objects.filter(parent__isnull=False).exists()


def test_located_institutions_lie_near_their_branch() -> None:
    near = Institution.objects.exclude(latitude=None).exclude(distance_km=None)
    assert near.count() > 0.5 * Institution.objects.count()
    same_regency = [i for i in near.select_related("branch") if i.regency_code == i.branch.regency_code]
    assert same_regency and all(float(i.distance_km) <= demo.NEAR_BRANCH_KM + 0.5 for i in same_regency)  # type: ignore[arg-type]


def test_running_again_adds_no_institutions() -> None:
    before = (Institution.objects.count(), Contact.objects.count(), Ownership.objects.count())
    events = AuditEvent.objects.count()
    call_command("demo_data", scale="small", seed=1, no_progress=True, verbosity=0)
    assert (Institution.objects.count(), Contact.objects.count(), Ownership.objects.count()) == before
    assert AuditEvent.objects.count() == events


def test_the_load_is_one_audit_event() -> None:
    events = AuditEvent.objects.filter(action="demo.load", object_type="institutions.demo")
    assert events.count() == 1
    assert events.get().after["institutions"] == Institution.objects.count()


def test_units_have_a_regency_and_coordinates() -> None:
    assert not OrgUnit.objects.filter(regency_code="").exists()
    assert not OrgUnit.objects.filter(latitude=None).exists()
    assert not OrgUnit.objects.filter(longitude=None).exists()
    # Two branches of one regency are not on the same spot.
    spots = list(OrgUnit.objects.filter(kind=UnitKind.CABANG).values_list("latitude", "longitude"))
    assert len(set(spots)) == len(spots)
    assert OrgUnit.objects.get(code="PST").regency_code == "31.71"
