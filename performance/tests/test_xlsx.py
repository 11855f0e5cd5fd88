"""Targets as .xlsx: the export reads back through the import unchanged; the
import checks every row first and writes all or nothing; importing the same
file twice writes nothing the second time."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from control.models import AuditEvent
from org.models import OrgUnit
from performance import selectors
from performance.models import KpiSetting, Target
from performance.periods import Period, PeriodKind, parse_period
from performance.xlsx import COLUMNS

pytestmark = pytest.mark.django_db

PERIOD = "2030-07"  # beyond the demo's targets
P = Period(dt.date(2030, 7, 1), PeriodKind.MONTH)
assert parse_period(PERIOD) == P


def _xlsx(rows: list[list[Any]], header: tuple[str, ...] = COLUMNS) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(list(header))
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _upload(client: Any, data: bytes, name: str = "target.xlsx") -> Any:
    return client.post("/kinerja/target/impor/", {"file": SimpleUploadedFile(name, data)})


def _targets() -> dict[tuple[str, int, int | None], Decimal]:
    qs = Target.objects.filter(period_kind=P.kind, period_start=P.start)
    return {(t.kpi, t.unit_id, t.me_id): t.value for t in qs}


def _read(content: bytes) -> list[tuple[Any, ...]]:
    ws = load_workbook(io.BytesIO(content), read_only=True).active
    assert ws is not None
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def _dba_rows(value: int = 100) -> list[list[Any]]:
    branches = OrgUnit.objects.filter(parent__code="A0801").order_by("code")
    return [["closing_count", PERIOD, b.code, b.name, "", "", value] for b in branches]


def test_export_has_the_import_layout(client_for: Any) -> None:
    area = OrgUnit.objects.get(code="A0801")
    Target.objects.create(kpi="closing_amount", period_kind=P.kind, period_start=P.start, unit=area, value=1_500_000)
    me = selectors.current_mes(OrgUnit.objects.get(code="C080101"))[0]
    Target.objects.create(
        kpi="closing_amount",
        period_kind=P.kind,
        period_start=P.start,
        unit=OrgUnit.objects.get(code="C080101"),
        me=me,
        value=25,
    )
    response = client_for("dba.a0801").get(f"/kinerja/target/ekspor/?period={PERIOD}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = _read(response.content)
    assert rows[0] == COLUMNS
    assert ("closing_amount", PERIOD, "A0801", area.name, None, None, 1500000) in rows
    assert any(r[4] == me.username and r[6] == 25 for r in rows[1:])
    # Out of scope: another area's DBA does not get them.
    other = client_for("dba.a0802").get(f"/kinerja/target/ekspor/?period={PERIOD}&kpi=closing_amount")
    assert len(_read(other.content)) == 1


def test_roundtrip_and_second_import_writes_nothing(client_for: Any) -> None:
    c = client_for("dba.a0801")
    first = _upload(c, _xlsx(_dba_rows(120)))
    assert first.status_code == 302, first.content.decode()[:3000]
    before = _targets()
    assert sum(v for (k, _u, _m), v in before.items() if k == "closing_count") == 120 * len(_dba_rows())
    exported = c.get(f"/kinerja/target/ekspor/?period={PERIOD}").content
    events = AuditEvent.objects.count()
    again = _upload(c, exported)
    assert again.status_code == 302
    assert _targets() == before
    assert AuditEvent.objects.count() == events  # nothing changed: no audit event
    page = c.get("/kinerja/target/impor/")
    assert "Tidak ada yang berubah" in page.content.decode()


def test_a_wilayah_reads_back_an_export_with_rows_it_does_not_set(client_for: Any) -> None:
    """The branches' targets (set by the DBA) come back unchanged; the Wilayah's own areas may change."""
    _upload(client_for("dba.a0801"), _xlsx(_dba_rows(5)))
    c = client_for("wil.w08")
    exported = c.get(f"/kinerja/target/ekspor/?period={PERIOD}").content
    rows = [list(r) for r in _read(exported)[1:]]
    rows.append(["closing_count", PERIOD, "A0801", "", "", "", 20])
    assert _upload(c, _xlsx(rows)).status_code == 302
    area = OrgUnit.objects.get(code="A0801")
    assert Target.objects.get(kpi="closing_count", period_start=P.start, unit=area, me=None).value == 20
    # Changing a branch's target is the DBA's: refused by line, nothing written.
    rows[0][6] = 999
    bad = _upload(c, _xlsx(rows))
    assert bad.status_code == 400
    assert "Baris 2" in bad.content.decode() and "tidak berwenang" in bad.content.decode()


def test_import_errors_name_their_lines_and_write_nothing(client_for: Any) -> None:
    rows = _dba_rows(10)
    rows.insert(1, ["no_such_kpi", PERIOD, "C080101", "", "", "", 1])  # line 3
    rows.insert(2, ["closing_count", "2030-13", "C080101", "", "", "", 1])  # line 4
    rows.insert(3, ["closing_count", PERIOD, "C100101", "", "", "", 1])  # line 5: another Wilayah's branch
    rows.insert(4, ["closing_count", PERIOD, "C080102", "", "", "", "banyak"])  # line 6
    rows.insert(5, ["closing_count", PERIOD, "C080102", "", "nobody.here", "", 3])  # line 7
    rows.insert(6, ["lead_conversion", PERIOD, "C080102", "", "", "", 150])  # line 8
    events = AuditEvent.objects.count()
    response = _upload(client_for("dba.a0801"), _xlsx(rows))
    assert response.status_code == 400
    errors = dict(response.context["line_errors"])
    assert set(errors) == {3, 4, 5, 6, 7, 8}
    assert "KPI" in errors[3] and "Periode" in errors[4] and "cakupan" in errors[5]
    assert "angka" in errors[6] and "nobody.here" in errors[7] and "100" in errors[8]
    assert "Baris 3" in response.content.decode()
    assert _targets() == {}
    assert AuditEvent.objects.count() == events


def test_a_duplicate_row_is_an_error(client_for: Any) -> None:
    rows = _dba_rows(10)
    rows.append(list(rows[0]))
    response = _upload(client_for("dba.a0801"), _xlsx(rows))
    assert response.status_code == 400
    assert any("baris 2" in reason for _line, reason in response.context["line_errors"])
    assert _targets() == {}


def test_a_sum_refusal_aborts_the_whole_import(client_for: Any) -> None:
    area = OrgUnit.objects.get(code="A0801")
    Target.objects.create(kpi="closing_count", period_kind=P.kind, period_start=P.start, unit=area, value=7)
    KpiSetting.objects.update_or_create(kpi="closing_count", defaults={"sum_check": "REFUSE"})
    rows = [["closing_amount", PERIOD, "C080101", "", "", "", 10], *_dba_rows(10)]
    response = _upload(client_for("dba.a0801"), _xlsx(rows))
    assert response.status_code == 400
    assert "tidak sama dengan targetnya" in response.content.decode()
    assert set(_targets()) == {("closing_count", area.pk, None)}  # the closing_amount row was undone too


def test_the_pinca_imports_me_targets(client_for: Any) -> None:
    branch = OrgUnit.objects.get(code="C080101")
    mes = selectors.current_mes(branch)
    rows = [["closing_count", PERIOD, "C080101", "", me.username, "", "1.500"] for me in mes]
    assert _upload(client_for("pinca.c080101"), _xlsx(rows)).status_code == 302
    assert {m: v for (_k, _u, m), v in _targets().items()} == {me.pk: Decimal(1500) for me in mes}
    # The ME must be placed at the branch named.
    wrong = [
        [
            "closing_count",
            PERIOD,
            "C080101",
            "",
            selectors.current_mes(OrgUnit.objects.get(code="C080102"))[0].username,
            "",
            1,
        ]
    ]
    assert _upload(client_for("pinca.c080101"), _xlsx(wrong)).status_code == 400


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("target.csv", b"kpi,period\n", ".xlsx"),
        ("target.xlsx", b"", "kosong"),
        ("target.xlsx", b"not a zip at all", "bukan berkas spreadsheet"),
        ("target.xlsx", None, "terlalu besar"),
    ],
)
def test_bad_files_are_refused(name: str, data: bytes | None, message: str, client_for: Any) -> None:
    payload = data if data is not None else b"x" * (5 * 1024 * 1024 + 1)
    response = _upload(client_for("dba.a0801"), payload, name)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _targets() == {}


def test_a_file_without_the_header_or_rows_is_refused(client_for: Any) -> None:
    c = client_for("dba.a0801")
    assert "judul kolom" in _upload(c, _xlsx([], header=("a", "b"))).content.decode()
    assert "tidak berisi baris data" in _upload(c, _xlsx([])).content.decode()


def test_import_and_export_need_performance_view(client_for: Any) -> None:
    c = client_for("me.c080101.1")
    assert c.get("/kinerja/target/impor/").status_code == 403
    assert c.get(f"/kinerja/target/ekspor/?period={PERIOD}").status_code == 403
    assert _upload(c, _xlsx(_dba_rows())).status_code == 403
