"""The activities REST API: idempotent create, evidence refusals, scope (an id
outside it is the same as a missing one), forbidden writes, lead hand-off and
status, masking of a lead's phone and e-mail outside its branch, the pipeline
move through the API, maintenance visits with their overdue flag, and lists
whose query count does not grow with their length.

Test data is made with the services (activities.services, institutions.pipeline)
on new institutions, never read from the demo's own activities.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from activities import services
from activities.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Evidence,
    Lead,
    LeadStatus,
    MaintenancePlan,
    PlanStatus,
    VisitStatus,
)
from core.models import Notification
from institutions import pipeline
from institutions.models import Institution, Stage
from institutions.tests.factories import make_institution
from org.models import User

pytestmark = pytest.mark.django_db

ACTIVITIES = "/api/v1/activities/"
EVENTS = "/api/v1/events/"
PLANS = "/api/v1/maintenance-plans/"
LEADS = "/api/v1/leads/"
MISSING = 999_999_999

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
# A Windows program (MZ header) renamed to look like a photo.
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
OUTCOME = "Diterima Kepala Bagian SDM; sepakat jadwal sosialisasi."


def _user(username: str) -> User:
    return User.objects.get(username=username)


def _inst(branch: str = "C080101", me: str | None = "me.c080101.1", **kw: Any) -> Institution:
    return make_institution(branch=branch, me=_user(me) if me else None, **kw)


def _ago(days: float) -> Any:
    return timezone.now() - timedelta(days=days)


def _ahead(days: float) -> str:
    return (timezone.now() + timedelta(days=days)).replace(microsecond=0).isoformat()


def _activity(
    inst: Institution, kind: str = ActivityKind.KOMUNIKASI_AWAL, *, days_ago: float = 1, **kw: Any
) -> Activity:
    """A completed activity recorded by the system (no actor), the institution's ME doing it."""
    kw.setdefault("status", ActivityStatus.DONE)
    if kw["status"] == ActivityStatus.DONE:
        kw.setdefault("outcome", OUTCOME)
    act, created = services.activity_create(actor=None, kind=kind, starts_at=_ago(days_ago), institution=inst, **kw)
    assert created
    return act


def _lead(inst: Institution, **kw: Any) -> Lead:
    values: dict[str, Any] = {
        "name": "Siti Rahmawati",
        "phone": "0812-3456-7890",
        "email": "siti.rahmawati@example.co.id",
        "product": "TABUNGAN_EMAS",
        "purpose": "Menghubungi calon nasabah yang berminat Tabungan Emas",
        "lawful_basis": "PERSETUJUAN",
    }
    values.update(kw)
    lead, created = services.lead_create(actor=None, institution=inst, **values)
    assert created
    return lead


def _walk_to_eksekusi(inst: Institution) -> Institution:
    """Every stage's evidence, then every move, through the services."""
    pinca = _user("pinca.c080101")
    _activity(inst, ActivityKind.KOMUNIKASI_AWAL, days_ago=4)
    pipeline.stage_move(actor=None, institution=inst, to_stage=Stage.KOMUNIKASI_AWAL)
    _activity(inst, ActivityKind.AUDIENSI, days_ago=3, participants=[pinca.pk])
    pipeline.stage_move(actor=None, institution=inst, to_stage=Stage.AUDIENSI)
    _activity(inst, ActivityKind.KOMUNIKASI_LANJUTAN, days_ago=2)
    pipeline.stage_move(actor=None, institution=inst, to_stage=Stage.KERJA_SAMA)
    _lead(inst)
    pipeline.stage_move(actor=None, institution=inst, to_stage=Stage.EKSEKUSI)
    inst.refresh_from_db()
    assert inst.stage == Stage.EKSEKUSI
    return inst


def _post(c: Client, url: str, body: dict[str, Any]) -> Any:
    return c.post(url, body, content_type="application/json")


def _patch(c: Client, url: str, body: dict[str, Any]) -> Any:
    return c.patch(url, body, content_type="application/json")


