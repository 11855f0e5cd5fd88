"""Browser journeys through the institution registry: the spreadsheet import with its per-row report
(the acceptance journey), registering through the form with the live similar-name warning, the
logged reveal of a contact's phone and merging a duplicate. Phone-sized (390 px) unless said otherwise;
the assertions are on what the user sees (texts, URLs, counts) plus the few database facts the
journeys promise (nothing written on cancel, one read logged)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from e2e.conftest import TIMEOUT_MS, login, logout, path_is

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
BRANCH = "C080101"
ME = "me.c080101.1"


@pytest.fixture
def phone(browser: Any, live_server: Any, demo_network: None) -> Iterator[Any]:
    """A page in a phone-sized, touch-enabled context."""
    ctx = browser.new_context(
        base_url=live_server.url, locale="id-ID", viewport=PHONE, is_mobile=True, has_touch=True, accept_downloads=True
    )
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx.new_page()
    ctx.close()


# --- Helpers ------------------------------------------------------------------------------------


def fact(page: Any, label: str) -> Any:
    """The value (<dd>) of a fact on an institution's page, by its label."""
    return page.locator("dl.facts > div").filter(has=page.get_by_text(label, exact=True)).locator("dd")


def stat(page: Any, label: str) -> Any:
    """A count on an import job's page, by its label."""
    return page.locator("dl.stats > div").filter(has=page.get_by_text(label, exact=True)).locator("dd")


def table_rows(page: Any, selector: str) -> list[list[str]]:
    """The visible cell texts of each body row of a table."""
    return page.locator(f"{selector} tbody tr").evaluate_all(
        "trs => trs.map(tr => [...tr.cells].map(td => td.innerText.trim()))"
    )


def search_list(page: Any, text: str) -> None:
    """Open Lembaga from the main navigation and search the list."""
    with page.expect_navigation():
        page.locator("nav.mainnav").get_by_role("link", name="Lembaga").click()
    assert path_is("/lembaga/")(page.url)
    page.get_by_role("searchbox", name="Cari nama atau NPWP").fill(text)
    with page.expect_navigation():
        page.get_by_role("button", name="Cari", exact=True).click()


def upload(page: Any, path: Path) -> int:
    """Upload a file on the Impor page; the id of the job page it lands on."""
    page.get_by_label("Berkas .xlsx atau .csv").set_input_files(path)
    with page.expect_navigation():
        page.get_by_role("button", name="Unggah dan periksa").click()
    match = re.fullmatch(r"/lembaga/impor/(\d+)/", urlsplit(page.url).path)
    assert match, f"not on a job page: {page.url}"
    return int(match.group(1))


def write_xlsx(path: Path, rows: list[dict[str, str]]) -> None:
    """A workbook with the template's header row (required columns starred) and the given rows."""
    from openpyxl import Workbook

    from institutions.imports import COLUMNS, template_header

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append([template_header(c) for c in COLUMNS])
    for row in rows:
        ws.append([row.get(c.key, "") for c in COLUMNS])
    wb.save(path)


def unused_npwp(seed: int) -> str:
    """A valid 15-digit NPWP (formatted) that no institution holds."""
    from institutions.models import Institution

    for n in range(seed, seed + 1000):
        digits = f"{n:015d}"
        if not Institution.objects.filter(npwp=digits).exists():
            return f"{digits[0:2]}.{digits[2:5]}.{digits[5:8]}.{digits[8]}-{digits[9:12]}.{digits[12:15]}"
    raise AssertionError("no free NPWP")


# --- 1. The acceptance journey: import with a report, cancel, fix, write, import again ---------------

GOOD_NAMES = (
    "Koperasi Karyawan Pelita Kalideres",
    "Paguyuban Pedagang Pasar Kalideres Baru",
    "Asosiasi Bengkel Motor Tegal Alur",
)
BAD_NPWP_NAME = "Klinik Pratama Sehat Kamal Muara"
BAD_REGENCY_NAME = "Yayasan Pendidikan Cahaya Semanan"
ALL_NAMES = (GOOD_NAMES[0], BAD_NPWP_NAME, GOOD_NAMES[1], BAD_REGENCY_NAME, GOOD_NAMES[2])


