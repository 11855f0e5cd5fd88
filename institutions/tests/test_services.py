"""Rules of the registry services: duplicates, ownership, merge, contacts under UU PDP."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from control.models import AuditEvent
from core.errors import DomainError
from institutions import scoring, services
from institutions.models import Contact, Institution, Ownership, PersonalDataAccess
from institutions.normalise import name_key, npwp_is_valid
from institutions.tests.factories import make_institution

pytestmark = pytest.mark.django_db


def _contact(inst: Institution, **extra: Any) -> Contact:
    values = {
        "name": "Siti Rahma",
        "position": "Kepala Bagian SDM",
        "phone": "0812-3456-7890",
        "email": "siti@lembaga.example",
        "purpose": "Koordinasi kerja sama",
        "lawful_basis": "KONTRAK",
    }
    values.update(extra)
    return services.contact_create(actor=None, institution=inst, **values)


# --- Normalisation -----------------------------------------------------------------------


def test_name_key_drops_legal_forms_punctuation_and_case() -> None:
    assert name_key("PT. Bank Mandiri (Persero) Tbk.") == "bank mandiri"
    assert name_key("  bank   MANDIRI ") == "bank mandiri"
    assert name_key("CV Maju-Jaya") == "maju jaya"


@pytest.mark.parametrize(
    ("value", "ok"),
    [("01.234.567.8-901.000", True), ("012345678901000", True), ("3201234567890001", True), ("12345", False)],
)
def test_npwp_format(value: str, ok: bool) -> None:
    assert npwp_is_valid(value) is ok


# --- NPWP and similar names --------------------------------------------------------------


def test_same_npwp_is_refused_whatever_its_formatting() -> None:
    make_institution(npwp="01.234.567.8-901.000")
    with pytest.raises(DomainError) as err:
        make_institution(npwp="012345678901000")
    assert err.value.field == "npwp" and err.value.code == "npwp_taken"
    assert Institution.objects.filter(npwp="012345678901000").count() == 1


def test_bad_npwp_is_refused_and_nothing_written() -> None:
    before = Institution.objects.count()
    with pytest.raises(DomainError) as err:
        make_institution(npwp="01.234")
    assert err.value.field == "npwp"
    assert Institution.objects.count() == before


def test_similar_name_in_same_city_is_flagged_until_confirmed() -> None:
    first = make_institution(name="PT Sinar Harapan Abadi Tbk")
    with pytest.raises(services.PossibleDuplicate) as err:
        make_institution(name="Sinar Harapan Abadi", confirm_distinct=False)
    assert [m.pk for m in err.value.matches] == [first.pk]
    assert err.value.as_dict()["possible_duplicates"][0]["id"] == first.pk
    # A close spelling is flagged too.
    with pytest.raises(services.PossibleDuplicate):
        make_institution(name="PT Sinar Harapan Abadii", confirm_distinct=False)
    # The same name in another city is another institution.
    make_institution(name="Sinar Harapan Abadi", regency_code="31.73", confirm_distinct=False)
    # Confirmed as distinct: saved.
    make_institution(name="Sinar Harapan Abadi", confirm_distinct=True)


def test_unknown_area_and_regency_outside_province_are_refused() -> None:
    with pytest.raises(DomainError) as err:
        make_institution(province_code="31", regency_code="32.73")
    assert err.value.field == "regency_code"
    with pytest.raises(DomainError) as err:
        make_institution(province_code="99", regency_code="31.71")
    assert err.value.field == "province_code"


# --- Ownership -------------------------------------------------------------------------


def test_me_registers_in_own_branch_and_becomes_its_me(get_user: Any) -> None:
    me = get_user("me.c080101.1")
    inst = services.institution_create(
        actor=me, name="Sekolah Dasar Negeri Uji 01", type="SEKOLAH", province_code="31", regency_code="31.71"
    )
    assert inst.branch.code == "C080101" and inst.me == me
    assert inst.area.code == "A0801" and inst.region.code == "W08"
    assert Ownership.objects.get(institution=inst, valid_to__isnull=True).me == me
    assert AuditEvent.objects.filter(action="institution.create", object_id=str(inst.pk)).exists()


def test_me_cannot_register_in_another_branch(get_user: Any, unit: Any) -> None:
    with pytest.raises(PermissionDenied):
        make_institution(branch=unit("C080102"), actor=get_user("me.c080101.1"))


def test_me_edits_only_what_is_assigned_to_them(get_user: Any) -> None:
    me = get_user("me.c080101.1")
    mine = make_institution(me=me)
    other = make_institution(me=get_user("me.c080101.2"))
    services.institution_update(actor=me, institution=mine, member_count=999)
    with pytest.raises(PermissionDenied):
        services.institution_update(actor=me, institution=other, member_count=999)


def test_assigned_me_must_be_posted_to_the_branch(get_user: Any) -> None:
    with pytest.raises(DomainError) as err:
        make_institution(branch="C080101", me=get_user("me.c080102.1"))
    assert err.value.field == "me"


def test_reassignment_keeps_history_and_is_audited(get_user: Any, unit: Any) -> None:
    inst = make_institution(me=get_user("me.c080101.1"))
    pinca = get_user("pinca.c080101")
    services.institution_reassign(actor=pinca, institution=inst, me=get_user("me.c080101.2"), reason="Beban kerja")
    # A branch move needs a reason and a DBA (or above); the Pinca may not.
    with pytest.raises(PermissionDenied):
        services.institution_reassign(actor=pinca, institution=inst, branch=unit("C080102"), reason="x")
    dba = get_user("dba.a0801")
    with pytest.raises(DomainError):
        services.institution_reassign(actor=dba, institution=inst, branch=unit("C080102"))
    services.institution_reassign(actor=dba, institution=inst, branch=unit("C080102"), reason="Wilayah kerja")
    inst.refresh_from_db()
    assert inst.branch.code == "C080102" and inst.me is None
    history = list(Ownership.objects.filter(institution=inst).order_by("valid_from", "id"))
    assert [o.branch.code for o in history] == ["C080101", "C080101", "C080102"]
    assert [o.valid_to is None for o in history] == [False, False, True]
    assert AuditEvent.objects.filter(action="institution.reassign", object_id=str(inst.pk)).count() == 2
    # The DBA cannot move it out of the area.
    with pytest.raises(PermissionDenied):
        services.institution_reassign(actor=dba, institution=inst, branch=unit("C080201"), reason="x")


# --- Merge ------------------------------------------------------------------------------


def test_merge_moves_everything_to_the_survivor(get_user: Any) -> None:
    survivor = make_institution(name="Koperasi Pegawai Bina Usaha")
    dup = make_institution(name="Kop. Pegawai Bina Usaha", npwp="02.345.678.9-012.000", notes="catatan lama")
    _contact(dup)
    child = make_institution(name="Koperasi Pegawai Bina Usaha Unit Timur", parent=dup)
    services.institution_merge(actor=get_user("pinca.c080101"), duplicate=dup, survivor=survivor, reason="Ganda")
    dup.refresh_from_db()
    survivor.refresh_from_db()
    child.refresh_from_db()
    assert dup.status == "DIGABUNG" and dup.merged_into == survivor and dup.npwp is None
    assert survivor.npwp == "023456789012000"
    assert survivor.contacts.count() == 1 and dup.contacts.count() == 0
    assert child.parent == survivor
    assert "catatan lama" in survivor.notes
    assert not Institution.objects.live().filter(pk=dup.pk).exists()
    event = AuditEvent.objects.get(action="institution.merge")
    assert event.after["merged"] == dup.pk and event.after["moved"]["institutions.contact.institution"] == 1


def test_merge_needs_a_pinca_or_above_with_both_in_scope(get_user: Any) -> None:
    a = make_institution(me=get_user("me.c080101.1"))
    b = make_institution(me=get_user("me.c080101.1"))
    far = make_institution(branch="C100101", province_code="32", regency_code="32.73")
    with pytest.raises(PermissionDenied):
        services.institution_merge(actor=get_user("me.c080101.1"), duplicate=a, survivor=b)
    with pytest.raises(PermissionDenied):
        services.institution_merge(actor=get_user("pinca.c080101"), duplicate=a, survivor=far)
    with pytest.raises(DomainError):
        services.institution_merge(actor=get_user("pinca.c080101"), duplicate=a, survivor=a)
    services.institution_merge(actor=get_user("dba.a0801"), duplicate=a, survivor=b)
    with pytest.raises(DomainError):
        services.institution_merge(actor=get_user("dba.a0801"), duplicate=a, survivor=b)


# --- Contacts under UU PDP ---------------------------------------------------------------------


def test_contact_needs_purpose_and_lawful_basis() -> None:
    inst = make_institution()
    with pytest.raises(DomainError) as err:
        _contact(inst, purpose="")
    assert err.value.field == "purpose"
    with pytest.raises(DomainError) as err:
        _contact(inst, lawful_basis="KARENA_INGIN")
    assert err.value.field == "lawful_basis"
    assert inst.contacts.count() == 0


def test_erase_removes_the_person_and_keeps_the_row(get_user: Any) -> None:
    inst = make_institution(me=get_user("me.c080101.1"))
    c = _contact(inst)
    with pytest.raises(DomainError):
        services.contact_erase(actor=get_user("me.c080101.1"), contact=c, reason="")
    services.contact_erase(actor=get_user("me.c080101.1"), contact=c, reason="Permintaan subjek data 1/2026")
    c.refresh_from_db()
    assert c.is_erased and c.phone == "" and c.email == "" and c.position == "" and "Siti" not in c.name
    assert inst.contacts.count() == 1  # figures that count contacts still add up
    events = AuditEvent.objects.filter(object_type="institutions.contact", object_id=str(c.pk))
    assert {e.action for e in events} == {"contact.create", "contact.erase"}
    # The person never enters the append-only audit chain.
    for e in events:
        assert "Siti" not in str(e.after) and "0812" not in str(e.after)


def test_restrict_and_lift(get_user: Any) -> None:
    inst = make_institution(me=get_user("me.c080101.1"))
    c = _contact(inst)
    pinca = get_user("pinca.c080101")
    services.contact_restrict(actor=pinca, contact=c, reason="Keberatan subjek data")
    c.refresh_from_db()
    assert c.is_restricted
    with pytest.raises(DomainError):
        services.contact_restrict(actor=pinca, contact=c, reason="lagi")
    services.contact_restrict(actor=pinca, contact=c, restrict=False, reason="Persetujuan baru")
    c.refresh_from_db()
    assert not c.is_restricted
    assert AuditEvent.objects.filter(action__in=["contact.restrict", "contact.unrestrict"]).count() == 2
    with pytest.raises(PermissionDenied):
        services.contact_restrict(actor=get_user("sales.c080101.1"), contact=c, reason="x")


def test_reads_outside_the_branch_are_logged(get_user: Any) -> None:
    inst = make_institution()
    c = _contact(inst)
    restricted = _contact(inst, name="Agus")
    services.contact_restrict(actor=None, contact=restricted, reason="Permintaan")
    restricted.refresh_from_db()
    assert services.contact_reads_log(actor=get_user("me.c080101.1"), contacts=[c], channel="web") == 0
    assert services.contact_reads_log(actor=get_user("dba.a0801"), contacts=[c, restricted], channel="web") == 1
    assert services.contact_reads_log(actor=get_user("auditor"), contacts=[c], channel="api") == 1
    log = list(PersonalDataAccess.objects.filter(contact=c).order_by("id"))
    assert [(x.user.username, x.channel, x.role) for x in log] == [
        ("dba.a0801", "web", "DBA"),
        ("auditor", "api", "AUDITOR"),
    ]


# --- Score -------------------------------------------------------------------------------


def test_score_parts_add_up_and_rank_bigger_nearer_higher(unit: Any) -> None:
    branch = unit("C080101")
    big = make_institution(
        type="BUMN_BUMD",
        member_count=20_000,
        potential_value=80_000_000_000,
        latitude=branch.latitude,
        longitude=branch.longitude,
    )
    small = make_institution(type="KOMUNITAS", member_count=30, potential_value=10_000_000, regency_code="31.73")
    s = scoring.for_institution(big)
    assert big.score == s.total == 100
    assert abs(sum(p.points for p in s.parts) - s.total) <= 1
    assert 0 <= small.score < 40
    far = scoring.compute(
        member_count=500,
        type="SEKOLAH",
        potential_value=1,
        latitude=-6.9,
        longitude=107.6,
        regency_code="32.73",
        branch=branch,
    )
    near = scoring.compute(
        member_count=500,
        type="SEKOLAH",
        potential_value=1,
        latitude=branch.latitude,
        longitude=branch.longitude,
        regency_code="31.71",
        branch=branch,
    )
    assert far.parts[3].points == 0 and near.parts[3].points == scoring.DISTANCE_POINTS
    assert far.distance_km and far.distance_km > 100


def test_worked_example_of_the_docs() -> None:
    class Branch:
        latitude = longitude = None
        regency_code = "31.71"

    s = scoring.compute(
        member_count=2500,
        type="BUMN_BUMD",
        potential_value=5_000_000_000,
        latitude=None,
        longitude=None,
        regency_code="31.71",
        branch=Branch(),
    )
    assert [p.points for p in s.parts] == [24.0, 20.0, 25.5, 13.3]
    assert s.total == 83 and s.distance_estimated


def test_recompute_scores_after_a_branch_moves_its_office(unit: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    branch = unit("C080101")
    inst = make_institution(latitude=branch.latitude, longitude=branch.longitude, member_count=2000)
    before = inst.score
    # The office moves ~100 km away: the stored score is stale until recomputed.
    type(branch).objects.filter(pk=branch.pk).update(latitude=branch.latitude + 1)
    out = StringIO()
    call_command("recompute_scores", stdout=out)
    inst.refresh_from_db()
    assert inst.score < before and inst.distance_km and inst.distance_km > 100
    assert "score(s) changed" in out.getvalue()
    assert AuditEvent.objects.filter(action="institution.scores_recompute").count() == 1
    call_command("recompute_scores", stdout=out)  # nothing left to change
    assert AuditEvent.objects.filter(action="institution.scores_recompute").order_by("seq").last().after["changed"] == 0