def _visit_body(inst: Institution, **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "KOMUNIKASI_AWAL",
        "status": "DONE",
        "starts_at": _ago(0.1).replace(microsecond=0).isoformat(),
        "institution": inst.pk,
        "place": "Kantor lembaga",
        "outcome": OUTCOME,
    }
    body.update(kw)
    return body


# --- Idempotent create --------------------------------------------------------------------------


def test_the_same_client_id_twice_creates_one_activity(client_for: Any) -> None:
    inst = _inst()
    c = client_for("me.c080101.1")
    body = _visit_body(inst, client_id=str(uuid.uuid4()))
    first = _post(c, ACTIVITIES, body)
    assert first.status_code == 201, first.content
    again = _post(c, ACTIVITIES, body)
    assert again.status_code == 200, again.content
    assert again.json()["id"] == first.json()["id"]
    assert Activity.objects.filter(institution=inst).count() == 1
    assert first.json()["me"]["id"] == _user("me.c080101.1").pk
    assert first.json()["status"] == "DONE" and first.json()["institution"]["id"] == inst.pk


def test_a_retried_multipart_create_stores_its_evidence_once(client_for: Any) -> None:
    inst = _inst(latitude="-6.150000", longitude="106.700000")
    c = client_for("me.c080101.1")
    client_id = str(uuid.uuid4())

    def send() -> Any:
        body = _visit_body(
            inst,
            client_id=client_id,
            participants=[_user("pinca.c080101").pk],
            checkin_latitude="-6.250000",
            checkin_longitude="106.700000",
            checkin_accuracy_m=20,
            evidence=SimpleUploadedFile("kunjungan.jpg", JPEG, content_type="image/jpeg"),
        )
        return c.post(ACTIVITIES, body)  # multipart

    first, again = send(), send()
    assert (first.status_code, again.status_code) == (201, 200), (first.content, again.content)
    data = again.json()
    assert data["id"] == first.json()["id"]
    assert Evidence.objects.filter(activity_id=data["id"]).count() == 1
    assert [e["name"] for e in data["evidence"]] == ["kunjungan.jpg"]
    assert [p["role"] for p in data["participants"]] == ["PINCA"]
    # About 11 km from the institution's coordinates: flagged as far.
    assert data["checkin_far"] is True and data["checkin_accuracy_m"] == 20


def test_someone_elses_client_id_is_refused_and_reveals_nothing(client_for: Any) -> None:
    inst = _inst()
    body = _visit_body(inst, client_id=str(uuid.uuid4()))
    assert _post(client_for("me.c080101.1"), ACTIVITIES, body).status_code == 201
    other = _post(client_for("pinca.c080101"), ACTIVITIES, {**body, "me": _user("me.c080101.1").pk})
    assert other.status_code == 400
    assert other.json()["code"] == "client_id_taken"
    assert "id" not in other.json()
    assert Activity.objects.filter(institution=inst).count() == 1


def test_lead_create_is_idempotent_too(client_for: Any) -> None:
    inst = _inst()
    c = client_for("me.c080101.1")
    body = {
        "client_id": str(uuid.uuid4()),
        "institution": inst.pk,
        "name": "Rudi Hartono",
        "phone": "0813-2222-3344",
        "product": "CICIL_EMAS",
        "purpose": "Menawarkan Cicil Emas kepada anggota koperasi",
        "lawful_basis": "PERSETUJUAN",
    }
    first, again = _post(c, LEADS, body), _post(c, LEADS, body)
    assert (first.status_code, again.status_code) == (201, 200), (first.content, again.content)
    assert first.json()["id"] == again.json()["id"]
    assert Lead.objects.filter(institution=inst).count() == 1


# --- Evidence refusals ----------------------------------------------------------------------------


