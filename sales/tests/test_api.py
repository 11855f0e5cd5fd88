"""Sales REST API: the batch intake (happy path, resend, correction, bad bodies,
out-of-scope rows, roles), the closings list and one closing (scope, filters,
fixed query count), and the registry endpoints (create through the services,
validation, scope)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from institutions.models import Institution
from sales.ingest import ingest
from sales.models import Closing, ClosingRevision, FleetScheme, IngestBatch, PmpFacility

pytestmark = pytest.mark.django_db

BATCH = "/api/v1/closings/batch"
_serial = itertools.count(1)


def yesterday() -> str:
    return (timezone.localdate() - timedelta(days=1)).isoformat()


def btoc(**over: Any) -> dict[str, Any]:
    row = {
        "external_id": f"T5-C-{next(_serial)}",
        "closed_on": yesterday(),
        "branch": "C080101",
        "product": "GADAI_KCA",
        "amount": "1500000",
        "scheme": "BTOC",
        "channel": "SALES_TEAM",
        "initiator_kind": "SALES",
        "initiator": "sales.c080101.1",
    }
    row.update(over)
    return row


def me_institution() -> Institution:
    inst = Institution.objects.live().filter(branch__code="C080101", me__username="me.c080101.1").order_by("id").first()
    assert inst is not None, "demo data: an institution of me.c080101.1"
    return inst


def btob(**over: Any) -> dict[str, Any]:
    row = {
        "external_id": f"T5-B-{next(_serial)}",
        "closed_on": yesterday(),
        "branch": "C080101",
        "product": "TABUNGAN_EMAS",
        "amount": "600000",
        "grams": "0.5",
        "scheme": "BTOB",
        "channel": "BTOB_LAINNYA",
        "initiator_kind": "ME",
        "initiator": "me.c080101.1",
        "institution": str(me_institution().pk),
    }
    row.update(over)
    return row


def post(client: Client, body: Any, path: str = BATCH) -> Any:
    return client.post(path, body, content_type="application/json")


# --- The batch -------------------------------------------------------------------------------------


def test_batch_inserts_then_a_resend_inserts_nothing(client_for: Any) -> None:
    c = client_for("pinca.c080101")
    rows = [btoc(), btob()]
    r = post(c, {"source": "CORE_GADAI", "rows": rows})
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["inserted"], body["corrected"], body["unchanged"], body["errors"]) == (2, 0, 0, 0)
    assert body["problems"] == []
    batch = IngestBatch.objects.get(pk=body["batch"])
    assert batch.via == "api" and batch.inserted == 2
    assert Closing.objects.filter(external_id__in=[r["external_id"] for r in rows]).count() == 2

    again = post(c, {"source": "CORE_GADAI", "rows": rows}, path=BATCH + "/").json()
    assert (again["inserted"], again["corrected"], again["unchanged"]) == (0, 0, 2)
    assert Closing.objects.filter(external_id__in=[r["external_id"] for r in rows]).count() == 2


def test_a_changed_amount_is_a_correction_with_a_revision(client_for: Any) -> None:
    c = client_for("pinca.c080101")
    row = btoc()
    post(c, {"source": "CORE_GADAI", "rows": [row]})
    changed = dict(row, amount="2500000")
    body = post(c, {"source": "CORE_GADAI", "rows": [changed]}).json()
    assert (body["inserted"], body["corrected"], body["unchanged"]) == (0, 1, 0)
    closing = Closing.objects.get(source="CORE_GADAI", external_id=row["external_id"])
    assert closing.amount == 2500000 and closing.revision == 2
    rev = ClosingRevision.objects.get(closing=closing)
    assert rev.before["amount"] == "1500000" and rev.after["amount"] == "2500000"


def test_bad_rows_are_reported_and_the_good_ones_kept(client_for: Any) -> None:
    good, bad = btoc(), btoc(channel="FLEET")
    body = post(client_for("pinca.c080101"), {"source": "CORE_GADAI", "rows": [good, bad]}).json()
    assert body["inserted"] == 1 and body["errors"] == 1
    assert any(p["rule"] == "SKEMA_KANAL" and p["line"] == 2 + 1 for p in body["problems"])


def test_problems_in_the_answer_are_capped_but_all_kept_on_the_batch(client_for: Any) -> None:
    rows = [btoc(amount="-1") for _ in range(320)]
    body = post(client_for("pusat"), {"source": "CORE_GADAI", "rows": rows}).json()
    assert body["errors"] == 320 and body["problems_total"] == 320
    assert len(body["problems"]) == 300
    assert len(IngestBatch.objects.get(pk=body["batch"]).report) == 320


@pytest.mark.parametrize(
    ("body", "key", "words"),
    [
        ([btoc()], "detail", "objek JSON"),
        ({"source": "CORE_GADAI", "rows": {"a": 1}}, "rows", "daftar"),
        ({"source": "CORE_GADAI"}, "rows", "daftar"),
        ({"source": "SAP", "rows": []}, "source", "Sumber tidak dikenal"),
        ({"rows": []}, "source", "Sumber tidak dikenal"),
    ],
)
def test_a_malformed_body_is_400_with_a_clear_message(client_for: Any, body: Any, key: str, words: str) -> None:
    batches = IngestBatch.objects.count()
    r = post(client_for("pinca.c080101"), body)
    assert r.status_code == 400
    detail = r.json()[key]
    assert words in (detail if isinstance(detail, str) else detail[0])
    assert IngestBatch.objects.count() == batches


def test_too_many_rows_is_400(client_for: Any, settings: Any) -> None:
    settings.SALES_BATCH_MAX_ROWS = 2
    r = post(client_for("pinca.c080101"), {"source": "CORE_GADAI", "rows": [btoc(), btoc(), btoc()]})
    assert r.status_code == 400 and "Paling banyak 2 baris" in r.json()["rows"][0]


def test_invalid_json_is_400(client_for: Any) -> None:
    r = client_for("pinca.c080101").post(BATCH, "{not json", content_type="application/json")
    assert r.status_code == 400


def test_a_pinca_of_another_branch_gets_per_row_problems(client_for: Any) -> None:
    rows = [btoc(), btoc()]
    r = post(client_for("pinca.c080102"), {"source": "CORE_GADAI", "rows": rows})
    assert r.status_code == 200
    body = r.json()
    assert body["inserted"] == 0 and body["errors"] == 2
    assert [p["reason"] for p in body["problems"] if p["column"] == "branch"] == ["Cabang di luar cakupan Anda."] * 2
    assert not Closing.objects.filter(external_id__in=[r["external_id"] for r in rows]).exists()


@pytest.mark.parametrize("username", ["agen.c080101", "me.c080101.1", "sales.c080101.1", "auditor", "mitra.pms"])
def test_batch_refused_to_roles_that_do_not_ingest(client_for: Any, username: str) -> None:
    row = btoc()
    assert post(client_for(username), {"source": "CORE_GADAI", "rows": [row]}).status_code == 403
    assert not Closing.objects.filter(external_id=row["external_id"]).exists()


def test_batch_anonymous_is_401() -> None:
    assert post(Client(), {"source": "CORE_GADAI", "rows": []}).status_code == 401
    assert post(Client(), {"source": "CORE_GADAI", "rows": []}, path=BATCH + "/").status_code == 401


def test_batch_by_token(get_user: Any) -> None:
    from rest_framework.authtoken.models import Token

    token, _ = Token.objects.get_or_create(user=get_user("admin"))
    c = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    body = post(c, {"source": "CORE_EMAS", "rows": [btoc()]}).json()
    assert body["inserted"] == 1


# --- Closings list and detail -----------------------------------------------------------------------


def _ingest(rows: list[dict[str, Any]]) -> None:
    out = ingest(actor=None, source="CORE_GADAI", rows=rows, via="api")
    assert not out.problems, out.problems


def test_list_is_scoped_and_filtered(client_for: Any) -> None:
    a, b, other = btoc(), btob(), btoc(branch="C080102", channel="DIGITAL", initiator_kind="DIGITAL", initiator="")
    _ingest([a, b, other])
    mine = client_for("pinca.c080101").get("/api/v1/closings/?page_size=500").json()
    ids = {r["external_id"] for r in mine["results"]}
    assert {a["external_id"], b["external_id"]} <= ids and other["external_id"] not in ids
    only_btob = client_for("pinca.c080101").get("/api/v1/closings/?scheme=BTOB&page_size=500").json()
    assert {r["scheme"] for r in only_btob["results"]} == {"BTOB"}
    assert b["external_id"] in {r["external_id"] for r in only_btob["results"]}
    day = yesterday()
    nothing = client_for("dba.a0801").get(f"/api/v1/closings/?from={day}&to={day}").status_code
    assert nothing == 400  # half-open: "to" after "from"
    assert client_for("dba.a0801").get("/api/v1/closings/?channel=NOPE").status_code == 400
    area = client_for("dba.a0801").get(f"/api/v1/closings/?institution={b['institution']}&page_size=500").json()
    assert [r["external_id"] for r in area["results"] if r["external_id"].startswith("T5-")] == [b["external_id"]]


def test_list_refused_to_agen_and_anonymous(client_for: Any) -> None:
    assert client_for("agen.c080101").get("/api/v1/closings/").status_code == 403
    assert Client().get("/api/v1/closings/").status_code == 401


def test_detail_is_404_outside_scope(client_for: Any) -> None:
    row = btoc()
    _ingest([row])
    closing = Closing.objects.get(source="CORE_GADAI", external_id=row["external_id"])
    got = client_for("pinca.c080101").get(f"/api/v1/closings/{closing.pk}/")
    assert got.status_code == 200 and got.json()["branch"]["code"] == "C080101"
    assert client_for("pinca.c080102").get(f"/api/v1/closings/{closing.pk}/").status_code == 404
    assert client_for("agen.c080101").get(f"/api/v1/closings/{closing.pk}/").status_code == 404


def test_list_query_count_is_fixed(client_for: Any) -> None:
    c = client_for("dba.a0801")
    _ingest([btoc()])
    c.get("/api/v1/closings/?page_size=200")
    with CaptureQueriesContext(connection) as few:
        c.get("/api/v1/closings/?page_size=200")
    _ingest([btoc() for _ in range(20)] + [btob() for _ in range(20)])
    with CaptureQueriesContext(connection) as many:
        r = c.get("/api/v1/closings/?page_size=200")
    assert r.status_code == 200 and len(many) == len(few)


# --- Registries ------------------------------------------------------------------------------------


def _inst(code: str) -> Institution:
    inst = Institution.objects.live().filter(branch__code=code).order_by("id").first()
    assert inst is not None
    return inst


def test_registry_create_through_the_service(client_for: Any) -> None:
    inst = _inst("C080101")
    r = client_for("pinca.c080101").post(
        "/api/v1/fleet-schemes/",
        {"operator": inst.pk, "name": "Fleet API", "fleet_size": 12, "vehicles_financed": 3},
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["operator"]["id"] == inst.pk and body["branch"]["code"] == "C080101"
    assert FleetScheme.objects.get(pk=body["id"]).area_id == inst.area_id


def test_registry_create_validates_with_the_service_message(client_for: Any) -> None:
    c = client_for("pinca.c080101")
    r = c.post(
        "/api/v1/fleet-schemes/",
        {"operator": _inst("C080101").pk, "name": "X", "fleet_size": 1, "vehicles_financed": 2},
        content_type="application/json",
    )
    assert r.status_code == 400
    assert r.json()["vehicles_financed"] == ["Kendaraan dibiayai tidak boleh melebihi jumlah armada."]
    r = c.post(
        "/api/v1/pmp-facilities/",
        {"borrower": _inst("C080101").pk, "reference": "PMP-API", "ceiling": "0"},
        content_type="application/json",
    )
    assert r.status_code == 400 and "lebih dari nol" in r.json()["ceiling"][0]
    r = c.post(
        "/api/v1/pmp-facilities/",
        {"borrower": _inst("C080102").pk, "reference": "PMP-API", "ceiling": "10"},
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["borrower"] == ["Lembaga tidak ditemukan."]
    assert not PmpFacility.objects.filter(reference="PMP-API").exists()


def test_registry_create_refused_and_lists_scoped(client_for: Any) -> None:
    body = {"code": "AG-API", "name": "Agen"}
    assert client_for("me.c080101.1").post("/api/v1/agents/", body, content_type="application/json").status_code == 403
    assert client_for("agen.c080101").get("/api/v1/agents/").status_code == 403
    assert Client().get("/api/v1/agents/").status_code == 401
    made = client_for("pinca.c080101").post("/api/v1/agents/", body, content_type="application/json")
    assert made.status_code == 201 and made.json()["branch"]["code"] == "C080101"
    assert "AG-API" in {
        a["code"] for a in client_for("pinca.c080101").get("/api/v1/agents/?page_size=500").json()["results"]
    }
    assert "AG-API" not in {
        a["code"] for a in client_for("pinca.c080102").get("/api/v1/agents/?page_size=500").json()["results"]
    }
    # Pusat names the branch of a new agent (it sees more than one).
    pusat = client_for("pusat").post("/api/v1/agents/", {"code": "AG-P", "name": "P"}, content_type="application/json")
    assert pusat.status_code == 400 and "cabang" in str(pusat.json()).lower()