def import_rows(*, fixed: bool) -> list[dict[str, str]]:
    """Five rows for Jakarta Barat (31 / 31.73); before the fix, line 3 has a malformed NPWP and
    line 5 a kabupaten/kota of Jawa Barat (32.73) under the province DKI Jakarta (31)."""
    base = {"province_code": "31", "regency_code": "31.73", "sector": "Lainnya", "status": "Aktif"}
    return [
        {**base, "name": GOOD_NAMES[0], "type": "Koperasi", "member_count": "350", "npwp": unused_npwp(310_730_000)},
        {
            **base,
            "name": BAD_NPWP_NAME,
            "type": "Perusahaan swasta",
            "npwp": unused_npwp(310_731_000) if fixed else "12.345.678",
        },
        {**base, "name": GOOD_NAMES[1], "type": "Komunitas", "member_count": "1.250"},
        {
            **base,
            "name": BAD_REGENCY_NAME,
            "type": "Sekolah",
            "regency_code": "31.73" if fixed else "32.73",
            "potential_value": "Rp 1.500.000",
        },
        {**base, "name": GOOD_NAMES[2], "type": "Asosiasi", "address": "Jl. Tegal Alur No. 5"},
    ]


def test_acceptance_me_imports_reads_report_cancels_fixes_and_writes(phone: Any, tmp_path: Path) -> None:
    from django.conf import settings

    from institutions.models import Institution
    from org.models import OrgUnit, User

    assert settings.TASKS_MODE == "eager"  # the root conftest's autouse fixture reaches the live server too
    page = phone
    me = User.objects.get(username=ME)
    branch = OrgUnit.objects.get(code=BRANCH)
    assert not Institution.objects.filter(name__in=ALL_NAMES).exists()
    xlsx = tmp_path / "lembaga-kalideres.xlsx"
    write_xlsx(xlsx, import_rows(fixed=False))

    login(page, ME)
    page.locator("nav.mainnav").get_by_role("link", name="Lembaga").click()
    page.wait_for_url(path_is("/lembaga/"))
    page.get_by_role("link", name="Impor", exact=True).click()
    page.wait_for_url(path_is("/lembaga/impor/"))
    expect(page.locator("main h1")).to_have_text("Impor lembaga dari spreadsheet")

    # The first upload: two bad rows, reported by line, column and reason.
    first = upload(page, xlsx)
    expect(page.locator("main h1")).to_contain_text("lembaga-kalideres.xlsx")
    expect(page.locator("main h1 .badge")).to_have_text("Siap ditulis")
    expect(stat(page, "Baris data")).to_have_text("5")
    expect(stat(page, "Siap ditulis")).to_have_text("3")
    expect(stat(page, "Bermasalah")).to_have_text("2")
    expect(stat(page, "Sudah terdaftar")).to_have_text("0")
    expect(page.locator("#masalah tbody tr")).to_have_count(2)
    problems = table_rows(page, "#masalah")
    assert problems[0][:3] == ["3", "NPWP", "12.345.678"], problems
    assert "NPWP harus 15 atau 16 digit" in problems[0][3]
    assert problems[1][:3] == ["5", "Kode kabupaten/kota", "32.73"], problems
    assert "tidak berada di provinsi yang dipilih" in problems[1][3]
    expect(page.get_by_role("button", name="Tulis 3 baris")).to_be_visible()

    # The report as CSV names both lines.
    with page.expect_download() as info:
        page.get_by_role("link", name="Unduh laporan (CSV)").click()
    download = info.value
    assert download.suggested_filename == f"laporan-impor-{first}.csv"
    with open(download.path(), encoding="utf-8-sig", newline="") as fh:
        report = list(csv.DictReader(fh))
    assert [(r["baris"], r["kolom"]) for r in report] == [("3", "NPWP"), ("5", "Kode kabupaten/kota")], report
    assert "NPWP harus 15 atau 16 digit" in report[0]["alasan"]
    assert "tidak berada di provinsi yang dipilih" in report[1]["alasan"]

    # Cancel: nothing is written, so the list does not find a good row.
    with page.expect_navigation():
        page.get_by_role("button", name="Batalkan").click()
    expect(page.get_by_role("status")).to_contain_text("Impor dibatalkan.")
    expect(page.locator("main h1 .badge")).to_have_text("Dibatalkan")
    expect(page.get_by_role("button", name=re.compile(r"^Tulis"))).to_have_count(0)
    search_list(page, GOOD_NAMES[0])
    expect(page.get_by_text("0 lembaga", exact=True)).to_be_visible()
    expect(page.locator("table.institutions tbody")).to_contain_text("Tidak ada lembaga yang cocok")
    assert not Institution.objects.filter(name__in=ALL_NAMES).exists()

    # Fix the two rows in the same file and upload it again: all five are valid; write them.
    write_xlsx(xlsx, import_rows(fixed=True))
    page.goto("/lembaga/impor/")
    second = upload(page, xlsx)
    assert second != first
    expect(stat(page, "Baris data")).to_have_text("5")
    expect(stat(page, "Siap ditulis")).to_have_text("5")
    expect(stat(page, "Bermasalah")).to_have_text("0")
    expect(page.locator("main")).to_contain_text("Semua baris sah.")
    expect(page.locator("#masalah")).to_have_count(0)
    with page.expect_navigation():
        page.get_by_role("button", name="Tulis 5 baris").click()
    assert path_is(f"/lembaga/impor/{second}/")(page.url)
    expect(page.get_by_role("status")).to_contain_text("5 lembaga ditulis ke daftar.")
    expect(page.locator("main h1 .badge")).to_have_text("Selesai")
    expect(stat(page, "Ditulis")).to_have_text("5")
    written = page.locator("main section", has_text="Lembaga yang ditulis").locator("li a")
    expect(written).to_have_count(5)
    assert sorted(written.all_inner_texts()) == sorted(ALL_NAMES)

    # Find one of them in the list and open it: its facts, its branch, the importing ME.
    search_list(page, BAD_REGENCY_NAME)
    expect(page.get_by_text("1 lembaga", exact=True)).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("link", name=BAD_REGENCY_NAME).click()
    inst = Institution.objects.get(name=BAD_REGENCY_NAME)
    assert path_is(f"/lembaga/{inst.pk}/")(page.url)
    expect(page.locator("main h1")).to_contain_text(BAD_REGENCY_NAME)
    expect(page.locator("main h1 .badge")).to_have_text("Sekolah")
    expect(fact(page, "Kabupaten/kota")).to_contain_text("Jakarta Barat")
    expect(fact(page, "Estimasi nilai potensi")).to_contain_text("Rp 1.500.000")
    expect(fact(page, "NPWP")).to_have_text("—")
    expect(fact(page, "Cabang pengelola")).to_have_text(branch.name)
    expect(fact(page, "Marketing Executive")).to_have_text(me.get_full_name() or me.username)

    # The same file once more: every row is already registered, nothing is written.
    page.goto("/lembaga/impor/")
    third = upload(page, xlsx)
    expect(page.locator("main h1 .badge")).to_have_text("Selesai")
    expect(page.locator("main")).to_contain_text("Tidak ada baris baru untuk ditulis: semua baris sudah terdaftar.")
    expect(stat(page, "Sudah terdaftar")).to_have_text("5")
    expect(stat(page, "Siap ditulis")).to_have_text("0")
    expect(stat(page, "Ditulis")).to_have_text("0")
    expect(page.get_by_role("button", name=re.compile(r"^Tulis"))).to_have_count(0)
    expect(page.get_by_role("button", name="Batalkan")).to_have_count(0)
    assert third not in (first, second)
    search_list(page, GOOD_NAMES[0])
    expect(page.get_by_text("1 lembaga", exact=True)).to_be_visible()
    assert Institution.objects.filter(name__in=ALL_NAMES).count() == 5