def _media_files(settings: Any) -> list[Any]:
    from pathlib import Path

    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_an_exe_renamed_jpg_is_refused(client_for: Any, settings: Any) -> None:
    inst = _inst()
    act = _activity(inst)
    c = client_for("me.c080101.1")
    fake = SimpleUploadedFile("foto-kunjungan.jpg", EXE, content_type="image/jpeg")
    r = c.post(f"{ACTIVITIES}{act.pk}/evidence/", {"evidence": fake})
    assert r.status_code == 400
    assert r.json()["evidence"] == ["Berkas foto-kunjungan.jpg bukan foto (JPEG, PNG, WebP, HEIC) atau PDF."]
    assert not act.evidence.exists() and _media_files(settings) == []
    # The same refusal when the file comes with a new activity: nothing is created.
    fake = SimpleUploadedFile("foto-kunjungan.jpg", EXE, content_type="image/jpeg")
    r = c.post(ACTIVITIES, {**_visit_body(inst), "evidence": fake})
    assert r.status_code == 400 and "bukan foto" in r.json()["evidence"][0]
    assert Activity.objects.filter(institution=inst).count() == 1
    assert _media_files(settings) == []


def test_a_file_over_the_limit_is_refused(client_for: Any, settings: Any) -> None:
    settings.EVIDENCE_MAX_BYTES = 1024
    act = _activity(_inst())
    big = SimpleUploadedFile("foto-besar.jpg", JPEG + b"\x00" * 2048, content_type="image/jpeg")
    r = client_for("me.c080101.1").post(f"{ACTIVITIES}{act.pk}/evidence/", {"evidence": big})
    assert r.status_code == 400
    assert r.json()["code"] == "evidence_too_large"
    assert "terlalu besar" in r.json()["evidence"][0]
    assert not act.evidence.exists() and _media_files(settings) == []


def test_evidence_is_added_and_served_through_the_scope_check(client_for: Any) -> None:
    act = _activity(_inst())
    c = client_for("me.c080101.1")
    ok = SimpleUploadedFile("bukti.jpg", JPEG, content_type="image/jpeg")
    r = c.post(f"{ACTIVITIES}{act.pk}/evidence/", {"evidence": ok})
    assert r.status_code == 201, r.content
    [row] = r.json()
    assert row["content_type"] == "image/jpeg" and row["name"] == "bukti.jpg"
    assert row["url"] == f"/aktivitas/{act.pk}/bukti/{row['id']}/"
    assert c.post(f"{ACTIVITIES}{act.pk}/evidence/", {}).status_code == 400  # no file


# --- Scope and refusals ---------------------------------------------------------------------------


def test_an_out_of_scope_institution_is_the_same_400_as_a_missing_one(client_for: Any) -> None:
    outside = _inst("C100101", me=None, province_code="32", regency_code="32.73")
    c = client_for("pinca.c080101")
    hidden = _post(c, ACTIVITIES, _visit_body(outside, me=_user("me.c080101.1").pk))
    missing = _post(c, ACTIVITIES, {**_visit_body(outside, me=_user("me.c080101.1").pk), "institution": MISSING})
    assert hidden.status_code == missing.status_code == 400
    assert hidden.json() == missing.json() == {"institution": ["Lembaga tidak ditemukan."]}
    assert not Activity.objects.filter(institution=outside).exists()
    # The same for a lead and a plan.
    lead = {
        "name": "Budi",
        "phone": "081234567890",
        "product": "KRASIDA",
        "purpose": "x",
        "lawful_basis": "PERSETUJUAN",
    }
    assert (
        _post(c, LEADS, {**lead, "institution": outside.pk}).json()
        == _post(c, LEADS, {**lead, "institution": MISSING}).json()
    )
    plan = {"starts_on": timezone.localdate().isoformat()}
    assert (
        _post(c, PLANS, {**plan, "institution": outside.pk}).json()
        == _post(c, PLANS, {**plan, "institution": MISSING}).json()
    )


def test_out_of_scope_people_and_visits_are_unknown_ids(client_for: Any) -> None:
    inst = _inst()
    c = client_for("pinca.c080101")
    outsider = _user("pinca.c080102")
    for field, value in (("me", outsider.pk), ("participants", [outsider.pk]), ("visit", MISSING)):
        r = _post(c, ACTIVITIES, _visit_body(inst, **{field: value}))
        assert r.status_code == 400 and field in r.json(), (field, r.content)
    hidden = _post(c, ACTIVITIES, _visit_body(inst, participants=[outsider.pk]))
    missing = _post(c, ACTIVITIES, _visit_body(inst, participants=[MISSING]))
    assert hidden.json() == missing.json()


