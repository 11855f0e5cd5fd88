"""Export of the filtered institution list to .xlsx, within the user's scope."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from control.models import AuditEvent
from institutions.imports import COLUMNS, EXPORT_EXTRA
from institutions.models import Institution
from institutions.services import institution_create

pytestmark = pytest.mark.django_db

URL = "/lembaga/ekspor/"


def make(unit: Any, name: str, **kw: Any) -> Institution:
    branch = unit(kw.pop("branch", "C080101"))
    values = {
        "type": "SEKOLAH",
        "province_code": branch.regency_code[:2] if branch.regency_code else "31",
        "regency_code": branch.regency_code or "31.73",
    }
    values.update(kw)
    return institution_create(actor=None, name=name, branch=branch, confirm_distinct=True, **values)


def sheet(response: Any) -> list[tuple[Any, ...]]:
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return list(wb.worksheets[0].iter_rows(values_only=True))


def names(rows: list[tuple[Any, ...]]) -> set[str]:
    return {r[0] for r in rows[1:]}


def test_export_contains_only_rows_in_scope(client_for: Any, unit: Any) -> None:
    inside = make(unit, "Ekspor Dalam Area", branch="C080102")
    outside = make(unit, "Ekspor Luar Area", branch="C100101")
    r = client_for("dba.a0801").get(URL)
    assert r["Content-Disposition"] == f'attachment; filename="lembaga-{timezone.localdate():%Y%m%d}.xlsx"'
    rows = sheet(r)
    assert list(rows[0]) == [c.header for c in COLUMNS] + list(EXPORT_EXTRA)
    assert inside.name in names(rows) and outside.name not in names(rows)
    visible = Institution.objects.live().filter(area=unit("A0801")).count()
    assert len(rows) - 1 == visible
    # Pusat sees both.
    assert {inside.name, outside.name} <= names(sheet(client_for("pusat").get(URL)))


def test_export_respects_the_filters_and_is_audited(client_for: Any, unit: Any) -> None:
    make(unit, "Koperasi Ekspor Saring", type="KOPERASI", npwp="05.555.555.5-555.000", member_count=300)
    make(unit, "Sekolah Ekspor Saring")
    c = client_for("pinca.c080101")
    rows = sheet(c.get(URL + "?q=ekspor+saring&type=KOPERASI"))
    assert names(rows) == {"Koperasi Ekspor Saring"}
    data = dict(zip(rows[0], rows[1], strict=True))
    assert data["Jenis"] == "Koperasi" and data["NPWP"] == "055555555555000" and data["Kode cabang"] == "C080101"
    assert data["Jumlah pegawai/anggota"] == 300 and isinstance(data["Skor"], int) and data["Diubah"] is not None
    event = AuditEvent.objects.filter(action="institution.export").latest("seq")
    assert event.actor_username == "pinca.c080101"
    assert event.after["rows"] == 1 and event.after["filters"]["type"] == "KOPERASI"


def test_exported_values_that_look_like_formulas_stay_text(client_for: Any, unit: Any) -> None:
    make(unit, "=HYPERLINK(1) Lembaga", notes="=1+1")
    r = client_for("pinca.c080101").get(URL + "?q=hyperlink")
    content = b"".join(r.streaming_content)
    ws = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    assert ws["A2"].data_type == "s" and ws["A2"].value == "=HYPERLINK(1) Lembaga"


def test_an_exported_list_reimports_as_already_registered(client_for: Any, unit: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    make(unit, "Lembaga Bolak Balik", npwp="06.666.666.6-666.000")
    c = client_for("pinca.c080101")
    content = b"".join(c.get(URL + "?q=bolak+balik").streaming_content)
    r = c.post(reverse("institutions:import-start"), {"file": SimpleUploadedFile("ekspor.xlsx", content)})
    assert r.status_code == 302
    from institutions.models import ImportJob

    job = ImportJob.objects.latest("id")
    assert (job.total_rows, job.existing_rows, job.error_rows, job.valid_rows) == (1, 1, 0, 0)


def test_agen_may_not_export(client_for: Any) -> None:
    assert client_for("agen.c080101").get(URL).status_code == 403


def test_anonymous_is_sent_to_login(client: Any) -> None:
    assert client.get(URL).status_code == 302


def test_too_many_rows_are_refused_with_a_message(client_for: Any, unit: Any, settings: Any) -> None:
    make(unit, "Lembaga Batas Satu")
    make(unit, "Lembaga Batas Dua")
    settings.EXPORT_MAX_ROWS = 1
    c = client_for("pinca.c080101")
    r = c.get(URL + "?q=batas")
    assert r.status_code == 302 and r["Location"] == reverse("institutions:list") + "?q=batas"
    messages = [str(m) for m in r.wsgi_request._messages]
    assert any("ekspor paling banyak 1" in m for m in messages)
    assert not AuditEvent.objects.filter(action="institution.export").exists()


def test_bad_filters_are_dropped_not_a_500(client_for: Any) -> None:
    assert client_for("pinca.c080101").get(URL + "?score_min=abc&type=NOPE&branch=-1").status_code == 200


def test_export_query_count_does_not_grow_with_rows(
    client_for: Any, unit: Any, django_assert_max_num_queries: Any
) -> None:
    c = client_for("dba.a0801")

    def export() -> None:
        r = c.get(URL)
        assert r.status_code == 200
        b"".join(r.streaming_content)

    with CaptureQueriesContext(connection) as ctx:
        export()
    few = len(ctx.captured_queries)
    assert few <= 15
    for i in range(30):
        make(unit, f"Lembaga Tambahan {i}", branch="C080102" if i % 2 else "C080101")
    with django_assert_max_num_queries(few):
        export()