# --- 2. Registering through the form: the live similar-name warning, then the confirmation ------------


def test_me_registers_a_similar_institution_after_confirming(phone: Any) -> None:
    from django.db.models import F

    from institutions.models import Institution
    from org.models import User

    page = phone
    me = User.objects.get(username=ME)
    # An institution of the ME's branch in the branch's own kabupaten/kota (Jakarta Barat).
    existing = (
        Institution.objects.live()
        .filter(branch__code=BRANCH, regency_code=F("branch__regency_code"))
        .select_related("branch")
        .order_by("pk")
        .first()
    )
    assert existing is not None
    before = set(Institution.objects.filter(name=existing.name).values_list("pk", flat=True))

    login(page, ME)
    page.locator("nav.mainnav").get_by_role("link", name="Lembaga").click()
    page.get_by_role("link", name="Daftarkan lembaga").click()
    page.wait_for_url(path_is("/lembaga/baru/"))
    expect(page.locator("main h1")).to_have_text("Daftarkan lembaga")

    page.get_by_label("Jenis lembaga").select_option(existing.type)
    page.get_by_label("Provinsi").select_option(existing.province_code)
    regency = page.get_by_label("Kabupaten/kota")
    expect(regency.locator(f"option[value='{existing.regency_code}']")).to_have_count(1)  # loaded by htmx
    regency.select_option(existing.regency_code)

    # Typing the name of an institution already registered in that regency warns while typing.
    warning = page.locator("#similar-box")
    expect(warning).not_to_contain_text("Mirip dengan")
    page.get_by_label("Nama lembaga").press_sequentially(existing.name)
    expect(warning).to_contain_text("Mirip dengan lembaga yang sudah terdaftar di kota yang sama")
    link = warning.get_by_role("link", name=existing.name)
    expect(link).to_have_attribute("href", f"/lembaga/{existing.pk}/")
    # The warning carries its own confirmation box, unticked.
    expect(warning.get_by_label(re.compile("Saya sudah memeriksa"))).not_to_be_checked()

    # Saving without confirming is refused, with the warning and the box again.
    with page.expect_navigation():
        page.get_by_role("button", name="Simpan").click()
    assert path_is("/lembaga/baru/")(page.url)
    expect(page.locator("main .field.has-error")).to_contain_text("Mirip dengan lembaga yang sudah terdaftar")
    expect(page.locator("#similar-box").get_by_role("link", name=existing.name)).to_be_visible()
    confirm = page.get_by_label(re.compile("Saya sudah memeriksa"))
    expect(confirm).not_to_be_checked()
    assert set(Institution.objects.filter(name=existing.name).values_list("pk", flat=True)) == before

    confirm.check()
    with page.expect_navigation():
        page.get_by_role("button", name="Simpan").click()
    created = Institution.objects.filter(name=existing.name).exclude(pk__in=before).get()
    assert path_is(f"/lembaga/{created.pk}/")(page.url)
    expect(page.get_by_role("status")).to_contain_text(f"Lembaga {existing.name} telah didaftarkan.")
    expect(page.locator("main h1")).to_contain_text(existing.name)
    expect(fact(page, "Cabang pengelola")).to_have_text(existing.branch.name)
    expect(fact(page, "Marketing Executive")).to_have_text(me.get_full_name() or me.username)