def test_an_out_of_scope_activity_is_the_same_404_as_a_missing_one(client_for: Any) -> None:
    outside = _inst("C100101", me="me.c100101.1", province_code="32", regency_code="32.73")
    act = _activity(outside)
    c = client_for("me.c080101.1")
    for method, url in (
        ("get", f"{ACTIVITIES}{{}}/"),
        ("patch", f"{ACTIVITIES}{{}}/"),
        ("get", f"{EVENTS}{{}}/"),
    ):
        hidden = getattr(c, method)(url.format(act.pk), {}, content_type="application/json")
        missing = getattr(c, method)(url.format(MISSING), {}, content_type="application/json")
        assert hidden.status_code == missing.status_code == 404, (method, url)
        assert hidden.json() == missing.json()
    ev = SimpleUploadedFile("bukti.jpg", JPEG, content_type="image/jpeg")
    assert c.post(f"{ACTIVITIES}{act.pk}/evidence/", {"evidence": ev}).status_code == 404
    # Not listed either.
    assert client_for("dba.a0801").get(ACTIVITIES, {"institution": outside.pk}).json()["count"] == 0
    assert client_for("wil.w10").get(ACTIVITIES, {"institution": outside.pk}).json()["count"] == 1


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("me.c080101.1", 200),  # their own
        ("pinca.c080101", 200),  # their branch
        ("me.c080101.2", 403),  # another ME of the branch
        ("sales.c080101.1", 403),
        ("dba.a0801", 403),  # reads, does not write
        ("auditor", 403),
        ("agen.c080101", 404),  # sees no activities at all
    ],
)
def test_who_may_change_an_activity(client_for: Any, username: str, status: int) -> None:
    act = _activity(_inst())
    r = _patch(client_for(username), f"{ACTIVITIES}{act.pk}/", {"next_step": "Kirim proposal kerja sama"})
    assert r.status_code == status, r.content
    act.refresh_from_db()
    assert (act.next_step == "Kirim proposal kerja sama") == (status == 200)


@pytest.mark.parametrize("username", ["sales.c080101.1", "dba.a0801", "kry.c080101", "auditor", "agen.c080101"])
def test_who_may_not_record_is_refused_before_the_body_is_read(client_for: Any, username: str) -> None:
    c = client_for(username)
    for url in (ACTIVITIES, EVENTS, PLANS, LEADS):
        r = _post(c, url, {})
        assert r.status_code == 403, (url, r.content)


def test_patch_completes_or_cancels_and_keeps_the_rules(client_for: Any) -> None:
    inst = _inst()
    c = client_for("me.c080101.1")
    planned = _post(
        c, ACTIVITIES, {**_visit_body(inst), "status": "PLANNED", "outcome": "", "starts_at": _ahead(-0.05)}
    )
    assert planned.status_code == 201, planned.content
    url = f"{ACTIVITIES}{planned.json()['id']}/"
    # Done needs an outcome: the service's message, nothing changed.
    r = _patch(c, url, {"status": "DONE"})
    assert r.status_code == 400 and r.json()["code"] == "outcome_required"
    r = _patch(c, url, {"status": "DONE", "outcome": OUTCOME})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "DONE" and r.json()["outcome"] == OUTCOME
    r = _patch(c, url, {"status": "CANCELLED"})
    assert r.status_code == 400 and "status" in r.json()
    assert _patch(c, url, {"status": "PLANNED"}).status_code == 400
    assert _patch(c, url, {"checkin_latitude": "-6.2"}).status_code == 400  # half a location
    assert _patch(c, url, {}).status_code == 400


# --- Lists and filters ------------------------------------------------------------------------------


