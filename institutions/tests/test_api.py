"""The institutions REST API: scope per role, filters, create/update through the
services, contacts under UU PDP, and a list whose query count does not grow
with the page."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from conftest import DEMO_PASSWORD
from control.models import AuditEvent
from institutions import services
from institutions.models import Contact, Institution, Ownership, PersonalDataAccess
from institutions.normalise import name_key
from institutions.tests.authz_api import PATCH_ENDPOINTS
from org.models import OrgUnit
from tests.authz import ROLES

pytestmark = pytest.mark.django_db

URL = "/api/v1/institutions/"
# A word no demo institution has, so a search isolates the rows a test made.
TOKEN = "Zulvaniq"
AREA = {"C080101": ("31", "31.73"), "C080201": ("36", "36.02"), "C100101": ("32", "32.02")}


def _make(name: str, branch: str = "C080101", *, me: Any = None, **kw: Any) -> Institution:
    province, regency = AREA.get(branch, ("31", "31.71"))
    kw.setdefault("type", "KOPERASI")
    kw.setdefault("province_code", province)
    kw.setdefault("regency_code", regency)
    return services.institution_create(
        actor=None, name=name, branch=OrgUnit.objects.get(code=branch), me=me, confirm_distinct=True, **kw
    )


def _contact(inst: Institution, name: str, phone: str = "081234567890", email: str = "") -> Contact:
    return services.contact_create(
        actor=None,
        institution=inst,
        name=name,
        position="Kepala Bagian Umum",
        phone=phone,
        email=email,
        purpose="Koordinasi kerja sama",
        lawful_basis="KEPENTINGAN_SAH",
    )


def _post(c: Client, url: str, body: dict[str, Any]) -> Any:
    return c.post(url, body, content_type="application/json")


def _patch(c: Client, url: str, body: dict[str, Any]) -> Any:
    return c.patch(url, body, content_type="application/json")


def _names(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [r["name"] for r in response.json()["results"]]


def _new_body(**kw: Any) -> dict[str, Any]:
    body = {
        "name": f"Koperasi Pegawai {TOKEN} Sejahtera",
        "type": "KOPERASI",
        "sector": "KEUANGAN",
        "province_code": "31",
        "regency_code": "31.73",
        "address": "Jl. Letjen S. Parman No. 1",
        "member_count": 850,
        "potential_value": 1500000000,
        "potential_basis": "850 anggota x Rp1,7 juta",
    }
    body.update(kw)
    return body


# --- Scope ------------------------------------------------------------------------------


@pytest.fixture
def three_branches() -> dict[str, Institution]:
    return {
        code: _make(f"Yayasan {TOKEN} {code}", code, npwp=f"99887766{i}000{i:03d}")
        for i, code in enumerate(("C080101", "C080201", "C100101"))
    }


@pytest.mark.parametrize(
    ("username", "branches"),
    [
        ("me.c080101.1", {"C080101"}),
        ("pinca.c080101", {"C080101"}),
        ("sales.c080101.1", {"C080101"}),
        ("agen.c080101", {"C080101"}),
        ("dba.a0801", {"C080101"}),
        ("wil.w08", {"C080101", "C080201"}),
        ("pusat", {"C080101", "C080201", "C100101"}),
        ("auditor", {"C080101", "C080201", "C100101"}),
    ],
)
def test_list_is_scoped_to_the_role(client_for: Any, three_branches: Any, username: str, branches: set[str]) -> None:
    r = client_for(username).get(URL, {"q": TOKEN})
    assert r.status_code == 200
    data = r.json()
    assert {row["branch"]["code"] for row in data["results"]} == branches
    assert data["count"] == len(branches)


def test_retrieve_out_of_scope_is_the_same_404_as_missing(client_for: Any, three_branches: Any) -> None:
    c = client_for("me.c080101.1")
    other = three_branches["C100101"]
    hidden, missing = c.get(f"{URL}{other.pk}/"), c.get(f"{URL}999999999/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert other.name.encode() not in hidden.content
    for sub in ("contacts/",):
        assert c.get(f"{URL}{other.pk}/{sub}").status_code == 404
    assert _patch(c, f"{URL}{other.pk}/", {"notes": "x"}).status_code == 404


def test_retrieve_shows_the_documented_fields(client_for: Any, get_user: Any) -> None:
    parent = _make(f"Kementerian {TOKEN} Pusat", "C080101", type="INSTANSI")
    inst = _make(
        f"Kantor Wilayah {TOKEN}",
        "C080101",
        me=get_user("me.c080101.1"),
        type="INSTANSI",
        parent=parent,
        npwp="01.234.567.8-901.000",
        member_count=1200,
        potential_value=2500000000,
        latitude="-6.1900",
        longitude="106.7970",
    )
    r = client_for("pinca.c080101").get(f"{URL}{inst.pk}/")
    assert r.status_code == 200
    d = r.json()
    assert d["id"] == inst.pk and d["name"] == inst.name
    assert d["type"] == "INSTANSI" and d["type_label"] == "Instansi pemerintah (ASN)"
    assert d["parent"] == parent.pk
    assert d["province_code"] == "31" and d["province_name"]
    assert d["regency_code"] == "31.73" and "Jakarta Barat" in d["regency_name"]
    assert d["npwp"] == "012345678901000"
    assert d["potential_value"] == "2500000000"
    assert d["branch"] == {"id": inst.branch_id, "code": "C080101", "name": inst.branch.name}
    assert d["me"]["id"] == get_user("me.c080101.1").pk and d["me"]["name"]
    assert d["status"] == "AKTIF" and 0 <= d["score"] <= 100
    assert d["latitude"] == "-6.190000" and d["distance_km"] is not None
    for key in ("sector", "address", "member_count", "potential_basis", "notes", "created_at", "updated_at"):
        assert key in d


def test_token_auth_and_anonymous(three_branches: Any) -> None:
    assert Client().get(URL).status_code == 401
    token = _post(Client(), "/api/v1/auth/token/", {"username": "dba.a0801", "password": DEMO_PASSWORD}).json()["token"]
    r = Client().get(URL, {"q": TOKEN}, HTTP_AUTHORIZATION=f"Token {token}")
    assert [row["branch"]["code"] for row in r.json()["results"]] == ["C080101"]


# --- Filters, search, sort ------------------------------------------------------------------


@pytest.fixture
def filter_rows(get_user: Any) -> dict[str, Institution]:
    me = get_user("me.c080101.1")
    return {
        "a": _make(f"Koperasi {TOKEN} Amanah", "C080101", me=me, npwp="997711223344556", member_count=50),
        "b": _make(f"Sekolah {TOKEN} Bakti", "C080101", type="SEKOLAH", member_count=400),
        "c": _make(
            f"PT {TOKEN} Cahaya Logistik",
            "C080201",
            type="SWASTA",
            member_count=9000,
            potential_value=40_000_000_000,
            status="TIDAK_AKTIF",
        ),
        "d": _make(
            f"Perumda {TOKEN} Dirgantara", "C080101", type="BUMN_BUMD", province_code="32", regency_code="32.02"
        ),
    }


def test_filters_search_and_sort(client_for: Any, filter_rows: Any, get_user: Any, unit: Any) -> None:
    c = client_for("wil.w08")
    base = {"q": TOKEN, "sort": "name"}
    all_names = _names(c.get(URL, base))
    assert all_names == sorted(all_names, key=name_key) and len(all_names) == 4
    assert _names(c.get(URL, {**base, "sort": "-name"})) == list(reversed(all_names))
    assert _names(c.get(URL, {**base, "type": "SEKOLAH"})) == [filter_rows["b"].name]
    assert _names(c.get(URL, {**base, "province": "32"})) == [filter_rows["d"].name]
    assert _names(c.get(URL, {**base, "regency": "36.02"})) == [filter_rows["c"].name]
    assert len(_names(c.get(URL, {**base, "branch": unit("C080101").pk}))) == 3
    assert _names(c.get(URL, {**base, "me": get_user("me.c080101.1").pk})) == [filter_rows["a"].name]
    assert _names(c.get(URL, {**base, "status": "TIDAK_AKTIF"})) == [filter_rows["c"].name]
    # Name words in any order and without the legal form; an NPWP prefix.
    assert _names(c.get(URL, {"q": f"amanah {TOKEN.lower()}"})) == [filter_rows["a"].name]
    assert _names(c.get(URL, {"q": "99.771.122"})) == [filter_rows["a"].name]
    # Score range and sort by score.
    scores = {i.name: i.score for i in filter_rows.values()}
    cut = sorted(scores.values())[2]
    assert set(_names(c.get(URL, {"q": TOKEN, "score_min": cut}))) == {n for n, s in scores.items() if s >= cut}
    assert set(_names(c.get(URL, {"q": TOKEN, "score_max": cut - 1}))) == {n for n, s in scores.items() if s < cut}
    by_score = [row["score"] for row in c.get(URL, {"q": TOKEN, "sort": "-score"}).json()["results"]]
    assert by_score == sorted(by_score, reverse=True)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "KOTA"}, "type"),
        ({"score_min": "tinggi"}, "score_min"),
        ({"score_min": "101"}, "score_min"),
        ({"score_min": "80", "score_max": "10"}, "score_max"),
        ({"sort": "acak"}, "sort"),
        ({"branch": "abc"}, "branch"),
        ({"province": "99"}, "province"),
        ({"province": "31", "regency": "32.02"}, "regency"),
        ({"status": "DIGABUNG"}, "status"),
    ],
)
def test_invalid_filter_is_a_400_with_the_form_message(client_for: Any, params: dict[str, str], field: str) -> None:
    r = client_for("dba.a0801").get(URL, params)
    assert r.status_code == 400
    assert field in r.json() and r.json()[field][0]


def test_page_size_is_capped(client_for: Any) -> None:
    r = client_for("pusat").get(URL, {"page_size": 10_000})
    assert r.status_code == 200 and len(r.json()["results"]) <= 500


# --- Create ---------------------------------------------------------------------------------


def test_me_creates_in_own_branch_and_becomes_its_me(client_for: Any, get_user: Any) -> None:
    r = _post(client_for("me.c080101.1"), URL, _new_body(npwp="01.234.567.8-901.555"))
    assert r.status_code == 201, r.content
    d = r.json()
    assert d["branch"]["code"] == "C080101"
    assert d["me"]["id"] == get_user("me.c080101.1").pk
    assert d["potential_value"] == "1500000000" and d["npwp"] == "012345678901555"
    inst = Institution.objects.get(pk=d["id"])
    assert inst.created_by == get_user("me.c080101.1") and inst.area.code == "A0801"
    assert Ownership.objects.filter(institution=inst, valid_to__isnull=True).count() == 1
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None and event.action == "institution.create" and event.actor_username == "me.c080101.1"


def test_create_accepts_the_value_as_text(client_for: Any) -> None:
    r = _post(client_for("pinca.c080101"), URL, _new_body(potential_value="750000000"))
    assert r.status_code == 201 and r.json()["potential_value"] == "750000000"


def test_manager_names_branch_and_me(client_for: Any, get_user: Any, unit: Any) -> None:
    c = client_for("dba.a0801")
    r = _post(c, URL, _new_body())
    assert r.status_code == 400 and "branch" in r.json()  # a DBA must choose the branch
    me2 = get_user("me.c080101.2")
    r = _post(c, URL, _new_body(branch=unit("C080101").pk, me=me2.pk))
    assert r.status_code == 201, r.content
    assert r.json()["me"]["id"] == me2.pk and r.json()["branch"]["code"] == "C080101"
    # An ME posted elsewhere in the area is refused by the service.
    r = _post(
        c, URL, _new_body(name=f"Asosiasi {TOKEN} Lain", branch=unit("C080101").pk, me=get_user("me.c080102.1").pk)
    )
    assert r.status_code == 400 and "me" in r.json()


def test_duplicate_npwp_is_refused(client_for: Any) -> None:
    _make(f"Koperasi {TOKEN} Pertama", npwp="01.234.567.8-901.777")
    r = _post(client_for("me.c080101.1"), URL, _new_body(name="Lembaga Lain Sama Sekali", npwp="012345678901777"))
    assert r.status_code == 400
    assert r.json()["code"] == "npwp_taken" and "npwp" in r.json()
    assert not Institution.objects.filter(name="Lembaga Lain Sama Sekali").exists()


def test_similar_name_needs_confirmation(client_for: Any) -> None:
    existing = _make(f"Koperasi Pegawai {TOKEN} Sejahtera", regency_code="31.73")
    c = client_for("me.c080101.1")
    r = _post(c, URL, _new_body(name=f"Koperasi Pegawai {TOKEN} Sejahtra"))
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "possible_duplicate"
    assert body["possible_duplicates"] == [{"id": existing.pk, "name": existing.name, "branch": "C080101"}]
    r = _post(c, URL, _new_body(name=f"Koperasi Pegawai {TOKEN} Sejahtra", confirm_distinct=True))
    assert r.status_code == 201


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"province_code": "99"}, "province_code"),
        ({"regency_code": "99.99"}, "regency_code"),
        ({"regency_code": "32.02"}, "regency_code"),  # not in province 31
        ({"type": "PARTAI"}, "type"),
        ({"npwp": "12345"}, "npwp"),
        ({"member_count": -1}, "member_count"),
        ({"potential_value": "satu miliar"}, "potential_value"),
        ({"latitude": "-6.2", "longitude": "10.0"}, "latitude"),
        ({"name": ""}, "name"),
        ({"status": "DIGABUNG"}, "status"),
        ({"parent": 999999999}, "parent"),
    ],
)
def test_bad_values_are_400_and_write_nothing(client_for: Any, changes: dict[str, Any], field: str) -> None:
    before = Institution.objects.count()
    r = _post(client_for("me.c080101.1"), URL, _new_body(**changes))
    assert r.status_code == 400, r.content
    assert field in r.json()
    assert Institution.objects.count() == before


def test_ids_out_of_scope_are_unknown_not_leaked(client_for: Any, unit: Any, get_user: Any) -> None:
    foreign = _make(f"Induk {TOKEN} Bandung", "C100101")
    c = client_for("me.c080101.1")
    other_branch = unit("C100101")
    r = _post(c, URL, _new_body(branch=other_branch.pk))
    assert r.status_code == 400 and "branch" in r.json()
    assert other_branch.name.encode() not in r.content and b"C100101" not in r.content
    r = _post(c, URL, _new_body(parent=foreign.pk))
    assert r.status_code == 400 and "parent" in r.json() and foreign.name.encode() not in r.content
    r = _post(c, URL, _new_body(me=get_user("me.c100101.1").pk))
    assert r.status_code == 400 and "me" in r.json()
    # For a DBA, a branch of another area is just as unknown.
    r = _post(client_for("dba.a0801"), URL, _new_body(branch=unit("C080201").pk))
    assert r.status_code == 400 and "branch" in r.json()


@pytest.mark.parametrize(
    "username", ["sales.c080101.1", "kry.c080101", "agen.c080101", "auditor", "mitra.pms", "admin"]
)
def test_roles_without_create_get_403_even_with_a_bad_body(client_for: Any, username: str) -> None:
    c = client_for(username)
    assert _post(c, URL, _new_body()).status_code == 403
    assert _post(c, URL, {}).status_code == 403


# --- Update ---------------------------------------------------------------------------------


@pytest.fixture
def owned(get_user: Any) -> dict[str, Institution]:
    return {
        "mine": _make(f"Koperasi {TOKEN} Milik ME", "C080101", me=get_user("me.c080101.1")),
        "colleague": _make(f"Koperasi {TOKEN} Rekan", "C080101", me=get_user("me.c080101.2")),
        "unassigned": _make(f"Koperasi {TOKEN} Tanpa ME", "C080101"),
    }


def test_me_updates_what_is_assigned_to_them(client_for: Any, owned: Any) -> None:
    c = client_for("me.c080101.1")
    r = _patch(c, f"{URL}{owned['mine'].pk}/", {"notes": "Audiensi dijadwalkan bulan depan.", "member_count": 640})
    assert r.status_code == 200, r.content
    assert r.json()["notes"] == "Audiensi dijadwalkan bulan depan." and r.json()["member_count"] == 640
    owned["mine"].refresh_from_db()
    assert owned["mine"].member_count == 640
    assert AuditEvent.objects.filter(action="institution.update", object_id=str(owned["mine"].pk)).exists()
    for key in ("colleague", "unassigned"):
        assert _patch(c, f"{URL}{owned[key].pk}/", {"notes": "x"}).status_code == 403
    # Reassigning is the branch head's, not the ME's.
    assert _patch(c, f"{URL}{owned['mine'].pk}/", {"me": owned["colleague"].me_id}).status_code == 403


@pytest.mark.parametrize("username", ["sales.c080101.1", "agen.c080101", "kry.c080101", "auditor", "mitra.pms"])
def test_readers_cannot_update(client_for: Any, owned: Any, username: str) -> None:
    c = client_for(username)
    url = f"{URL}{owned['mine'].pk}/"
    assert c.get(url).status_code == 200
    assert _patch(c, url, {"notes": "x"}).status_code == 403
    assert c.put(url, _new_body(), content_type="application/json").status_code == 403


def test_delete_is_not_offered(client_for: Any, owned: Any) -> None:
    assert client_for("pusat").delete(f"{URL}{owned['mine'].pk}/").status_code == 405


def test_pinca_reassigns_and_clears_the_me(client_for: Any, owned: Any, get_user: Any) -> None:
    c = client_for("pinca.c080101")
    url = f"{URL}{owned['unassigned'].pk}/"
    me2 = get_user("me.c080101.2")
    r = _patch(c, url, {"me": me2.pk})
    assert r.status_code == 200 and r.json()["me"]["id"] == me2.pk
    assert Ownership.objects.filter(institution=owned["unassigned"]).count() == 2
    r = _patch(c, url, {"me": None})
    assert r.status_code == 200 and r.json()["me"] is None
    # The same ME again is not a change.
    r = _patch(c, f"{URL}{owned['mine'].pk}/", {"me": owned["mine"].me_id, "notes": "catatan"})
    assert r.status_code == 200 and Ownership.objects.filter(institution=owned["mine"]).count() == 1
    # A branch outside the Pinca's scope is unknown.
    r = _patch(c, url, {"branch": OrgUnit.objects.get(code="C080102").pk, "reason": "x"})
    assert r.status_code == 400 and "branch" in r.json()


def test_dba_moves_a_branch_with_a_reason_atomically(client_for: Any, owned: Any, unit: Any) -> None:
    c = client_for("dba.a0801")
    inst = owned["mine"]
    url = f"{URL}{inst.pk}/"
    r = _patch(c, url, {"branch": unit("C080102").pk, "notes": "pindah"})
    assert r.status_code == 400 and "reason" in r.json()
    inst.refresh_from_db()
    assert inst.branch.code == "C080101" and inst.notes == ""  # nothing half-written
    r = _patch(c, url, {"branch": unit("C080102").pk, "reason": "Lebih dekat ke Cabang C080102", "notes": "pindah"})
    assert r.status_code == 200, r.content
    assert r.json()["branch"]["code"] == "C080102" and r.json()["me"] is None and r.json()["notes"] == "pindah"
    assert _patch(c, url, {"branch": unit("C080201").pk, "reason": "x"}).status_code == 400
    assert _patch(c, url, {"branch": None}).status_code == 400


def test_update_validates_like_create(client_for: Any, owned: Any) -> None:
    c = client_for("pinca.c080101")
    url = f"{URL}{owned['unassigned'].pk}/"
    r = _patch(c, url, {"name": owned["mine"].name.replace("Milik", "Milk")})
    assert r.status_code == 400 and r.json()["possible_duplicates"][0]["id"] == owned["mine"].pk
    r = _patch(c, url, {"name": owned["mine"].name.replace("Milik", "Milk"), "confirm_distinct": True})
    assert r.status_code == 200
    _make(f"Koperasi {TOKEN} NPWP", npwp="998800112233445")
    r = _patch(c, url, {"npwp": "99.880.011.2-233.445"})
    assert r.status_code == 400 and r.json()["code"] == "npwp_taken"
    r = _patch(c, url, {"regency_code": "32.02"})
    assert r.status_code == 400 and "regency_code" in r.json()
    r = _patch(c, url, {"parent": owned["unassigned"].pk})
    assert r.status_code == 400 and "parent" in r.json()


def test_put_needs_the_whole_institution(client_for: Any, owned: Any) -> None:
    c = client_for("pinca.c080101")
    url = f"{URL}{owned['unassigned'].pk}/"
    r = c.put(url, {"notes": "x"}, content_type="application/json")
    assert r.status_code == 400 and {"name", "type", "province_code", "regency_code"} <= set(r.json())
    body = _new_body(name=f"Koperasi {TOKEN} Diganti", regency_code="31.71", confirm_distinct=True)
    r = c.put(url, body, content_type="application/json")
    assert r.status_code == 200 and r.json()["regency_code"] == "31.71"


def _role_target(role: str, in_scope: bool) -> tuple[str, str]:
    """(username, branch code of the institution to change) for the PATCH matrix."""
    username, own, other = ROLES[role]
    code = own if in_scope else other
    assert code is not None
    branch = OrgUnit.objects.filter(kind="CABANG", path__startswith=OrgUnit.objects.get(code=code).path)
    first = branch.order_by("path").first()
    return username, first.code if first else "C080101"


def _patch_cases() -> list[Any]:
    cases = []
    for role, (_u, _own, other) in ROLES.items():
        for in_scope in (True, False) if other else (True,):
            cases.append(pytest.param(role, in_scope, id=f"{role}-{'in' if in_scope else 'out'}"))
    return cases


@pytest.mark.parametrize(("role", "in_scope"), _patch_cases())
def test_patch_matrix(role: str, in_scope: bool, get_user: Any) -> None:
    """PATCH for every role, in and out of scope (the shared matrix client only
    sends GET and POST). The in-scope institution of an ME is assigned to them."""
    username, code = _role_target(role, in_scope)
    me = get_user(username) if role == "ME" and in_scope else None
    inst = _make(f"Lembaga {TOKEN} Matriks {role}", code, me=me)
    ctx = {"username": username, "institution": inst, "target": inst.branch}
    c = Client()
    c.force_login(get_user(username))
    for ep in PATCH_ENDPOINTS:
        assert ep.data is not None
        r = _patch(c, ep.path(ctx), ep.data(ctx))
        assert r.status_code == ep.expect(role, in_scope), r.content
    assert _patch(Client(), PATCH_ENDPOINTS[0].path(ctx), {}).status_code == PATCH_ENDPOINTS[0].anonymous


# --- Contacts -------------------------------------------------------------------------------


@pytest.fixture
def with_contacts(get_user: Any) -> tuple[Institution, dict[str, Contact]]:
    inst = _make(f"Universitas {TOKEN}", "C080101", me=get_user("me.c080101.1"), type="PERGURUAN_TINGGI")
    contacts = {
        "plain": _contact(inst, "Siti Rahmawati", email="siti@example.ac.id"),
        "restricted": _contact(inst, "Agus Prasetyo"),
        "erased": _contact(inst, "Dewi Lestari"),
    }
    services.contact_restrict(actor=None, contact=contacts["restricted"], reason="Permintaan subjek data")
    services.contact_erase(actor=None, contact=contacts["erased"], reason="Permintaan subjek data")
    return inst, contacts


def test_contacts_render_erased_and_restricted(client_for: Any, with_contacts: Any) -> None:
    inst, contacts = with_contacts
    r = client_for("me.c080101.1").get(f"{URL}{inst.pk}/contacts/")
    assert r.status_code == 200
    rows = {row["id"]: row for row in r.json()["results"]}
    assert r.json()["count"] == 3
    plain = rows[contacts["plain"].pk]
    assert plain["name"] == "Siti Rahmawati" and plain["phone"] == "081234567890"
    assert plain["email"] == "siti@example.ac.id" and plain["restricted"] is False and plain["erased"] is False
    assert plain["lawful_basis"] == "KEPENTINGAN_SAH" and plain["purpose"] == "Koordinasi kerja sama"
    restricted = rows[contacts["restricted"].pk]
    assert restricted["name"] == "Agus Prasetyo" and restricted["position"] == "Kepala Bagian Umum"
    assert restricted["phone"] is None and restricted["email"] is None and restricted["restricted"] is True
    erased = rows[contacts["erased"].pk]
    assert erased["name"] == "(dihapus)" and erased["position"] == ""
    assert erased["phone"] is None and erased["email"] is None and erased["erased"] is True
    assert b"Dewi" not in r.content


@pytest.mark.parametrize(
    ("username", "logged"),
    [
        ("me.c080101.1", False),
        ("pinca.c080101", False),
        ("sales.c080101.1", False),
        ("dba.a0801", True),
        ("wil.w08", True),
        ("auditor", True),
        ("pusat", True),
    ],
)
def test_contact_reads_from_outside_the_branch_are_logged(
    client_for: Any, get_user: Any, with_contacts: Any, username: str, logged: bool
) -> None:
    inst, contacts = with_contacts
    r = client_for(username).get(f"{URL}{inst.pk}/contacts/")
    assert r.status_code == 200
    log = PersonalDataAccess.objects.filter(contact__institution=inst)
    if not logged:
        assert not log.exists()
        return
    # Only the contact whose phone/email was shown: not the restricted or erased ones.
    assert list(log.values_list("contact_id", "channel", "user__username")) == [(contacts["plain"].pk, "api", username)]


@pytest.mark.parametrize("username", ["agen.c080101", "kry.c080101", "mitra.pms"])
def test_contacts_are_not_for_agents_employees_or_mitra(client_for: Any, with_contacts: Any, username: str) -> None:
    inst, _contacts = with_contacts
    r = client_for(username).get(f"{URL}{inst.pk}/contacts/")
    assert r.status_code == 403
    assert b"Siti" not in r.content
    assert not PersonalDataAccess.objects.filter(contact__institution=inst).exists()


def test_contacts_out_of_scope_404(client_for: Any, with_contacts: Any) -> None:
    inst, _contacts = with_contacts
    c = client_for("me.c100101.1")
    assert c.get(f"{URL}{inst.pk}/contacts/").status_code == 404
    assert _post(c, f"{URL}{inst.pk}/contacts/", {}).status_code == 404


CONTACT = {
    "name": "Rudi Hartono",
    "position": "Wakil Rektor II",
    "phone": "+62 21 555-0199",
    "email": "Rudi.Hartono@Example.ac.id",
    "purpose": "Koordinasi kerja sama",
    "lawful_basis": "PERSETUJUAN",
}


def test_contact_create(client_for: Any, with_contacts: Any, get_user: Any) -> None:
    inst, _contacts = with_contacts
    c = client_for("me.c080101.1")
    r = _post(c, f"{URL}{inst.pk}/contacts/", CONTACT)
    assert r.status_code == 201, r.content
    d = r.json()
    assert d["name"] == "Rudi Hartono" and d["email"] == "rudi.hartono@example.ac.id"
    contact = Contact.objects.get(pk=d["id"])
    assert contact.institution_id == inst.pk and contact.created_by == get_user("me.c080101.1")
    assert AuditEvent.objects.filter(action="contact.create", object_id=str(contact.pk)).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"purpose": ""}, "purpose"),
        ({"purpose": None}, "purpose"),
        ({"lawful_basis": ""}, "lawful_basis"),
        ({"lawful_basis": "SUKA_SUKA"}, "lawful_basis"),
        ({"name": ""}, "name"),
        ({"email": "bukan-email"}, "email"),
        ({"phone": "telepon saya"}, "phone"),
    ],
)
def test_contact_create_needs_purpose_and_basis(
    client_for: Any, with_contacts: Any, changes: dict[str, Any], field: str
) -> None:
    inst, _contacts = with_contacts
    body = {k: v for k, v in {**CONTACT, **changes}.items() if v is not None}
    r = _post(client_for("pinca.c080101"), f"{URL}{inst.pk}/contacts/", body)
    assert r.status_code == 400 and field in r.json()
    assert inst.contacts.count() == 3


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("pinca.c080101", 201),
        ("dba.a0801", 201),
        ("me.c080101.2", 403),  # not their institution
        ("sales.c080101.1", 403),
        ("auditor", 403),
        ("agen.c080101", 403),
    ],
)
def test_contact_create_permission(client_for: Any, with_contacts: Any, username: str, status: int) -> None:
    inst, _contacts = with_contacts
    assert _post(client_for(username), f"{URL}{inst.pk}/contacts/", CONTACT).status_code == status


# --- Query counts ---------------------------------------------------------------------------


def _queries(client: Client, url: str) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), response.json()


def _fill(branch_code: str, n: int, me: Any) -> None:
    """n institutions in one branch, half with an ME and a parent: everything a row shows."""
    branch = OrgUnit.objects.select_related("parent").get(code=branch_code)
    assert branch.parent is not None
    parent = _make(f"Induk {TOKEN} Massal", branch_code)
    rows = []
    for i in range(n):
        name = f"Koperasi {TOKEN} Massal {i:03d}"
        rows.append(
            Institution(
                name=name,
                name_key=name_key(name),
                type="KOPERASI",
                province_code="31",
                regency_code="31.73",
                branch=branch,
                area_id=branch.parent_id,
                region_id=branch.parent.parent_id,
                me=me if i % 2 else None,
                parent=parent if i % 2 else None,
                member_count=i * 10,
                potential_value=i * 1_000_000,
                score=i % 100,
            )
        )
    Institution.objects.bulk_create(rows)


@pytest.mark.parametrize("username", ["me.c080101.1", "dba.a0801", "wil.w08", "pusat"])
def test_list_runs_a_fixed_number_of_queries(client_for: Any, get_user: Any, username: str) -> None:
    _fill("C080101", 120, get_user("me.c080101.1"))
    c = client_for(username)
    small, page5 = _queries(c, f"{URL}?q={TOKEN}&page_size=5")
    large, page100 = _queries(c, f"{URL}?q={TOKEN}&page_size=100&sort=name")
    assert len(page5["results"]) == 5 and len(page100["results"]) == 100 and page100["count"] == 121
    assert any(r["me"] for r in page100["results"]) and any(r["parent"] for r in page100["results"])
    assert small == large


def test_contact_list_runs_a_fixed_number_of_queries(client_for: Any, get_user: Any) -> None:
    inst = _make(f"Universitas {TOKEN} Besar", "C080101")
    _contact(inst, "Kontak Pertama")
    c = client_for("auditor")  # reads are logged: the log is one insert whatever the page
    few, _ = _queries(c, f"{URL}{inst.pk}/contacts/")
    for i in range(30):
        _contact(inst, f"Kontak Nomor {i:02d}")
    many, page = _queries(c, f"{URL}{inst.pk}/contacts/")
    assert page["count"] == 31 and few == many
    assert PersonalDataAccess.objects.filter(contact__institution=inst).count() == 32


# --- Schema ---------------------------------------------------------------------------------


def test_schema_documents_the_endpoints(client_for: Any) -> None:
    r = client_for("admin").get("/api/schema/")
    assert r.status_code == 200
    text = r.content.decode()
    for path in ("/api/v1/institutions/:", "/api/v1/institutions/{id}/:", "/api/v1/institutions/{id}/contacts/:"):
        assert path in text
    for param in ("score_min", "confirm_distinct", "lawful_basis"):
        assert param in text
