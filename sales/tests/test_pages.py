"""The closings pages: the list (filters, totals, fixed query count, scope), a
closing's page, the upload with its batch report, the batch pages, a branch's
attribution (numbers equal a hand count; one GROUP BY over the summary) and the
lead ↔ closing and institution → closing links."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from institutions.models import Institution
from org.models import OrgUnit, User
from sales import ingest
from sales.models import Closing, IngestBatch

pytestmark = pytest.mark.django_db

BRANCH = "C080101"
ME = "me.c080101.1"
PINCA = "pinca.c080101"
_serial = itertools.count(1)


# The closings' day: long before any demo closing, so the counts are these tests' own.
DAY = date(2005, 6, 15)


def yesterday() -> date:
    return DAY


def period() -> str:
    """A query string holding ``DAY`` (the default period is this month)."""
    return f"from={(DAY - timedelta(days=3)).isoformat()}&to={(DAY + timedelta(days=1)).isoformat()}"


def me_institution() -> Institution:
    inst = Institution.objects.live().filter(branch__code=BRANCH, me__username=ME).order_by("id").first()
    assert inst is not None, "demo data: an institution of me.c080101.1"
    return inst


def btoc(**over: Any) -> dict[str, Any]:
    row = {
        "external_id": f"PG-BTOC-{next(_serial)}",
        "closed_on": yesterday().isoformat(),
        "branch": BRANCH,
        "product": "GADAI_KCA",
        "amount": "2500000",
        "scheme": "BTOC",
        "channel": "SALES_TEAM",
        "initiator_kind": "SALES",
        "initiator": "sales.c080101.1",
        "customer_ref": "3171012345678901",
        "new_customer": "ya",
    }
    return {**row, **over}


def btob(**over: Any) -> dict[str, Any]:
    row = {
        "external_id": f"PG-BTOB-{next(_serial)}",
        "closed_on": yesterday().isoformat(),
        "branch": BRANCH,
        "product": "TABUNGAN_EMAS",
        "amount": "1000000",
        "grams": "0.5",
        "scheme": "BTOB",
        "channel": "BTOB_LAINNYA",
        "initiator_kind": "ME",
        "initiator": ME,
        "institution": str(me_institution().pk),
        "new_customer": "tidak",
    }
    return {**row, **over}


def digital(branch: str, **over: Any) -> dict[str, Any]:
    """A BtoC digital closing: valid in any branch (no user, no institution)."""
    row = {
        "external_id": f"PG-DIG-{next(_serial)}",
        "closed_on": yesterday().isoformat(),
        "branch": branch,
        "product": "GADAI_KCA",
        "amount": "700000",
        "scheme": "BTOC",
        "channel": "DIGITAL",
        "initiator_kind": "DIGITAL",
    }
    return {**row, **over}


def put(rows: list[dict[str, Any]], actor: str | None = "admin") -> ingest.Outcome:
    user = User.objects.get(username=actor) if actor else None
    out = ingest.ingest(actor=user, source="MANUAL", rows=rows, via="api")
    assert not out.problems, out.problems
    return out


def as_csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(ingest.COLUMNS))
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in ingest.COLUMNS})
    return out.getvalue().encode()


def upload(client: Any, data: bytes, name: str = "closing.csv", source: str = "MANUAL") -> Any:
    return client.post("/penjualan/unggah/", {"source": source, "file": SimpleUploadedFile(name, data)})


# --- The list -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "username",
    [PINCA, ME, "sales.c080101.1", "kry.c080101", "dba.a0801", "wil.w08", "pusat", "auditor", "admin", "mitra.pms"],
)
def test_list_renders_for_every_reader(client_for: Any, username: str) -> None:
    put([btoc(external_id="PG-LIST-1")])
    r = client_for(username).get(f"/penjualan/?{period()}")
    assert r.status_code == 200
    assert b'href="/penjualan/' in r.content


def test_list_refuses_agen(client_for: Any) -> None:
    assert client_for("agen.c080101").get("/penjualan/").status_code == 403


def test_list_filters_and_totals(client_for: Any) -> None:
    put([btoc(amount="2500000"), btoc(amount="1500000", new_customer="tidak"), btob()])
    c = client_for(PINCA)
    r = c.get(f"/penjualan/?{period()}")
    totals = r.context["totals"]
    assert (totals["count"], totals["amount"], totals["grams"], totals["new_customers"]) == (
        3,
        Decimal(5000000),
        Decimal("0.5"),
        1,
    )
    assert b"Rp 5.000.000" in r.content

    def count(query: str) -> int:
        return int(c.get(f"/penjualan/?{period()}&{query}").context["totals"]["count"])

    assert count("scheme=BTOB") == 1
    assert count("channel=SALES_TEAM") == 2
    assert count("product=TABUNGAN_EMAS") == 1
    assert count(f"institution={me_institution().pk}") == 1
    assert count("initiator=ME") == 1
    assert count("initiator=sales.c080101.1") == 2
    assert count("initiator=nobody") == 0
    # The period: yesterday's closings are outside a range that ends two days ago.
    day = yesterday() - timedelta(days=1)
    assert (
        int(
            c.get(f"/penjualan/?to={day.isoformat()}&from={(day - timedelta(days=5)).isoformat()}").context["totals"][
                "count"
            ]
        )
        == 0
    )


def test_list_junk_filters_do_not_fail(client_for: Any) -> None:
    r = client_for(PINCA).get("/penjualan/?from=kemarin&to=9999-99-99&branch=x&scheme=XX&institution=²&page=zz")
    assert r.status_code == 200


def test_list_branch_filter_for_wider_scopes(client_for: Any, unit: Any) -> None:
    put([btoc(), digital("C080102")])
    c = client_for("dba.a0801")
    r = c.get(f"/penjualan/?{period()}")
    assert r.context["totals"]["count"] == 2
    assert r.context["branches"], "a DBA picks a branch"
    r = c.get(f"/penjualan/?{period()}&branch={unit('C080102').pk}")
    assert r.context["totals"]["count"] == 1


def test_list_is_scoped(client_for: Any, unit: Any) -> None:
    put([btoc(), digital("C100101")])
    r = client_for(PINCA).get(f"/penjualan/?{period()}")
    assert r.context["totals"]["count"] == 1
    # Asking for another branch's closings by filter shows nothing.
    r = client_for(PINCA).get(f"/penjualan/?{period()}&branch={unit('C100101').pk}")
    assert r.context["totals"]["count"] == 0


def test_list_query_count_is_fixed(client_for: Any) -> None:
    c = client_for("dba.a0801")
    put([btoc() for _ in range(5)])
    with CaptureQueriesContext(connection) as few:
        assert c.get(f"/penjualan/?{period()}").status_code == 200
    put([btob() for _ in range(12)] + [btoc() for _ in range(13)])
    with CaptureQueriesContext(connection) as many:
        r = c.get(f"/penjualan/?{period()}")
    assert r.context["totals"]["count"] == 30
    assert len(r.context["page"].object_list) == 25
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


# --- One closing ----------------------------------------------------------------------------------


def test_detail_shows_everything(client_for: Any) -> None:
    out = put([btob(customer_ref="3171012345678901")])
    closing = Closing.objects.get(batch=out.batch)
    r = client_for(PINCA).get(f"/penjualan/{closing.pk}/")
    assert r.status_code == 200
    text = r.content.decode()
    assert "****8901" in text and "3171012345678901" not in text
    assert "BtoB lainnya" in text and "BtoB one to many" in text
    assert me_institution().name in text
    assert "Belum pernah dikoreksi" in text


def test_detail_shows_cross_branch_rule_and_revisions(client_for: Any) -> None:
    other = Institution.objects.live().filter(branch__code="C080102").order_by("id").first()
    assert other is not None
    row = digital(BRANCH, institution=str(other.pk), cross_branch_rule="DIGITAL")
    put([row])
    put([{**row, "amount": "900000"}])  # a correction
    closing = Closing.objects.get(external_id=row["external_id"])
    assert closing.revision == 2
    text = client_for(PINCA).get(f"/penjualan/{closing.pk}/").content.decode()
    assert "Kanal digital: nasabah dilayani cabang terdekat" in text
    assert "700000" in text and "900000" in text  # before → after


def test_detail_out_of_scope_is_404_and_agen_403(client_for: Any) -> None:
    put([digital("C100101", external_id="PG-FAR-1"), btoc(external_id="PG-NEAR-1")])
    far = Closing.objects.get(external_id="PG-FAR-1")
    near = Closing.objects.get(external_id="PG-NEAR-1")
    assert client_for(PINCA).get(f"/penjualan/{far.pk}/").status_code == 404
    assert client_for(PINCA).get("/penjualan/99999999/").status_code == 404
    assert client_for("agen.c080101").get(f"/penjualan/{near.pk}/").status_code == 403
    assert client_for("auditor").get(f"/penjualan/{far.pk}/").status_code == 200


def _lead_of(inst: Institution) -> Any:
    from activities import services

    lead, _created = services.lead_create(
        actor=None,
        institution=inst,
        me=inst.me,
        name="Calon Nasabah Uji",
        phone="081234567890",
        product="TABUNGAN_EMAS",
        purpose="Uji halaman closing",
        lawful_basis="PERSETUJUAN",
    )
    return lead


def test_lead_and_closing_link_both_ways(client_for: Any) -> None:
    lead = _lead_of(me_institution())
    put([btob(external_id="PG-LEAD-1", lead=str(lead.pk))])
    closing = Closing.objects.get(external_id="PG-LEAD-1")
    c = client_for(PINCA)
    assert f'href="/aktivitas/prospek/{lead.pk}/"' in c.get(f"/penjualan/{closing.pk}/").content.decode()
    assert f'href="/penjualan/{closing.pk}/"' in c.get(f"/aktivitas/prospek/{lead.pk}/").content.decode()
    # A reader of closings who may not read leads sees that there is one, without the link.
    text = client_for("kry.c080101").get(f"/penjualan/{closing.pk}/").content.decode()
    assert f"#{lead.pk}" in text and f'href="/aktivitas/prospek/{lead.pk}/"' not in text


def test_institution_page_shows_its_closings(client_for: Any) -> None:
    inst = me_institution()
    c = client_for(PINCA)
    before = c.get(f"/lembaga/{inst.pk}/").context["closings"]["totals"]
    put([btob(amount="1250000"), btob(amount="750000")])
    r = c.get(f"/lembaga/{inst.pk}/")
    assert r.status_code == 200
    after = r.context["closings"]["totals"]
    assert (after["count"] - before["count"], after["amount"] - before["amount"]) == (2, Decimal(2000000))
    text = r.content.decode()
    assert 'id="closing"' in text and r.context["closings"]["recent"]
    assert f"/penjualan/?institution={inst.pk}" in text
    agen = client_for("agen.c080101").get(f"/lembaga/{inst.pk}/")
    assert agen.status_code == 200 and 'id="closing"' not in agen.content.decode()


# --- Upload and the batch report -------------------------------------------------------------------


def _file_with_a_bad_row() -> tuple[bytes, list[dict[str, Any]]]:
    good = [btoc(external_id="PG-UP-1", amount="3000000"), btob(external_id="PG-UP-2")]
    bad = btob(external_id="PG-UP-3", initiator="me.c080101.2")  # not the institution's ME
    return as_csv([good[0], bad, good[1]]), good


def test_upload_writes_the_good_rows_and_reports_the_bad_one(client_for: Any) -> None:
    c = client_for(PINCA)
    data, good = _file_with_a_bad_row()
    r = upload(c, data)
    assert r.status_code == 302
    batch = IngestBatch.objects.get(pk=int(r["Location"].rstrip("/").split("/")[-1]))
    assert (batch.inserted, batch.unchanged, batch.error_rows) == (2, 0, 1)
    assert set(Closing.objects.filter(batch=batch).values_list("external_id", flat=True)) == {"PG-UP-1", "PG-UP-2"}
    page = c.get(r["Location"]).content.decode()
    assert "BTOB_ME" in page and '<td data-label="Baris">3</td>' in page
    assert f"/penjualan/batch/{batch.pk}/laporan/" in page
    assert f"/penjualan/cabang/{OrgUnit.objects.get(code=BRANCH).pk}/atribusi/" in page
    report = c.get(f"/penjualan/batch/{batch.pk}/laporan/")
    assert report.status_code == 200 and report["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert lines[0] == ["baris", "kolom", "nilai", "alasan", "aturan"]
    assert any(line[0] == "3" and line[4] == "BTOB_ME" for line in lines[1:])


def test_uploading_the_same_file_again_inserts_nothing(client_for: Any) -> None:
    c = client_for(PINCA)
    data, good = _file_with_a_bad_row()
    upload(c, data)
    before = Closing.objects.count()
    r = upload(c, data)
    batch = IngestBatch.objects.get(pk=int(r["Location"].rstrip("/").split("/")[-1]))
    assert (batch.inserted, batch.corrected, batch.unchanged) == (0, 0, len(good))
    assert Closing.objects.count() == before


def test_upload_xlsx(client_for: Any) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(list(ingest.COLUMNS))
    row = btob(external_id="PG-XL-1")
    ws.append([float(row[k]) if k in ("amount", "grams") else row.get(k, "") for k in ingest.COLUMNS])
    buf = io.BytesIO()
    wb.save(buf)
    r = upload(client_for(PINCA), buf.getvalue(), "closing.xlsx")
    assert r.status_code == 302
    closing = Closing.objects.get(external_id="PG-XL-1")
    assert closing.amount == Decimal(1000000) and closing.grams == Decimal("0.5")


def test_upload_skips_the_template_example_and_keeps_line_numbers(client_for: Any) -> None:
    c = client_for(PINCA)
    template = c.get("/penjualan/unggah/templat/")
    assert template.status_code == 200
    lines = template.content.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(ingest.COLUMNS) and len(lines) == 2 and lines[1].startswith("contoh:")
    body = (
        template.content
        + as_csv([btoc(external_id="PG-T-1"), btoc(external_id="PG-T-2", amount="-5")]).split(b"\n", 1)[1]
    )
    r = upload(c, body)
    batch = IngestBatch.objects.get(pk=int(r["Location"].rstrip("/").split("/")[-1]))
    assert batch.inserted == 1 and not Closing.objects.filter(external_id__startswith="contoh:").exists()
    assert [p["line"] for p in batch.report] == [4]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("closing.pdf", b"%PDF-1.4", "Hanya berkas .xlsx atau .csv"),
        ("closing.xlsx", b"not a zip at all", "bukan berkas spreadsheet .xlsx"),
        ("closing.csv", b"", "Berkas kosong"),
        ("closing.csv", b"a,b,c\n1,2,3\n", "Kolom wajib tidak ada"),
        ("closing.csv", (",".join(ingest.COLUMNS) + "\n\n").encode(), "tidak berisi baris data"),
        ("closing.csv", b"\x00\x01\x02", "NUL"),
    ],
)
def test_upload_refuses_junk_and_writes_nothing(client_for: Any, name: str, data: bytes, message: str) -> None:
    before = (IngestBatch.objects.count(), Closing.objects.count())
    r = upload(client_for(PINCA), data, name)
    assert r.status_code == 400
    assert message in r.content.decode()
    assert (IngestBatch.objects.count(), Closing.objects.count()) == before


def test_upload_refuses_too_big_and_too_many_rows(client_for: Any, settings: Any) -> None:
    c = client_for(PINCA)
    settings.SALES_BATCH_MAX_ROWS = 2
    r = upload(c, as_csv([btoc(), btoc(), btoc()]))
    assert r.status_code == 400 and "lebih dari 2 baris" in r.content.decode()
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    r = upload(c, as_csv([btoc()]))
    assert r.status_code == 400 and "terlalu besar" in r.content.decode()
    assert not IngestBatch.objects.exists() or not Closing.objects.filter(external_id__startswith="PG-BTOC").exists()


def test_upload_without_a_file_or_with_a_bad_source(client_for: Any) -> None:
    c = client_for(PINCA)
    assert c.post("/penjualan/unggah/", {"source": "MANUAL"}).status_code == 400
    r = upload(c, as_csv([btoc()]), source="NOPE")
    assert r.status_code == 400 and not Closing.objects.filter(external_id__startswith="PG-BTOC").exists()


def test_upload_rows_outside_the_scope_are_reported(client_for: Any) -> None:
    r = upload(client_for(PINCA), as_csv([digital("C100101", external_id="PG-OUT-1")]))
    batch = IngestBatch.objects.get(pk=int(r["Location"].rstrip("/").split("/")[-1]))
    assert batch.inserted == 0 and batch.error_rows == 1


@pytest.mark.parametrize("username", [ME, "sales.c080101.1", "kry.c080101", "agen.c080101", "auditor", "mitra.pms"])
def test_upload_is_for_ingesters_only(client_for: Any, username: str) -> None:
    c = client_for(username)
    assert c.get("/penjualan/unggah/").status_code == 403
    assert c.get("/penjualan/unggah/templat/").status_code == 403
    assert upload(c, as_csv([btoc()])).status_code == 403


def test_upload_page_renders_for_ingesters(client_for: Any) -> None:
    for username in (PINCA, "dba.a0801", "wil.w08", "pusat", "admin"):
        r = client_for(username).get("/penjualan/unggah/")
        assert r.status_code == 200 and 'name="source"' in r.content.decode()


def test_batch_pages_for_creator_admin_auditor_only(client_for: Any) -> None:
    r = upload(client_for(PINCA), _file_with_a_bad_row()[0])
    url = r["Location"]
    for username in (PINCA, "admin", "auditor"):
        assert client_for(username).get(url).status_code == 200
        assert client_for(username).get(url + "laporan/").status_code == 200
    for username in ("dba.a0801", "pusat", ME, "agen.c080101"):
        assert client_for(username).get(url).status_code == 404
        assert client_for(username).get(url + "laporan/").status_code == 404


# --- Attribution ----------------------------------------------------------------------------------


def test_attribution_equals_a_hand_count_of_the_uploaded_rows(client_for: Any, unit: Any) -> None:
    c = client_for(PINCA)
    rows = [
        btoc(amount="3000000"),
        btoc(amount="1000000", new_customer="tidak"),
        btob(amount="2000000", new_customer="ya"),
        btob(amount="500000", channel="BTOB_LAINNYA"),
    ]
    upload(c, as_csv(rows))
    branch = unit(BRANCH)
    with CaptureQueriesContext(connection) as queries:
        r = c.get(f"/penjualan/cabang/{branch.pk}/atribusi/?{period()}")
    assert r.status_code == 200
    assert not any('"sales_closing"' in q["sql"] for q in queries.captured_queries), "reads the summary only"
    summary = [q for q in queries.captured_queries if "sales_closingsummary" in q["sql"]]
    assert len(summary) == 1 and "GROUP BY" in summary[0]["sql"]

    by = {(s["scheme"], r["channel"]): r for s in r.context["schemes"] for r in s["rows"]}
    hand: dict[tuple[str, str], list[Any]] = {}
    for row in rows:
        h = hand.setdefault((row["scheme"], row["channel"]), [0, Decimal(0), 0])
        h[0] += 1
        h[1] += Decimal(row["amount"])
        h[2] += 1 if row["new_customer"] == "ya" else 0
    for key, (n, amount, new) in hand.items():
        assert (by[key]["count"], by[key]["amount"], by[key]["new_customers"]) == (n, amount, new), key
    assert r.context["total"]["amount"] == Decimal(6500000)
    assert by[("BTOC", "SALES_TEAM")]["share"] == Decimal("61.5")  # 4 000 000 / 6 500 000
    text = r.content.decode()
    assert 'role="img"' in text and "<title>" in text and 'aria-label="Nilai closing per kanal' in text
    assert 'data-label="Sales Team" data-value="4000000"' in text


def test_attribution_access(client_for: Any, unit: Any) -> None:
    branch, area, far = unit(BRANCH), unit("A0801"), unit("C100101")
    assert client_for("agen.c080101").get(f"/penjualan/cabang/{branch.pk}/atribusi/").status_code == 403
    assert client_for(PINCA).get(f"/penjualan/cabang/{far.pk}/atribusi/").status_code == 404
    assert client_for("dba.a0801").get(f"/penjualan/cabang/{area.pk}/atribusi/").status_code == 404
    for username in (PINCA, ME, "kry.c080101", "dba.a0801", "wil.w08", "pusat", "auditor", "mitra.pms"):
        r = client_for(username).get(f"/penjualan/cabang/{branch.pk}/atribusi/?from=2020-13-01&to=x")
        assert r.status_code == 200, username
    empty = client_for(PINCA).get(f"/penjualan/cabang/{branch.pk}/atribusi/?from=2001-01-01&to=2001-01-31")
    assert "Belum ada closing pada periode ini" in empty.content.decode()


def test_an_institutions_closings_are_on_its_timeline(get_user: Any) -> None:
    """The institution's timeline lists its closings by the day they closed (issue 5)."""
    from institutions import selectors as registry
    from sales import ingest as ingestion
    from sales.tests.rows import btob_row, institution

    inst = institution()
    out = ingestion.ingest(actor=get_user("pusat"), source="CORE_EMAS", rows=[btob_row(inst, external_id="TL-1")])
    assert out.inserted == 1, out.problems
    rows = registry.timeline(inst, [], user=get_user("pinca.c080101"))
    assert any(r["action"] == "closing" and "Rp" in str(r["label"]) for r in rows)
    agent_rows = registry.timeline(inst, [], user=get_user("agen.c080101"))
    assert not any(r["action"] == "closing" for r in agent_rows)


def test_the_timeline_shows_only_closings_of_the_readers_scope(get_user: Any) -> None:
    """A national institution's closing made at another region's branch is not
    shown on its timeline to the owning branch."""
    from institutions import selectors as registry
    from sales import ingest as ingestion
    from sales.tests.rows import institution, row

    inst = institution()
    out = ingestion.ingest(
        actor=get_user("pusat"),
        source="CORE_GADAI",
        rows=[
            row(
                external_id="NAT-1",
                branch="C100101",
                initiator="sales.c100101.1",
                institution=str(inst.pk),
                cross_branch_rule="NASIONAL",
                amount="4242421",
            )
        ],
    )
    assert out.inserted == 1, out.problems

    def shows_it(username: str) -> bool:
        rows = registry.timeline(inst, [], user=get_user(username), limit=200)
        return any(
            r["action"] == "closing" and "4242421" in str(r["label"]).replace(".", "").replace(",", "") for r in rows
        )

    assert not shows_it("pinca.c080101")
    assert shows_it("pusat")