def test_activity_filters_take_jakarta_days_half_open(client_for: Any) -> None:
    inst = _inst()
    pinca = _user("pinca.c080101")
    monday = timezone.localdate() - timedelta(days=10)
    for i in range(3):
        start = timezone.make_aware(datetime.combine(monday + timedelta(days=i), time.min))
        # 00:30 Jakarta is the previous day in UTC: the Jakarta day counts.
        services.activity_create(
            actor=None,
            kind=ActivityKind.AUDIENSI if i == 2 else ActivityKind.KOMUNIKASI_AWAL,
            status=ActivityStatus.DONE,
            starts_at=start + timedelta(minutes=30),
            institution=inst,
            outcome=OUTCOME,
            participants=[pinca.pk],
        )
    c = client_for("pinca.c080101")
    base = {"institution": inst.pk}

    def days(**params: Any) -> list[str]:
        r = c.get(ACTIVITIES, {**base, **params})
        assert r.status_code == 200, r.content
        return sorted(row["day"] for row in r.json()["results"])

    first, second, third = (str(monday + timedelta(days=i)) for i in range(3))
    assert days(**{"from": first, "to": third}) == [first, second]
    assert days(**{"from": second}) == [second, third]
    assert days(kind="AUDIENSI") == [third]
    assert days(status="PLANNED") == []
    assert days(me=_user("me.c080101.1").pk) == [first, second, third]
    assert days(me=_user("me.c080101.2").pk) == []
    assert c.get(ACTIVITIES, {"from": "kemarin"}).status_code == 400
    r = c.get(ACTIVITIES, {"from": third, "to": first})
    assert r.status_code == 400 and "to" in r.json()
    assert c.get(ACTIVITIES, {"kind": "RAPAT"}).status_code == 400


def test_events_list_only_events_with_their_team_and_leads(client_for: Any) -> None:
    inst = _inst()
    c = client_for("me.c080101.1")
    sales = _user("sales.c080101.1")
    r = _post(
        c,
        EVENTS,
        {
            "kind": "SOSIALISASI",
            "starts_at": _ahead(5),
            "institution": inst.pk,
            "title": "Sosialisasi Tabungan Emas",
            "products": ["TABUNGAN_EMAS", "CICIL_EMAS"],
            "attendance": 120,
            "participants": [sales.pk],
        },
    )
    assert r.status_code == 201, r.content
    event = r.json()
    assert event["lead_count"] == 0 and event["products"] == ["TABUNGAN_EMAS", "CICIL_EMAS"]
    assert [(p["id"], p["role"]) for p in event["participants"]] == [(sales.pk, "SALES")]
    source = Activity.objects.get(pk=event["id"])
    for name in ("Ani", "Bambang"):
        _lead(inst, name=name, source_activity=source)
    visit = _activity(inst)
    rows = c.get(EVENTS, {"institution": inst.pk}).json()["results"]
    assert [(row["id"], row["lead_count"]) for row in rows] == [(event["id"], 2)]
    assert c.get(f"{EVENTS}{event['id']}/").json()["lead_count"] == 2
    assert c.get(f"{EVENTS}{visit.pk}/").status_code == 404  # an activity, not an event
    assert c.get(f"{ACTIVITIES}{visit.pk}/").status_code == 200
    r = _post(c, EVENTS, {"kind": "KOMUNIKASI_AWAL", "starts_at": _ahead(5), "institution": inst.pk})
    assert r.status_code == 400 and "kind" in r.json()
    assert Activity.objects.filter(institution=inst).count() == 2


# --- Leads: hand-off, status, personal data -------------------------------------------------------------


