"""The registry pages: scope per role, filters in the URL, fixed query counts,
forms with inline validation, contacts under UU PDP, merge, potential."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from institutions import selectors, services
from institutions.models import Institution, PersonalDataAccess
from institutions.selectors import InstitutionFilters
from institutions.tests.factories import make_institution

pytestmark = pytest.mark.django_db


@pytest.fixture
def spread(get_user: Any) -> dict[str, Institution]:
    """One new institution in each of four branches: two areas of Wilayah VIII and one branch of Wilayah X."""
    return {
        "own": make_institution(branch="C080101", name="Yayasan Pendidikan Cahaya Ilmu", me=get_user("me.c080101.1")),
        "same_area": make_institution(branch="C080102", name="Koperasi Karyawan Mitra Sejati"),
        "same_region": make_institution(branch="C080201", name="Paguyuban Ojek Daring Sentosa"),
        "other_region": make_institution(
            branch="C100101", name="Politeknik Negeri Cahaya", province_code="32", regency_code="32.73"
        ),
    }


@pytest.mark.parametrize(
    ("username", "sees"),
    [
        ("me.c080101.1", {"own"}),
        ("pinca.c080101", {"own"}),
        ("sales.c080101.1", {"own"}),
        ("dba.a0801", {"own", "same_area"}),
        ("wil.w08", {"own", "same_area", "same_region"}),
        ("pusat", {"own", "same_area", "same_region", "other_region"}),
        ("auditor", {"own", "same_area", "same_region", "other_region"}),
    ],
)
def test_scope_per_role_in_list_and_detail(
    client_for: Any, get_user: Any, spread: Any, username: str, sees: set[str]
) -> None:
    user = get_user(username)
    visible = set(selectors.institution_list(user, InstitutionFilters()).values_list("pk", flat=True))
    c = client_for(username)
    for key, inst in spread.items():
        assert (inst.pk in visible) is (key in sees), key
        assert c.get(f"/lembaga/{inst.pk}/").status_code == (200 if key in sees else 404)
    # Search cannot find what is out of scope either.
    page = c.get("/lembaga/?q=cahaya").content.decode()
    assert ("Politeknik Negeri Cahaya" in page) is ("other_region" in sees)


def test_filters_search_and_sort_are_kept_in_the_url(client_for: Any) -> None:
    a = make_institution(name="Sekolah Menengah Atas Harapan Bangsa", type="SEKOLAH", npwp="03.456.789.0-123.000")
    make_institution(name="Koperasi Harapan Bangsa Mandiri", type="KOPERASI", member_count=10)
    c = client_for("pinca.c080101")
    page = c.get("/lembaga/?q=harapan+bangsa&type=SEKOLAH").content.decode()
    assert a.name in page and "Koperasi Harapan Bangsa Mandiri" not in page
    assert c.get("/lembaga/?q=0345678").content.decode().count(a.name) == 1  # NPWP prefix
    for i in range(30):
        make_institution(name=f"Komunitas Pesepeda Kota Nomor {i:02d}", type="KOMUNITAS")
    listing = c.get("/lembaga/?type=KOMUNITAS&sort=name&page_size=25").content.decode()
    assert "?type=KOMUNITAS&amp;sort=name&amp;page_size=25&page=2" in listing
    assert listing.index("Nomor 00") < listing.index("Nomor 01")
    second = c.get("/lembaga/?type=KOMUNITAS&sort=name&page_size=25&page=2").content.decode()
    assert "Nomor 29" in second and "Nomor 00" not in second


def test_invalid_filter_shows_a_message_not_an_error(client_for: Any) -> None:
    r = client_for("pinca.c080101").get("/lembaga/?score_min=90&score_max=10&type=NOPE")
    assert r.status_code == 200
    assert "Skor sampai harus lebih besar" in r.content.decode()


def test_score_range_filter(get_user: Any) -> None:
    low = make_institution(type="KOMUNITAS", member_count=5, potential_value=1)
    high = make_institution(type="BUMN_BUMD", member_count=50_000, potential_value=90_000_000_000)
    user = get_user("pinca.c080101")
    got = set(selectors.institution_list(user, InstitutionFilters(score_min=60)).values_list("pk", flat=True))
    assert high.pk in got and low.pk not in got


def test_list_page_query_count_does_not_grow_with_rows(client_for: Any, get_user: Any) -> None:
    for i in range(110):
        make_institution(name=f"Koperasi Nelayan Pesisir Nomor {i:03d}", me=get_user("me.c080101.1"))
    c = client_for("pinca.c080101")
    c.get("/lembaga/")  # warm caches (session, area lists)
    counts = []
    for size in (25, 100):
        with CaptureQueriesContext(connection) as ctx:
            r = c.get(f"/lembaga/?page_size={size}")
        assert r.status_code == 200
        assert r.content.decode().count("/lembaga/") >= size
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


def test_detail_shows_facts_score_reasons_and_history(client_for: Any, get_user: Any) -> None:
    inst = make_institution(me=get_user("me.c080101.1"), address="Jl. Merdeka 1")
    page = client_for("me.c080101.1").get(f"/lembaga/{inst.pk}/").content.decode()
    for text in (
        "Jl. Merdeka 1",
        "Mengapa skor ini?",
        "Ukuran (pegawai/anggota)",
        "Jarak ke cabang",
        "Riwayat pengelola",
        "Lini masa",
        "Lembaga didaftarkan",
    ):
        assert text in page, text


def test_contacts_masked_outside_the_branch_and_reveal_is_logged(client_for: Any, get_user: Any) -> None:
    inst = make_institution(me=get_user("me.c080101.1"))
    c = services.contact_create(
        actor=None,
        institution=inst,
        name="Rudi Hartono",
        phone="081298765432",
        email="rudi@contoh.id",
        purpose="Koordinasi",
        lawful_basis="PERSETUJUAN",
    )
    owner_page = client_for("me.c080101.1").get(f"/lembaga/{inst.pk}/").content.decode()
    assert "081298765432" in owner_page
    dba = client_for("dba.a0801")
    page = dba.get(f"/lembaga/{inst.pk}/").content.decode()
    assert "Rudi Hartono" in page and "081298765432" not in page and "••••••32" in page and "0812" not in page
    assert not PersonalDataAccess.objects.exists()
    shown = dba.post(f"/lembaga/{inst.pk}/kontak/{c.pk}/lihat/").content.decode()
    assert "081298765432" in shown and "rudi@contoh.id" in shown
    assert PersonalDataAccess.objects.get().user.username == "dba.a0801"
    # Roles that do not need personal data see only how many contacts exist.
    agen = client_for("agen.c080101").get(f"/lembaga/{inst.pk}/").content.decode()
    assert "Rudi Hartono" not in agen and "1 kontak tercatat" in agen
    assert client_for("agen.c080101").post(f"/lembaga/{inst.pk}/kontak/{c.pk}/lihat/").status_code == 403


def test_erase_and_restrict_from_the_page(client_for: Any, get_user: Any) -> None:
    inst = make_institution(me=get_user("me.c080101.1"))
    c = services.contact_create(
        actor=None,
        institution=inst,
        name="Dewi Lestari",
        phone="0811111111",
        purpose="Koordinasi",
        lawful_basis="KONTRAK",
    )
    me = client_for("me.c080101.1")
    me.post(f"/lembaga/{inst.pk}/kontak/{c.pk}/batasi/", {"reason": "Keberatan", "restrict": "1"})
    page = me.get(f"/lembaga/{inst.pk}/").content.decode()
    assert "0811111111" not in page and "dibatasi" in page
    assert client_for("dba.a0801").post(f"/lembaga/{inst.pk}/kontak/{c.pk}/lihat/").status_code == 404
    r = me.post(f"/lembaga/{inst.pk}/kontak/{c.pk}/hapus/", {"reason": ""})
    c.refresh_from_db()
    assert r.status_code == 302 and not c.is_erased  # a reason is required
    me.post(f"/lembaga/{inst.pk}/kontak/{c.pk}/hapus/", {"reason": "Permintaan subjek data"})
    page = me.get(f"/lembaga/{inst.pk}/").content.decode()
    assert "Dewi Lestari" not in page and "(dihapus)" in page


def _form(**extra: Any) -> dict[str, Any]:
    data = {
        "name": "Dinas Perhubungan Kota Uji",
        "type": "INSTANSI",
        "sector": "PEMERINTAHAN",
        "province_code": "31",
        "regency_code": "31.71",
        "member_count": "420",
        "potential_value": "750000000",
        "status": "AKTIF",
    }
    data.update(extra)
    return data


def test_create_form_inline_errors_then_success(client_for: Any) -> None:
    c = client_for("me.c080101.1")
    r = c.post("/lembaga/baru/", _form(name="", regency_code="32.73", npwp="12"))
    page = r.content.decode()
    assert r.status_code == 200 and "has-error" in page
    assert not Institution.objects.filter(name__startswith="Dinas Perhubungan Kota Uji").exists()
    r = c.post("/lembaga/baru/", _form())
    inst = Institution.objects.get(name="Dinas Perhubungan Kota Uji")
    assert r.status_code == 302 and r["Location"] == f"/lembaga/{inst.pk}/"
    assert inst.branch.code == "C080101" and inst.me.username == "me.c080101.1"


def test_similar_name_flagged_with_link_then_confirmed(client_for: Any) -> None:
    existing = make_institution(name="PT Angkasa Pura Logistik Tbk")
    c = client_for("me.c080101.1")
    r = c.post("/lembaga/baru/", _form(name="Angkasa Pura Logistik", type="BUMN_BUMD"))
    page = r.content.decode()
    assert r.status_code == 200 and f"/lembaga/{existing.pk}/" in page and "confirm_distinct" in page
    live = c.get("/lembaga/cek-kemiripan/", {"name": "angkasa pura logistik", "regency_code": "31.71"})
    assert f"/lembaga/{existing.pk}/" in live.content.decode()
    r = c.post("/lembaga/baru/", _form(name="Angkasa Pura Logistik", type="BUMN_BUMD", confirm_distinct="on"))
    assert r.status_code == 302
    assert Institution.objects.filter(name_key="angkasa pura logistik").count() == 2


def test_duplicate_npwp_on_the_form(client_for: Any) -> None:
    make_institution(npwp="04.567.890.1-234.000")
    r = client_for("pinca.c080101").post("/lembaga/baru/", _form(npwp="045678901234000"))
    assert r.status_code == 200 and "NPWP ini sudah dipakai" in r.content.decode()


def test_manager_picks_a_branch_in_scope(client_for: Any, unit: Any) -> None:
    c = client_for("dba.a0801")
    r = c.post("/lembaga/baru/", _form(branch=unit("C100101").pk))
    assert r.status_code == 200 and "Pilih cabang pengelola" in r.content.decode()
    r = c.post("/lembaga/baru/", _form(branch=unit("C080102").pk))
    assert r.status_code == 302
    assert Institution.objects.get(name="Dinas Perhubungan Kota Uji").branch.code == "C080102"


def test_edit_form(client_for: Any, get_user: Any) -> None:
    inst = make_institution(me=get_user("me.c080101.1"))
    c = client_for("me.c080101.1")
    assert c.get(f"/lembaga/{inst.pk}/ubah/").status_code == 200
    data = _form(name=inst.name, type=inst.type, member_count="5000")
    assert c.post(f"/lembaga/{inst.pk}/ubah/", data).status_code == 302
    inst.refresh_from_db()
    assert inst.member_count == 5000
    assert client_for("me.c080101.2").get(f"/lembaga/{inst.pk}/ubah/").status_code == 403


def test_merge_page(client_for: Any) -> None:
    survivor = make_institution(name="Persatuan Guru Madrasah Kota")
    dup = make_institution(name="Persatuan Guru Madrasah Kota.", confirm_distinct=True)
    pinca = client_for("pinca.c080101")
    page = pinca.get(f"/lembaga/{dup.pk}/gabung/").content.decode()
    assert f'value="{survivor.pk}"' in page  # offered as a candidate
    assert client_for("me.c080101.1").get(f"/lembaga/{dup.pk}/gabung/").status_code == 403
    r = pinca.post(f"/lembaga/{dup.pk}/gabung/", {"survivor": survivor.pk, "reason": "Terdaftar dua kali"})
    assert r.status_code == 302 and r["Location"] == f"/lembaga/{survivor.pk}/"
    # An old link to the duplicate leads to the survivor; outside the scope it is still 404.
    old = pinca.get(f"/lembaga/{dup.pk}/")
    assert old.status_code == 302 and old["Location"] == f"/lembaga/{survivor.pk}/"
    assert client_for("pinca.c080102").get(f"/lembaga/{dup.pk}/").status_code == 404
    assert client_for("pinca.c080101").get(f"/lembaga/{dup.pk}/ubah/").status_code == 404


def test_reassign_page(client_for: Any, get_user: Any) -> None:
    inst = make_institution()
    me2 = get_user("me.c080101.2")
    r = client_for("pinca.c080101").post(f"/lembaga/{inst.pk}/pindah/", {"me": me2.pk, "reason": "Penugasan"})
    assert r.status_code == 302
    inst.refresh_from_db()
    assert inst.me == me2
    assert client_for("me.c080101.1").get(f"/lembaga/{inst.pk}/pindah/").status_code == 403


def test_branch_ranking_and_potential_per_unit(client_for: Any, unit: Any, get_user: Any) -> None:
    low = make_institution(branch="C080102", type="KOMUNITAS", member_count=5, potential_value=1)
    high = make_institution(branch="C080102", type="BUMN_BUMD", member_count=9000, potential_value=9_000_000_000)
    branch = unit("C080102")
    page = client_for("dba.a0801").get(f"/lembaga/cabang/{branch.pk}/").content.decode()
    assert page.index(high.name) < page.index(low.name)
    assert client_for("pinca.c080101").get(f"/lembaga/cabang/{branch.pk}/").status_code == 404
    rows = selectors.potential_by_unit(get_user("dba.a0801"), level="branch")
    mine = {r["unit"].code: r for r in rows}
    assert set(mine) <= {"C080101", "C080102", "C080103"}
    expected = Institution.objects.live().filter(branch=branch, status="AKTIF")
    assert mine["C080102"]["institutions"] == expected.count()
    assert mine["C080102"]["score_total"] == sum(expected.values_list("score", flat=True))
    potential = client_for("dba.a0801").get("/lembaga/potensi/").content.decode()
    assert branch.name in potential
    assert client_for("me.c080101.1").get("/lembaga/potensi/").status_code == 302


def test_auditor_reads_the_personal_data_access_log(client_for: Any, get_user: Any) -> None:
    inst = make_institution()
    c = services.contact_create(
        actor=None,
        institution=inst,
        name="Wulan Sari",
        phone="0813000111",
        purpose="Koordinasi",
        lawful_basis="KONTRAK",
    )
    client_for("dba.a0801").post(f"/lembaga/{inst.pk}/kontak/{c.pk}/lihat/")
    page = client_for("auditor").get("/lembaga/akses-data-pribadi/?user=dba.a0801").content.decode()
    assert "dba.a0801" in page and "Wulan Sari" in page and inst.name in page
    assert "Wulan Sari" not in client_for("auditor").get("/lembaga/akses-data-pribadi/?user=pusat").content.decode()
    assert client_for("pinca.c080101").get("/lembaga/akses-data-pribadi/").status_code == 403


def test_dba_moves_an_institution_to_another_branch_on_the_page(client_for: Any, get_user: Any, unit: Any) -> None:
    inst = make_institution(me=get_user("me.c080101.1"))
    c = client_for("dba.a0801")
    target = unit("C080102")
    r = c.post(f"/lembaga/{inst.pk}/pindah/", {"branch": target.pk, "me": inst.me_id, "reason": ""})
    assert r.status_code == 200 and "memerlukan alasan" in r.content.decode()
    r = c.post(f"/lembaga/{inst.pk}/pindah/", {"branch": target.pk, "me": inst.me_id, "reason": "Wilayah kerja baru"})
    assert r.status_code == 302
    inst.refresh_from_db()
    assert inst.branch == target and inst.me is None
    # Out of the DBA's area: refused on the form, nothing changes.
    r = c.post(f"/lembaga/{inst.pk}/pindah/", {"branch": unit("C100101").pk, "reason": "x"})
    inst.refresh_from_db()
    assert r.status_code == 200 and inst.branch == target


def test_unchanged_parent_outside_scope_does_not_block_an_edit(client_for: Any, get_user: Any) -> None:
    head = make_institution(
        branch="C100101", name="PT Kantor Pusat Uji Nasional", province_code="32", regency_code="32.73"
    )
    inst = make_institution(me=get_user("me.c080101.1"), parent=head)
    c = client_for("me.c080101.1")
    page = c.get(f"/lembaga/{inst.pk}/").content.decode()
    assert head.name not in page and "di luar cakupan Anda" in page
    data = _form(name=inst.name, type=inst.type, parent=head.pk, member_count="777")
    assert c.post(f"/lembaga/{inst.pk}/ubah/", data).status_code == 302
    inst.refresh_from_db()
    assert inst.parent == head and inst.member_count == 777


def test_out_of_scope_duplicates_are_named_by_branch_only(client_for: Any) -> None:
    far = make_institution(
        branch="C100101",
        name="Akademi Keperawatan Uji Rahasia",
        province_code="32",
        regency_code="32.73",
        npwp="05.678.901.2-345.000",
    )
    c = client_for("me.c080101.1")
    r = c.post("/lembaga/baru/", _form(npwp="056789012345000"))
    page = r.content.decode()
    assert "NPWP ini sudah dipakai" in page and far.name not in page and far.branch.name in page
    r = c.post("/lembaga/baru/", _form(name="Akad. Keperawatan Uji Rahasia", province_code="32", regency_code="32.73"))
    page = r.content.decode()
    assert far.name not in page and far.branch.name in page and f"/lembaga/{far.pk}/" not in page
    live = c.get("/lembaga/cek-kemiripan/", {"name": far.name, "regency_code": "32.73"}).content.decode()
    assert far.name not in live and far.branch.name in live
    api = c.post(
        "/api/v1/institutions/",
        {"name": far.name, "type": "SEKOLAH", "province_code": "32", "regency_code": "32.73"},
        content_type="application/json",
    ).json()
    assert api["possible_duplicates"] == [{"id": None, "name": None, "branch": far.branch.code}]
    assert far.name not in str(api)


@pytest.mark.parametrize(
    "url",
    [
        "/lembaga/?branch=99999999999999999999999",
        "/lembaga/?me=99999999999999999999999&score_min=abc",
        "/lembaga/cek-kemiripan/?name=Koperasi+Uji&regency_code=31.71&exclude=%C2%B2",
        "/lembaga/ekspor/?branch=99999999999999999999999",
        "/api/v1/institutions/?branch=99999999999999999999999",
    ],
)
def test_odd_ids_in_the_url_never_give_a_500(client_for: Any, url: str) -> None:
    assert client_for("pinca.c080101").get(url).status_code in (200, 302, 400)


def test_odd_ids_on_the_access_log(client_for: Any) -> None:
    c = client_for("auditor")
    for value in ("%C2%B2", "99999999999999999999999", "-1"):
        assert c.get(f"/lembaga/akses-data-pribadi/?institution={value}").status_code == 200


def test_agen_reads_the_api_list_a_page_at_a_time(client_for: Any) -> None:
    """Agen may not export: the API does not hand them the list in bulk either."""
    for i in range(20):
        make_institution(name=f"Kelompok Tani Makmur Nomor {i:02d}")
    agen = client_for("agen.c080101").get("/api/v1/institutions/?page_size=500").json()
    pinca = client_for("pinca.c080101").get("/api/v1/institutions/?page_size=500").json()
    assert agen["count"] == pinca["count"] > 50
    assert len(agen["results"]) == 50 and len(pinca["results"]) == pinca["count"]


def test_a_double_submit_after_confirming_registers_once(client_for: Any) -> None:
    make_institution(name="PT Sumber Air Bersih Tbk")
    c = client_for("me.c080101.1")
    data = _form(name="Sumber Air Bersih", confirm_distinct="on")
    assert c.post("/lembaga/baru/", data).status_code == 302
    r = c.post("/lembaga/baru/", data)
    assert r.status_code == 200 and "baru saja mendaftarkan" in r.content.decode()
    assert Institution.objects.filter(name="Sumber Air Bersih").count() == 1


def test_parent_picker_finds_only_institutions_in_scope(client_for: Any) -> None:
    mine = make_institution(name="PT Pelabuhan Nusantara Regional Dua")
    far = make_institution(
        branch="C100101", name="PT Pelabuhan Nusantara Regional Tiga", province_code="32", regency_code="32.73"
    )
    options = client_for("pinca.c080101").get("/lembaga/cari-induk/?parent_q=pelabuhan+nusantara").content.decode()
    assert f'value="{mine.pk}"' in options and far.name not in options
    everywhere = client_for("pusat").get("/lembaga/cari-induk/?parent_q=pelabuhan+nusantara").content.decode()
    assert f'value="{far.pk}"' in everywhere
    # Picked on the form, the parent is saved.
    c = client_for("me.c080101.1")
    r = c.post("/lembaga/baru/", _form(name="PT Pelabuhan Nusantara Cabang Sunda Kelapa", parent=mine.pk))
    assert r.status_code == 302
    assert Institution.objects.get(name="PT Pelabuhan Nusantara Cabang Sunda Kelapa").parent == mine
    page = c.get(f"/lembaga/{Institution.objects.get(name__endswith='Sunda Kelapa').pk}/ubah/").content.decode()
    assert f'<option value="{mine.pk}" selected>{mine.name}' in page