# --- 3. A DBA reveals a phone (logged); the Pinca merges a duplicate (desktop) ---------------------------


def test_dba_reveals_a_phone_and_pinca_merges_a_duplicate(page: Any) -> None:
    from institutions import services
    from institutions.models import Contact, Institution, PersonalDataAccess
    from org.models import OrgUnit, User

    contact = (
        Contact.objects.filter(
            institution__branch__code=BRANCH,
            institution__status="AKTIF",
            erased_at__isnull=True,
            restricted_at__isnull=True,
        )
        .exclude(phone="")
        .select_related("institution")
        .order_by("institution_id", "name", "id")
        .first()
    )
    assert contact is not None
    inst = contact.institution
    dba = User.objects.get(username="dba.a0801")
    assert not PersonalDataAccess.objects.filter(user=dba).exists()

    login(page, "dba.a0801")
    page.goto(f"/lembaga/{inst.pk}/")
    expect(page.locator("main h1")).to_contain_text(inst.name)
    values = page.locator(f"#contact-{contact.pk}")
    expect(values).to_contain_text("••••••" + "".join(c for c in contact.phone if c.isdigit())[-2:])
    expect(values).not_to_contain_text(contact.phone)
    with page.expect_response(lambda r: "/lihat/" in r.url and r.status == 200):
        values.get_by_role("button", name="Tampilkan (dicatat)").click()
    expect(page.locator(f"#contact-{contact.pk}").get_by_role("link", name=contact.phone)).to_be_visible()
    expect(page.locator(f"#contact-{contact.pk}")).not_to_contain_text("•")
    reads = PersonalDataAccess.objects.filter(user=dba)
    assert reads.count() == 1
    assert reads.get().contact_id == contact.pk
    logout(page)

    # Two registrations of the same cooperative; the Pinca folds the second into the first.
    branch = OrgUnit.objects.get(code=BRANCH)
    survivor, duplicate = (
        services.institution_create(
            actor=None,
            name=name,
            type="KOPERASI",
            province_code="31",
            regency_code="31.73",
            branch=branch,
            confirm_distinct=True,
        )
        for name in ("Koperasi Simpan Pinjam Sinar Kalideres", "Kop. Simpan Pinjam Sinar Kalideres")
    )

    login(page, "pinca.c080101")
    page.goto(f"/lembaga/{duplicate.pk}/")
    page.get_by_role("link", name="Gabungkan duplikat").click()
    page.wait_for_url(path_is(f"/lembaga/{duplicate.pk}/gabung/"))
    expect(page.locator("main h1")).to_have_text("Gabungkan duplikat")
    candidate = page.get_by_role("radio", name=re.compile(re.escape(survivor.name)))
    expect(candidate).to_have_count(1)
    candidate.check()
    page.get_by_label("Alasan").fill("Lembaga yang sama didaftarkan dua kali")
    with page.expect_navigation():
        page.get_by_role("button", name="Gabungkan", exact=True).click()
    assert path_is(f"/lembaga/{survivor.pk}/")(page.url)
    expect(page.get_by_role("status")).to_contain_text(f"{duplicate.name} telah digabung ke {survivor.name}.")
    expect(page.locator("main h1")).to_contain_text(survivor.name)
    expect(page.locator("main")).to_contain_text(f"Digabung dari: {duplicate.name}")

    # An old link to the duplicate now leads to the survivor.
    page.goto(f"/lembaga/{duplicate.pk}/")
    assert path_is(f"/lembaga/{survivor.pk}/")(page.url)
    expect(page.get_by_role("status")).to_contain_text(f"sudah digabung ke {survivor.name}")
    assert Institution.objects.get(pk=duplicate.pk).merged_into_id == survivor.pk