def test_lead_hand_off_and_status_through_patch(client_for: Any) -> None:
    inst = _inst()
    lead = _lead(inst)
    url = f"{LEADS}{lead.pk}/"
    sales = _user("sales.c080101.1")
    due = (timezone.localdate() + timedelta(days=3)).isoformat()
    # Only to a sales member of the branch; not by another sales member.
    r = _patch(client_for("pinca.c080101"), url, {"assigned_to": _user("kry.c080101").pk})
    assert r.status_code == 400 and r.json()["code"] == "not_branch_sales"
    assert _patch(client_for("sales.c080101.2"), url, {"assigned_to": sales.pk}).status_code == 403
    r = _patch(client_for("pinca.c080101"), url, {"assigned_to": sales.pk, "due_on": due})
    assert r.status_code == 200, r.content
    assert r.json()["assigned_to"]["id"] == sales.pk and r.json()["due_on"] == due
    assert Notification.objects.filter(user=sales).exists()
    # The member it was handed to moves it on; another member may not.
    assert _patch(client_for("sales.c080101.2"), url, {"status": "TERTARIK"}).status_code == 403
    r = _patch(client_for("sales.c080101.1"), url, {"status": "TERTARIK", "note": "Minta simulasi cicilan"})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "TERTARIK"
    r = _patch(client_for("sales.c080101.1"), url, {"status": "BARU"})
    assert r.status_code == 400 and r.json()["code"] == "lead_transition"
    r = _patch(client_for("sales.c080101.1"), url, {"status": "TIDAK_TERTARIK"})
    assert r.status_code == 400 and "note" in r.json()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.TERTARIK
    # The assigned member finds it by filter.
    rows = client_for("sales.c080101.1").get(LEADS, {"assigned_to": sales.pk, "open": "true", "institution": inst.pk})
    assert [row["id"] for row in rows.json()["results"]] == [lead.pk]


def test_lead_phone_and_email_are_masked_outside_the_branch(client_for: Any) -> None:
    lead = _lead(_inst(), phone="0812-3456-7890", email="siti.rahmawati@example.co.id")
    owner = client_for("pinca.c080101").get(f"{LEADS}{lead.pk}/").json()
    assert (owner["phone"], owner["email"], owner["masked"]) == (
        "0812-3456-7890",
        "siti.rahmawati@example.co.id",
        False,
    )
    for username in ("dba.a0801", "wil.w08", "auditor"):
        outside = client_for(username).get(f"{LEADS}{lead.pk}/").json()
        assert (outside["phone"], outside["email"], outside["masked"]) == ("••••••90", "s•••@example.co.id", True)
        listed = client_for(username).get(LEADS, {"institution": lead.institution_id}).json()["results"]
        assert [(row["phone"], row["email"]) for row in listed] == [("••••••90", "s•••@example.co.id")]
        assert "3456" not in str(listed)


@pytest.mark.parametrize("username", ["agen.c080101", "kry.c080101", "mitra.pms"])
def test_roles_without_leads_get_an_empty_list_and_403(client_for: Any, username: str) -> None:
    lead = _lead(_inst())
    c = client_for(username)
    r = c.get(LEADS)
    assert r.status_code == 200 and r.json()["count"] == 0
    assert c.get(f"{LEADS}{lead.pk}/").status_code == 403


# --- Pipeline moves through the API -------------------------------------------------------------------------


def test_stage_move_is_refused_with_what_is_missing_then_allowed(client_for: Any) -> None:
    inst = _inst()
    c = client_for("me.c080101.1")
    url = f"/api/v1/institutions/{inst.pk}/stage/"
    r = _post(c, url, {"to_stage": "KOMUNIKASI_AWAL"})
    assert r.status_code == 400
    assert r.json()["stage"] == [
        "Belum bisa pindah ke Komunikasi awal: Belum ada aktivitas komunikasi awal yang selesai dengan lembaga ini."
    ]
    inst.refresh_from_db()
    assert inst.stage == Stage.IDENTIFIKASI
    # The evidence, recorded through the API, then the move.
    assert _post(c, ACTIVITIES, _visit_body(inst)).status_code == 201
    r = _post(c, url, {"to_stage": "KOMUNIKASI_AWAL", "note": "Sudah bertemu Kepala SDM"})
    assert r.status_code == 200, r.content
    assert (r.json()["from_stage"], r.json()["to_stage"]) == ("IDENTIFIKASI", "KOMUNIKASI_AWAL")
    assert r.json()["by"]["id"] == _user("me.c080101.1").pk
    inst.refresh_from_db()
    assert inst.stage == Stage.KOMUNIKASI_AWAL
    # An audience the branch head did not attend is not the evidence AUDIENSI needs.
    _activity(inst, ActivityKind.AUDIENSI, days_ago=0.5)
    r = _post(c, url, {"to_stage": "AUDIENSI"})
    assert r.status_code == 400 and "belum dihadiri Pemimpin Cabang" in r.json()["stage"][0]
    assert _post(c, url, {"to_stage": "MENANG"}).status_code == 400


