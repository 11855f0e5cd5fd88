"""Spreadsheet import of institutions: file checks, the per-row report, the
write, idempotency, permissions and the background path."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from control.models import AuditEvent
from institutions.imports import COLUMNS, HEADER, template_header
from institutions.models import ImportJob, ImportStatus, Institution, Ownership
from institutions.services import institution_create

pytestmark = pytest.mark.django_db

HEADERS = [template_header(c) for c in COLUMNS]
START = "/lembaga/impor/"


def row(**values: Any) -> list[Any]:
    """One data row in template column order; a sound school in Jakarta Barat by default."""
    base = {
        "name": "SMA Uji Impor",
        "type": "Sekolah",
        "sector": "Pendidikan",
        "province_code": "31",
        "regency_code": "31.73",
        "member_count": 120,
        "potential_value": 250000000,
    }
    base.update(values)
    return [base.get(c.key, "") for c in COLUMNS]


def xlsx(rows: list[list[Any]], *, headers: list[str] | None = None, name: str = "lembaga.xlsx") -> SimpleUploadedFile:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(headers or HEADERS)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return SimpleUploadedFile(name, out.getvalue())


def csv_file(
    rows: list[list[Any]], *, delimiter: str = ",", encoding: str = "utf-8", name: str = "lembaga.csv"
) -> SimpleUploadedFile:
    out = io.StringIO()
    w = csv.writer(out, delimiter=delimiter)
    w.writerow(HEADERS)
    w.writerows(rows)
    return SimpleUploadedFile(name, out.getvalue().encode(encoding))


def upload(client: Any, f: SimpleUploadedFile) -> Any:
    return client.post(START, {"file": f})


def last_job(username: str) -> ImportJob:
    return ImportJob.objects.filter(created_by__username=username).latest("id")


def uploaded_job(client: Any, username: str, f: SimpleUploadedFile) -> ImportJob:
    r = upload(client, f)
    assert r.status_code == 302, r.content.decode()[:2000]
    job = last_job(username)
    assert r["Location"] == reverse("institutions:import-detail", args=[job.pk])
    return job


def problems(job: ImportJob, kind: str = "error") -> list[tuple[int, str, str]]:
    return [(p["line"], p["column"], p["reason"]) for p in job.report if p["kind"] == kind]


# --- The template ---------------------------------------------------------------------------------


def test_xlsx_template_has_headers_example_and_instructions_and_reimports(client_for: Any) -> None:
    c = client_for("pinca.c080101")
    r = c.get(reverse("institutions:import-template"))
    assert r.status_code == 200
    assert r["Content-Disposition"].endswith('.xlsx"')
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    ws = wb.worksheets[0]
    assert [cell.value for cell in ws[1]] == HEADERS
    assert str(ws["A2"].value).startswith("Contoh:")
    guide = wb["Petunjuk"]
    values = {str(v) for row_ in guide.iter_rows(values_only=True) for v in row_ if v is not None}
    assert {"SEKOLAH", "Sekolah", "PENDIDIKAN", "AKTIF", "31", "31.73", "Kota Administrasi Jakarta Barat"} <= values
    # Filled in and uploaded as it is: the example row is skipped, the user's rows are sound.
    ws.append(row(name="SD Negeri Kalideres 01"))
    ws.append(row(name="Koperasi Pegawai Kalideres", type="KOPERASI", sector=""))
    out = io.BytesIO()
    wb.save(out)
    job = uploaded_job(c, "pinca.c080101", SimpleUploadedFile("templat.xlsx", out.getvalue()))
    assert (job.status, job.total_rows, job.valid_rows, job.error_rows) == (ImportStatus.VALIDATED, 2, 2, 0)


def test_csv_template_reimports(client_for: Any) -> None:
    c = client_for("me.c080101.1")
    r = c.get(reverse("institutions:import-template") + "?format=csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    text = r.content.decode("utf-8-sig")
    assert text.splitlines()[0].split(",")[:2] == ["Nama lembaga*", "Jenis*"]
    line = io.StringIO()
    csv.writer(line).writerow(row(name="Pesantren Al Uji"))
    job = uploaded_job(c, "me.c080101.1", SimpleUploadedFile("t.csv", (text + line.getvalue()).encode("utf-8-sig")))
    assert (job.status, job.valid_rows, job.error_rows) == (ImportStatus.VALIDATED, 1, 0)


def test_template_and_pages_need_the_import_permission(client_for: Any) -> None:
    c = client_for("agen.c080101")
    assert c.get(reverse("institutions:import-template")).status_code == 403
    assert c.get(START).status_code == 403
    assert upload(c, csv_file([row()])).status_code == 403
    assert not ImportJob.objects.exists()


# --- The per-row report ----------------------------------------------------------------------------


def test_report_names_line_column_and_reason(client_for: Any) -> None:
    c = client_for("me.c080101.1")
    f = csv_file(
        [
            row(name="SMA Baik Sekali"),  # line 2: sound
            row(name="SMA NPWP Salah", npwp="12.345"),  # 3
            row(name="SMA Kota Tak Ada", regency_code="31.99"),  # 4
            row(name="SMA Salah Provinsi", regency_code="32.73"),  # 5: Bandung is not in DKI Jakarta
            row(name=""),  # 6
            row(name="SMA Jenis Salah", type="Warung"),  # 7
            row(name="SMA Nilai Negatif", potential_value=-5),  # 8
            row(name="SMA Anggota Pecahan", member_count="12,5", latitude="-6,2"),  # 9 (and only one coordinate)
        ]
    )
    job = uploaded_job(c, "me.c080101.1", f)
    assert (job.status, job.total_rows, job.valid_rows, job.error_rows) == (ImportStatus.VALIDATED, 8, 1, 7)
    found = problems(job)
    assert (3, "NPWP", "NPWP harus 15 atau 16 digit angka (titik dan tanda hubung boleh).") in found
    assert (4, "Kode kabupaten/kota", "Kabupaten/kota tidak dikenal.") in found
    assert (5, "Kode kabupaten/kota", "Kabupaten/kota ini tidak berada di provinsi yang dipilih.") in found
    assert (6, "Nama lembaga", "Nama lembaga wajib diisi (minimal 3 karakter).") in found
    assert (7, "Jenis", "Jenis lembaga tidak dikenal.") in found
    assert (8, "Estimasi nilai potensi (Rp)", "Estimasi nilai potensi harus rupiah utuh, tidak negatif.") in found
    assert (9, "Jumlah pegawai/anggota", "Jumlah pegawai/anggota harus bilangan bulat 0 sampai 10.000.000.") in found
    assert any(line == 9 and col == "Lintang" for line, col, _r in found)
    # The page shows them in a table and offers the full report.
    page = c.get(reverse("institutions:import-detail", args=[job.pk])).content.decode()
    assert "Kabupaten/kota ini tidak berada di provinsi yang dipilih." in page
    assert reverse("institutions:import-report", args=[job.pk]) in page
    assert "Tulis 1 baris" in page
    report = c.get(reverse("institutions:import-report", args=[job.pk]))
    assert report.status_code == 200 and report["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert lines[0] == ["baris", "kolom", "nilai", "alasan", "jenis"]
    assert [
        "8",
        "Estimasi nilai potensi (Rp)",
        "'-5",
        "Estimasi nilai potensi harus rupiah utuh, tidak negatif.",
        "kesalahan",
    ] in lines
    assert len(lines) - 1 == len(job.report)


def test_labels_codes_names_and_indonesian_numbers_are_understood(client_for: Any) -> None:
    c = client_for("pinca.c080101")
    f = csv_file(
        [
            row(
                name="Polsek Uji",
                type="tni/polri",
                sector="pertahanan",
                status="tidak aktif",
                regency_code="Jakarta Barat",
            ),
            row(
                name="Kantor Camat Uji",
                type="Instansi pemerintah (ASN)",
                regency_code="3173",
                potential_value="Rp 1.500.000",
            ),
            row(name="Koperasi Uji", type="koperasi", province_code="Dki Jakarta", npwp="01.234.567.8-901.000"),
            row(name="SMA Bandung Uji", province_code="32", regency_code="Bandung"),  # Kabupaten or Kota Bandung?
        ],
        delimiter=";",
    )
    job = uploaded_job(c, "pinca.c080101", f)
    assert problems(job) == [
        (5, "Kode kabupaten/kota", "Nama kabupaten/kota ini ada lebih dari satu di provinsi ini; tulis kodenya.")
    ]
    c.post(reverse("institutions:import-confirm", args=[job.pk]))
    polsek = Institution.objects.get(name="Polsek Uji")
    assert (polsek.type, polsek.sector, polsek.status, polsek.regency_code) == (
        "TNI_POLRI",
        "PERTAHANAN",
        "TIDAK_AKTIF",
        "31.73",
    )
    assert Institution.objects.get(name="Kantor Camat Uji").potential_value == 1_500_000
    assert Institution.objects.get(name="Koperasi Uji").npwp == "012345678901000"


def test_cp1252_csv_is_read(client_for: Any) -> None:
    c = client_for("pinca.c080101")
    job = uploaded_job(c, "pinca.c080101", csv_file([row(name="Koperasi Karyawan Café")], encoding="cp1252"))
    assert job.valid_rows == 1


# --- Cancel, confirm, idempotency ------------------------------------------------------------------


def test_cancel_writes_nothing(client_for: Any) -> None:
    c = client_for("me.c080101.1")
    before = Institution.objects.count()
    job = uploaded_job(c, "me.c080101.1", csv_file([row(name="SMA Batal Satu"), row(name="SMA Batal Dua")]))
    r = c.post(reverse("institutions:import-cancel", args=[job.pk]))
    assert r.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED
    # Confirming a cancelled job does nothing either.
    c.post(reverse("institutions:import-confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED
    assert Institution.objects.count() == before


def test_confirm_writes_exactly_the_valid_rows_with_ownership_and_one_audit_event(
    client_for: Any, get_user: Any, unit: Any
) -> None:
    c = client_for("me.c080101.1")
    me = get_user("me.c080101.1")
    f = xlsx(
        [
            row(name="SMA Tulis Satu", npwp="01.111.111.1-111.000", latitude=-6.15, longitude=106.7),
            row(name="SMA Tulis Dua", member_count=5000, potential_value=10_000_000_000),
            row(name="SMA Tulis Rusak", type="??"),
            row(name="SMA Tulis Tiga", me="me.c080101.2"),
        ]
    )
    job = uploaded_job(c, "me.c080101.1", f)
    assert (job.valid_rows, job.error_rows) == (3, 1)
    events = AuditEvent.objects.count()
    r = c.post(reverse("institutions:import-confirm", args=[job.pk]))
    assert r.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.written_rows, job.progress_percent) == (ImportStatus.DONE, 3, 100)
    written = list(Institution.objects.filter(import_job=job).order_by("name"))
    assert [i.name for i in written] == ["SMA Tulis Dua", "SMA Tulis Satu", "SMA Tulis Tiga"]
    branch = unit("C080101")
    for inst in written:
        assert (inst.branch_id, inst.area_id, inst.region_id) == (branch.pk, branch.parent_id, branch.parent.parent_id)
        assert inst.created_by == me and inst.name_key and inst.score > 0
        own = Ownership.objects.get(institution=inst)
        assert own.valid_to is None and own.branch_id == branch.pk and own.me_id == inst.me_id
    assert written[1].npwp == "011111111111000" and written[1].latitude is not None
    assert written[0].me == me and written[2].me == get_user("me.c080101.2")
    assert AuditEvent.objects.count() == events + 1
    event = AuditEvent.objects.get(action="institution.import")
    assert event.object_id == str(job.pk) and event.actor_username == "me.c080101.1"
    assert sorted(event.after["ids"]) == sorted(i.pk for i in written) and event.after["written"] == 3
    # The result page lists what was written, linked to each institution.
    page = c.get(reverse("institutions:import-detail", args=[job.pk])).content.decode()
    assert reverse("institutions:detail", args=[written[0].pk]) in page


def test_same_file_twice_writes_nothing_the_second_time(client_for: Any) -> None:
    c = client_for("pinca.c080101")
    f = xlsx([row(name="SMA Dua Kali"), row(name="Koperasi Dua Kali", npwp="02.222.222.2-222.000", type="KOPERASI")])
    data = f.read()
    first = uploaded_job(c, "pinca.c080101", SimpleUploadedFile("a.xlsx", data))
    c.post(reverse("institutions:import-confirm", args=[first.pk]))
    first.refresh_from_db()
    assert first.written_rows == 2
    count = Institution.objects.count()
    second = uploaded_job(c, "pinca.c080101", SimpleUploadedFile("a.xlsx", data))
    assert second.sha256 == first.sha256
    assert (second.status, second.valid_rows, second.existing_rows, second.written_rows) == (ImportStatus.DONE, 0, 2, 0)
    assert {(line, col) for line, col, _r in problems(second, "existing")} == {(2, "Nama lembaga"), (3, "NPWP")}
    assert "sudah terdaftar" in second.message
    c.post(reverse("institutions:import-confirm", args=[second.pk]))
    assert Institution.objects.count() == count


def test_rows_already_registered_by_npwp_or_name_in_the_same_regency_are_skipped(client_for: Any, unit: Any) -> None:
    institution_create(
        actor=None,
        name="PT Sumber Uji Makmur Tbk",
        type="SWASTA",
        province_code="31",
        regency_code="31.73",
        branch=unit("C080101"),
        npwp="03.333.333.3-333.000",
    )
    c = client_for("pinca.c080101")
    f = csv_file(
        [
            row(name="PT. SUMBER UJI MAKMUR", type="SWASTA"),  # same name key, same regency
            row(name="Lain Sekali", type="SWASTA", npwp="033333333333000"),  # same NPWP
            row(name="Sumber Uji Makmur", type="SWASTA", regency_code="31.71"),  # another regency: new
        ]
    )
    job = uploaded_job(c, "pinca.c080101", f)
    assert (job.valid_rows, job.existing_rows, job.error_rows) == (1, 2, 0)


def test_confirm_twice_writes_once(client_for: Any) -> None:
    c = client_for("me.c080101.1")
    job = uploaded_job(c, "me.c080101.1", csv_file([row(name="SMA Klik Ganda")]))
    url = reverse("institutions:import-confirm", args=[job.pk])
    assert c.post(url).status_code == 302
    r = c.post(url, follow=True)
    assert "sudah diproses" in r.content.decode()
    assert Institution.objects.filter(name="SMA Klik Ganda").count() == 1
    assert AuditEvent.objects.filter(action="institution.import", object_id=str(job.pk)).count() == 1


def test_duplicates_within_the_file_are_errors_on_the_later_row(client_for: Any) -> None:
    c = client_for("pinca.c080101")
    f = csv_file(
        [
            row(name="SMA Kembar", npwp="04.444.444.4-444.000"),
            row(name="Koperasi Lain", npwp="044444444444000", type="KOPERASI"),  # same NPWP as line 2
            row(name="sma  KEMBAR"),  # same name key and regency as line 2
            row(name="SMA Kembar", regency_code="31.71"),  # another regency: fine
        ]
    )
    job = uploaded_job(c, "pinca.c080101", f)
    assert problems(job) == [
        (3, "NPWP", "Duplikat dalam berkas (baris 2)."),
        (4, "Nama lembaga", "Duplikat dalam berkas (baris 2)."),
    ]
    assert job.valid_rows == 2


# --- Similar names: warned, still written ------------------------------------------------------------------


def registered(unit: Any, name: str, branch: str = "C080101", regency_code: str = "31.73") -> Institution:
    return institution_create(
        actor=None,
        name=name,
        type="KOPERASI",
        province_code="31",
        regency_code=regency_code,
        branch=unit(branch),
        confirm_distinct=True,
    )


def warnings(job: ImportJob) -> dict[int, dict[str, Any]]:
    return {p["line"]: p for p in job.report if p["kind"] == "warning"}


def test_a_similar_name_is_warned_and_still_written_an_equal_one_is_already_registered(
    client_for: Any, unit: Any
) -> None:
    existing = registered(unit, "Kop. Karyawan Sejahtera Abadii")
    c = client_for("pinca.c080101")
    f = csv_file(
        [
            row(name="Koperasi Karyawan Sejahtera Abadi", type="KOPERASI"),  # 2: similar to the registered one
            row(name="PT KOP KARYAWAN SEJAHTERA ABADII", type="KOPERASI"),  # 3: the same name key
            row(name="Koperasi Karyawan Sejahtera Abadi", type="KOPERASI", regency_code="31.71"),  # 4: another city
            row(name="SMA Harapan Bangsa Kalideres"),  # 5
            row(name="SMA Harapan Bangsa Kalideress"),  # 6: similar to line 5
            row(name="SMA Harapan Bangsa Kalideresss", type="??"),  # 7: similar too, but an error
        ]
    )
    job = uploaded_job(c, "pinca.c080101", f)
    assert (job.valid_rows, job.existing_rows, job.error_rows) == (4, 1, 1)
    assert [line for line, _c, _r in problems(job, "existing")] == [3]
    found = warnings(job)
    assert sorted(found) == [2, 6]
    assert found[2]["column"] == "Nama lembaga" and found[2]["value"] == "Koperasi Karyawan Sejahtera Abadi"
    branch = unit("C080101").name
    assert found[2]["similar"] == [{"id": existing.pk, "name": existing.name, "branch": branch}]
    assert f"Kop. Karyawan Sejahtera Abadii ({branch})" in found[2]["reason"]
    assert found[6]["similar"] == [{"line": 5, "name": "SMA Harapan Bangsa Kalideres"}]
    assert "baris 5" in found[6]["reason"]
    assert [p["line"] for p in job.report] == sorted(p["line"] for p in job.report)  # in line order
    # The page lists them under "Perlu diperiksa" before the write, the registered one linked.
    page = c.get(reverse("institutions:import-detail", args=[job.pk])).content.decode()
    section = page[page.index('id="mirip"') :]
    assert "Perlu diperiksa: nama mirip" in page and "Tulis 4 baris" in page
    assert '<dt>Perlu diperiksa</dt><dd><a href="#mirip">2</a></dd>' in page
    assert "2 baris bernama mirip dengan lembaga di kabupaten/kota yang sama" in page
    assert f'href="{reverse("institutions:detail", args=[existing.pk])}"' in section
    assert "baris 5 berkas ini: SMA Harapan Bangsa Kalideres" in section
    # The CSV tells the kinds apart in its last column.
    text = c.get(reverse("institutions:import-report", args=[job.pk])).content.decode("utf-8-sig")
    kinds = {(r["baris"], r["jenis"]) for r in csv.DictReader(io.StringIO(text))}
    assert kinds == {("2", "peringatan"), ("3", "sudah terdaftar"), ("6", "peringatan"), ("7", "kesalahan")}
    # Written like any valid row; the audit event counts them.
    c.post(reverse("institutions:import-confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.written_rows == 4 and sorted(warnings(job)) == [2, 6]
    assert Institution.objects.filter(import_job=job, name="Koperasi Karyawan Sejahtera Abadi").count() == 2
    event = AuditEvent.objects.get(action="institution.import", object_id=str(job.pk))
    assert event.after["similar_names"] == 2
    assert "gabungkan keduanya" in c.get(reverse("institutions:import-detail", args=[job.pk])).content.decode()


def test_a_similar_institution_is_linked_only_when_the_importer_may_open_it(client_for: Any, unit: Any) -> None:
    other = registered(unit, "Koperasi Pegawai Pelabuhan Sunda Kelapa", branch="C080102")
    f = csv_file([row(name="Koperasi Pegawai Pelabuhan Sunda Klapa", type="KOPERASI", branch="C080101")])
    link = f'href="{reverse("institutions:detail", args=[other.pk])}"'
    # A Pinca of another branch: as in the registration form, only the branch is named, nowhere.
    pinca = client_for("pinca.c080101")
    job = uploaded_job(pinca, "pinca.c080101", f)
    branch = unit("C080102").name
    assert warnings(job)[2]["similar"] == [{"id": None, "name": None, "branch": branch}]
    assert f"lembaga di {branch}" in warnings(job)[2]["reason"]
    page = pinca.get(reverse("institutions:import-detail", args=[job.pk])).content.decode()
    assert f"Lembaga bernama mirip yang dikelola {branch}" in page and link not in page
    report = pinca.get(reverse("institutions:import-report", args=[job.pk])).content.decode("utf-8-sig")
    for text in (page, report, str(job.report)):
        assert other.name not in text
    # The DBA of the area sees both branches: named and linked.
    f.seek(0)
    dba = client_for("dba.a0801")
    job = uploaded_job(dba, "dba.a0801", f)
    assert warnings(job)[2]["similar"] == [{"id": other.pk, "name": other.name, "branch": branch}]
    page = dba.get(reverse("institutions:import-detail", args=[job.pk])).content.decode()
    assert link in page and other.name in page


def test_the_similar_search_finds_exactly_what_the_rule_finds(unit: Any) -> None:
    """The bounds that spare most comparisons never discard a pair ``is_similar``
    accepts: among the names sharing the row's longest or second longest word,
    the index finds what comparing every pair finds."""
    import random

    from institutions.imports.similar import SimilarNames, lookup_words
    from institutions.normalise import is_similar, name_key

    rng = random.Random(7)
    bases = ["Koperasi Karyawan Sejahtera Abadi", "SD Negeri Kalideres 01", "Yayasan Harapan Bangsa", "Maju Jaya"]

    def typo(name: str) -> str:
        i = rng.randrange(len(name))
        return name[:i] + rng.choice("aeiku ") + name[i + rng.choice((0, 1)) :]

    names = []
    for _ in range(150):
        name = rng.choice(bases)
        for _ in range(rng.randint(0, 3)):
            name = typo(name)
        names.append(name)
    for n in names[:40]:
        registered(unit, n)
    keys = list(dict.fromkeys(k for k in (name_key(n) for n in names[40:]) if k))
    live = [(i.pk, i.name_key) for i in Institution.objects.live().filter(regency_code="31.73")]
    index = SimilarNames({("31.73", k) for k in keys}, chunk=400)
    checked = 0
    for line, key in enumerate(keys, start=2):
        words = set(lookup_words(key))
        found, earlier = index.row("31.73", key, line, check=True)
        expected = [pk for pk, k in live if words & set(k.split()) and k != key and is_similar(key, k)]
        assert {m.pk for m in found} <= set(expected) and bool(found) == bool(expected), key
        if not expected:
            before = [i + 2 for i, k in enumerate(keys[: line - 2]) if words & set(k.split()) and is_similar(key, k)]
            assert (earlier in before) if before else earlier is None, key
        checked += bool(expected) or bool(earlier)
    assert checked > 20  # the sample does contain similar names


def test_a_full_report_keeps_the_warnings(monkeypatch: Any) -> None:
    from institutions.imports import rows

    monkeypatch.setattr(rows, "REPORT_MAX_ENTRIES", 4)
    outcome = rows.Outcome(report=[{"line": n, "kind": "error"} for n in (2, 3, 5, 7)])
    outcome.add_warnings([{"line": 4, "kind": "warning"}, {"line": 6, "kind": "warning"}])
    assert [(p["line"], p["kind"]) for p in outcome.report] == [
        (2, "error"),
        (3, "error"),
        (4, "warning"),
        (6, "warning"),
    ]


# --- Files refused before any job exists ----------------------------------------------------------------


def _refused(client: Any, f: SimpleUploadedFile, message: str) -> None:
    r = upload(client, f)
    assert r.status_code == 400
    assert message in r.content.decode()
    assert not ImportJob.objects.exists()


def test_a_non_spreadsheet_renamed_xlsx_is_refused(client_for: Any) -> None:
    c = client_for("pinca.c080101")
    _refused(c, SimpleUploadedFile("lembaga.xlsx", b"%PDF-1.4 not a spreadsheet"), "bukan berkas spreadsheet")
    # A real zip that is not a workbook either.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("hello.txt", "hi")
    _refused(c, SimpleUploadedFile("lembaga.xlsx", out.getvalue()), "bukan berkas spreadsheet")
    _refused(c, SimpleUploadedFile("lembaga.xls", b"old"), "Hanya berkas .xlsx atau .csv")


def test_a_csv_with_nul_bytes_is_refused(client_for: Any) -> None:
    c = client_for("pinca.c080101")
    _refused(c, SimpleUploadedFile("lembaga.csv", b"Nama lembaga*,Jenis*\x00\nA,B\n"), "karakter NUL")


def test_an_oversized_file_is_refused(client_for: Any, settings: Any) -> None:
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024
    c = client_for("pinca.c080101")
    _refused(c, csv_file([row(name=f"SMA Besar {i}") for i in range(40)]), "Berkas terlalu besar")


def test_an_oversized_body_is_refused_before_it_is_read(client_for: Any, settings: Any) -> None:
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024
    c = client_for("pinca.c080101")
    big = SimpleUploadedFile("besar.csv", b"x" * 200_000)
    _refused(c, big, "Berkas terlalu besar")


def test_a_zip_bomb_is_refused_without_extracting(client_for: Any, monkeypatch: Any) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    assert len(out.getvalue()) < 200_000

    def no_extract(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a member was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_extract)
    c = client_for("pinca.c080101")
    _refused(c, SimpleUploadedFile("bom.xlsx", out.getvalue()), "zip bomb")


def test_too_many_rows_are_refused(client_for: Any, settings: Any) -> None:
    settings.IMPORT_MAX_ROWS = 3
    c = client_for("pinca.c080101")
    _refused(c, csv_file([row(name=f"SMA Banyak {i}") for i in range(4)]), "lebih dari 3 baris")


def test_missing_headers_are_named(client_for: Any) -> None:
    c = client_for("pinca.c080101")
    headers = [h for h in HEADERS if h not in ("Jenis*", "Kode provinsi*")]
    wb_rows = [[v for h, v in zip(HEADERS, row(), strict=True) if h in headers]]
    _refused(c, xlsx(wb_rows, headers=headers), "Jenis*, Kode provinsi*")


def test_empty_and_unreadable_files_are_refused(client_for: Any) -> None:
    c = client_for("pinca.c080101")
    _refused(c, SimpleUploadedFile("kosong.csv", b""), "Berkas kosong")
    _refused(c, csv_file([]), "tidak berisi baris data")
    assert upload(c, SimpleUploadedFile("x.csv", b"")).status_code == 400
    r = c.post(START, {})
    assert r.status_code == 400 and "Pilih berkas" in r.content.decode()


# --- Who may import into which branch ----------------------------------------------------------------


def test_an_me_imports_only_into_their_own_branch(client_for: Any) -> None:
    c = client_for("me.c080101.1")
    f = csv_file(
        [
            row(name="SMA Cabang Sendiri", branch="C080101"),
            row(name="SMA Cabang Lain", branch="C100101"),
            row(name="SMA Kosong Cabang"),
            row(name="SMA ME Lain Cabang", me="me.c080102.1"),
        ]
    )
    job = uploaded_job(c, "me.c080101.1", f)
    assert problems(job) == [
        (3, "Kode cabang", "ME hanya mengimpor ke cabangnya sendiri; kosongkan kolom ini atau isi C080101."),
        (5, "Username ME", "Username ME tidak dikenal atau tidak ditempatkan di cabang ini."),
    ]
    c.post(reverse("institutions:import-confirm", args=[job.pk]))
    assert set(Institution.objects.filter(import_job=job).values_list("branch__code", flat=True)) == {"C080101"}
    assert not Institution.objects.filter(name="SMA Cabang Lain").exists()


def test_an_me_without_a_posting_to_the_branch_may_not_take_rows(client_for: Any, unit: Any) -> None:
    import datetime

    from org.models import RoleAssignment, User

    user = User.objects.create(username="me.tanpa.penempatan")
    RoleAssignment.objects.create(user=user, role="ME", unit=unit("C080101"), valid_from=datetime.date(2020, 1, 1))
    c = client_for("me.tanpa.penempatan")
    job = uploaded_job(c, "me.tanpa.penempatan", csv_file([row(name="SMA Tanpa Penempatan")]))
    assert problems(job) == [(2, "Username ME", "Anda tidak ditempatkan sebagai ME di cabang ini.")]


def test_branch_codes_within_scope_for_managers(client_for: Any) -> None:
    pinca = client_for("pinca.c080101")
    job = uploaded_job(
        pinca, "pinca.c080101", csv_file([row(name="SMA Pinca Lain", branch="C080102"), row(name="SMA Pinca Own")])
    )
    assert problems(job) == [(2, "Kode cabang", "Kode cabang tidak dikenal atau di luar wilayah kerja Anda.")]
    dba = client_for("dba.a0801")
    f = csv_file(
        [
            row(name="SMA DBA Satu", branch="C080102", regency_code="31.71"),
            row(name="SMA DBA Luar", branch="C080201"),  # another area
            row(name="SMA DBA Tanpa Cabang"),
            row(name="SMA DBA Tak Ada", branch="ZZZ"),
            row(name="SMA DBA ME", branch="c080102", me="me.c080102.1"),
        ]
    )
    job = uploaded_job(dba, "dba.a0801", f)
    assert problems(job) == [
        (3, "Kode cabang", "Kode cabang tidak dikenal atau di luar wilayah kerja Anda."),
        (4, "Kode cabang", "Kode cabang wajib diisi untuk peran Anda."),
        (5, "Kode cabang", "Kode cabang tidak dikenal atau di luar wilayah kerja Anda."),
    ]
    dba.post(reverse("institutions:import-confirm", args=[job.pk]))
    written = Institution.objects.filter(import_job=job)
    assert set(written.values_list("branch__code", "me__username")) == {("C080102", None), ("C080102", "me.c080102.1")}


# --- Jobs are personal --------------------------------------------------------------------------------


def test_another_users_job_is_not_found(client_for: Any) -> None:
    c = client_for("me.c080101.1")
    job = uploaded_job(c, "me.c080101.1", csv_file([row(name="SMA Pribadi")]))
    other = client_for("pinca.c080101")
    for name in ("import-detail", "import-progress", "import-report"):
        assert other.get(reverse(f"institutions:{name}", args=[job.pk])).status_code == 404
    for name in ("import-confirm", "import-cancel"):
        assert other.post(reverse(f"institutions:{name}", args=[job.pk])).status_code == 404
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATED
    # Not theirs: 404 before any role check, for an Agen as for anyone.
    assert client_for("agen.c080101").get(reverse("institutions:import-detail", args=[job.pk])).status_code == 404
    # The owner sees it among their recent jobs; the other user does not.
    assert reverse("institutions:import-detail", args=[job.pk]) in c.get(START).content.decode()
    assert reverse("institutions:import-detail", args=[job.pk]) not in other.get(START).content.decode()


def test_anonymous_is_sent_to_login(client: Any) -> None:
    r = client.get(START)
    assert r.status_code == 302 and "/akun/masuk/" in r["Location"]


# --- The background path ------------------------------------------------------------------------------


def test_large_files_run_as_a_task_with_progress(client_for: Any, settings: Any) -> None:
    settings.IMPORT_BACKGROUND_FROM_ROWS = 3  # eager mode in tests: the "background" task runs inline
    c = client_for("pinca.c080101")
    job = uploaded_job(c, "pinca.c080101", xlsx([row(name=f"SMA Latar {i}") for i in range(5)]))
    assert (job.status, job.processed_rows, job.progress_percent) == (ImportStatus.VALIDATED, 5, 100)
    c.post(reverse("institutions:import-confirm", args=[job.pk]))
    job.refresh_from_db()
    assert (job.status, job.written_rows, job.progress_percent) == (ImportStatus.DONE, 5, 100)
    # Once finished, the polled partial tells htmx to reload the page.
    r = c.get(reverse("institutions:import-progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and r["HX-Refresh"] == "true"


def test_a_running_job_polls_its_progress(client_for: Any, get_user: Any, unit: Any) -> None:
    user = get_user("pinca.c080101")
    job = ImportJob.objects.create(
        created_by=user,
        unit=unit("C080101"),
        role="PINCA",
        original_name="besar.xlsx",
        sha256="0" * 64,
        status=ImportStatus.VALIDATING,
        total_rows=2000,
        processed_rows=500,
    )
    c = client_for("pinca.c080101")
    page = c.get(reverse("institutions:import-detail", args=[job.pk])).content.decode()
    progress_url = reverse("institutions:import-progress", args=[job.pk])
    assert f'hx-get="{progress_url}"' in page and 'hx-trigger="every 1s"' in page and "<progress" in page
    assert 'value="25"' in page
    r = c.get(progress_url, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "HX-Refresh" not in r and 'hx-swap="outerHTML"' in r.content.decode()
    # Cancelling a running job stops it: the task finds the status changed and gives up.
    c.post(reverse("institutions:import-cancel", args=[job.pk]))
    from institutions.imports import import_validate

    import_validate(job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED


def test_run_jobs_finishes_jobs_left_behind(client_for: Any, settings: Any) -> None:
    from django.core.management import call_command

    settings.IMPORT_BACKGROUND_FROM_ROWS = 1
    settings.TASKS_MODE = "thread"  # enqueued on commit, which a test transaction never reaches
    c = client_for("pinca.c080101")
    job = uploaded_job(c, "pinca.c080101", csv_file([row(name="SMA Tertinggal")]))
    assert job.status == ImportStatus.PENDING
    out = io.StringIO()
    call_command("run_jobs", "--all", stdout=out)
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATED and "1 job(s)" in out.getvalue()


# --- Cost ----------------------------------------------------------------------------------------------


def test_validation_and_write_queries_do_not_grow_with_rows(
    client_for: Any, django_assert_max_num_queries: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = client_for("dba.a0801")
    rows = [
        row(
            name=f"Lembaga Hitung {i}",
            npwp=f"{i:015d}",
            branch="C080101" if i % 2 else "C080102",
            me="me.c080101.1" if i % 2 else "",
        )
        for i in range(1, 1200)
    ]
    with django_assert_max_num_queries(40):
        r = upload(c, csv_file(rows))
    assert r.status_code == 302
    job = last_job("dba.a0801")
    assert job.valid_rows == 1199
    with CaptureQueriesContext(connection) as ctx:
        c.post(reverse("institutions:import-confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.written_rows == 1199
    # Inserts are batched (SQLite caps a statement at 999 parameters, ~36 rows here);
    # everything else is a fixed number of queries.
    inserts = [q for q in ctx.captured_queries if q["sql"].startswith("INSERT")]
    assert len(ctx.captured_queries) - len(inserts) <= 40
    assert len(inserts) <= 1199 // 30 + 5


def test_header_names_match_the_model_labels() -> None:
    # The template columns are a fixed format; this keeps them readable next to the form labels.
    assert HEADER["name"] == "Nama lembaga" and HEADER["regency_code"] == "Kode kabupaten/kota"