@pytest.mark.parametrize(
    ("username", "status"),
    [("sales.c080101.1", 403), ("auditor", 403), ("me.c080101.2", 403), ("me.c100101.1", 404), ("pinca.c080101", 200)],
)
def test_stage_move_permissions(client_for: Any, username: str, status: int) -> None:
    inst = _inst()
    r = _post(
        client_for(username), f"/api/v1/institutions/{inst.pk}/stage/", {"to_stage": "TIDAK_BERMINAT", "note": "x"}
    )
    assert r.status_code == status, r.content


# --- Maintenance plans ----------------------------------------------------------------------------------------


def test_plan_visits_carry_the_overdue_flag_and_the_plan_ends(client_for: Any) -> None:
    inst = _walk_to_eksekusi(_inst())
    c = client_for("me.c080101.1")
    today = timezone.localdate()
    start = today - timedelta(days=21)
    r = _post(
        c, PLANS, {"institution": inst.pk, "frequency": "WEEKLY", "starts_on": start.isoformat(), "grace_days": 3}
    )
    assert r.status_code == 201, r.content
    plan = r.json()
    visits = {v["due_on"]: v for v in plan["visits"]}
    # Due 21 and 14 days ago: past the 3-day grace. Due 7 days ago: overdue from day 4 after. Today: not yet.
    assert visits[str(start)]["is_overdue"] and visits[str(start + timedelta(days=14))]["is_overdue"]
    assert visits[str(today)]["is_overdue"] is False
    assert visits[str(today)]["overdue_on"] == str(today + timedelta(days=4))
    assert plan["overdue_count"] == 3
    # A second active plan for the same institution is refused.
    again = _post(c, PLANS, {"institution": inst.pk, "starts_on": today.isoformat()})
    assert again.status_code == 400 and again.json()["code"] == "plan_exists"
    # Other roles read it; the ME who does not own it may not end it.
    assert client_for("dba.a0801").get(f"{PLANS}{plan['id']}/").status_code == 200
    assert _post(client_for("me.c080101.2"), f"{PLANS}{plan['id']}/end/", {"reason": "x"}).status_code == 403
    assert _post(c, f"{PLANS}{plan['id']}/end/", {}).status_code == 400  # a reason is required
    r = _post(c, f"{PLANS}{plan['id']}/end/", {"reason": "Lembaga pindah lokasi"})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "ENDED"
    later = [v for v in r.json()["visits"] if v["due_on"] >= str(today)]
    assert later and all(v["status"] == VisitStatus.CANCELLED for v in later)
    assert MaintenancePlan.objects.get(pk=plan["id"]).status == PlanStatus.ENDED
    assert _post(c, f"{PLANS}{plan['id']}/end/", {"reason": "lagi"}).status_code == 400


def test_a_plan_needs_an_executed_institution(client_for: Any) -> None:
    inst = _inst()
    r = _post(
        client_for("me.c080101.1"), PLANS, {"institution": inst.pk, "starts_on": timezone.localdate().isoformat()}
    )
    assert r.status_code == 400 and r.json()["code"] == "not_executed"


# --- Query counts -------------------------------------------------------------------------------------------


def _queries(c: Client, url: str, params: dict[str, Any]) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as ctx:
        r = c.get(url, params)
    assert r.status_code == 200, r.content
    return len(ctx.captured_queries), r.json()


def _same_cost(c: Client, url: str, params: dict[str, Any], total: int) -> None:
    few, small = _queries(c, url, {**params, "page_size": 5})
    many, large = _queries(c, url, {**params, "page_size": 50})
    assert len(small["results"]) == 5 and len(large["results"]) == 50 and large["count"] == total
    assert few == many, f"{url}: {few} queries for 5 rows, {many} for 50"


@pytest.mark.parametrize("username", ["me.c080101.1", "pinca.c080101", "dba.a0801", "pusat"])
def test_activity_and_event_lists_cost_the_same_for_5_or_50_rows(client_for: Any, username: str) -> None:
    inst = _inst()
    pinca, sales = _user("pinca.c080101"), _user("sales.c080101.1")
    for i in range(50):
        ev = SimpleUploadedFile(f"bukti-{i}.jpg", JPEG, content_type="image/jpeg") if i % 10 == 0 else None
        act, _created = services.activity_create(
            actor=None,
            kind=ActivityKind.SOSIALISASI if i % 2 else ActivityKind.AUDIENSI,
            status=ActivityStatus.DONE,
            starts_at=_ago(1 + i / 24),
            institution=inst,
            outcome=OUTCOME,
            participants=[pinca.pk, sales.pk],
            products=["TABUNGAN_EMAS"],
            attendance=40,
            evidence=[ev] if ev else None,
        )
        if i % 5 == 1:  # a lead on the events 1, 11, 21, 31, 41 and on five audiences
            _lead(inst, source_activity=act)
    c = client_for(username)
    _same_cost(c, ACTIVITIES, {"institution": inst.pk}, 50)
    # 25 events: compare 5 with 25 (all of them) on the events list.
    few, small = _queries(c, EVENTS, {"institution": inst.pk, "page_size": 5})
    many, large = _queries(c, EVENTS, {"institution": inst.pk, "page_size": 50})
    assert len(small["results"]) == 5 and large["count"] == len(large["results"]) == 25
    assert sum(row["lead_count"] for row in large["results"]) == 5
    assert few == many


@pytest.mark.parametrize("username", ["me.c080101.1", "sales.c080101.1", "dba.a0801", "auditor"])
def test_lead_list_costs_the_same_for_5_or_50_rows(client_for: Any, username: str) -> None:
    inst = _inst()
    source = _activity(inst, ActivityKind.OPEN_BOOTH)
    sales = _user("sales.c080101.1")
    for i in range(50):
        lead = _lead(inst, name=f"Calon Nasabah {i:02d}", source_activity=source if i % 2 else None)
        if i % 3 == 0:
            services.lead_assign(actor=None, lead=lead, assignee=sales)
    _same_cost(client_for(username), LEADS, {"institution": inst.pk}, 50)


def test_plan_list_costs_the_same_for_5_or_50_rows(client_for: Any) -> None:
    inst = _walk_to_eksekusi(_inst())
    start = timezone.localdate() - timedelta(days=30)
    for _i in range(50):
        plan = services.plan_create(actor=None, institution=inst, frequency="WEEKLY", starts_on=start)
        services.plan_end(actor=None, plan=plan, reason="Diganti rencana baru")
    for username in ("me.c080101.1", "pinca.c080101", "wil.w08"):
        few, small = _queries(client_for(username), PLANS, {"institution": inst.pk, "page_size": 5})
        many, large = _queries(client_for(username), PLANS, {"institution": inst.pk, "page_size": 50})
        assert len(small["results"]) == 5 and len(large["results"]) == 50
        assert all(len(p["visits"]) >= 5 for p in large["results"])
        assert few == many, f"{few} queries for 5 plans, {many} for 50"


# --- Schema -------------------------------------------------------------------------------------------------


def test_schema_documents_the_endpoints(client_for: Any) -> None:
    r = client_for("admin").get("/api/schema/")
    assert r.status_code == 200
    text = r.content.decode()
    for path in (
        "/api/v1/activities/:",
        "/api/v1/activities/{id}/evidence/:",
        "/api/v1/events/{id}/:",
        "/api/v1/maintenance-plans/{id}/end/:",
        "/api/v1/leads/{id}/:",
        "/api/v1/institutions/{id}/stage/:",
    ):
        assert path in text
    for name in ("client_id", "is_overdue", "lead_count", "to_stage"):
        assert name in text
