"""The ME's pages: "Hari ini", the activity form (photo, check-in, retry without
duplicate), an activity's page and evidence, calendars, the branch head's day
and the pipeline board with its evidence-checked moves."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from activities import services
from activities.models import Activity, ActivityStatus, Evidence, MaintenanceVisit
from institutions.models import Institution, Stage

pytestmark = pytest.mark.django_db

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _inst(me: Any) -> Institution:
    inst = Institution.objects.live().filter(me=me).order_by("id").first()
    assert inst is not None
    return inst


def _past(hours: int = 1) -> Any:
    return timezone.now() - timedelta(hours=hours)


def _form(inst: Institution, **extra: Any) -> dict[str, Any]:
    moment = timezone.localtime(_past(2))
    data = {
        "kind": "KOMUNIKASI_LANJUTAN",
        "status": "DONE",
        "institution": inst.pk,
        "day": moment.date().isoformat(),
        "time": moment.strftime("%H:%M"),
        "place": "Kantor lembaga",
        "outcome": "Bertemu bagian SDM, sepakat jadwal sosialisasi.",
        "client_id": str(uuid.uuid4()),
    }
    data.update(extra)
    return data


def test_log_a_visit_with_photo_and_checkin(client_for: Any, get_user: Any) -> None:
    me = get_user("me.c080101.1")
    inst = _inst(me)
    Institution.objects.filter(pk=inst.pk).update(latitude=Decimal("-6.200000"), longitude=Decimal("106.816666"))
    c = client_for("me.c080101.1")
    photo = SimpleUploadedFile("kunjungan.png", PNG, content_type="image/png")
    data = _form(inst, checkin_latitude="-6.250000", checkin_longitude="106.816666", checkin_accuracy_m="20")
    response = c.post("/aktivitas/catat/", {**data, "evidence": photo})
    assert response.status_code == 302
    act = Activity.objects.get(client_id=data["client_id"])
    assert act.me == me and act.status == ActivityStatus.DONE and act.branch_id == inst.branch_id
    assert act.checkin_far is True and act.checkin_distance_km is not None and act.checkin_distance_km > 5
    ev = act.evidence.get()
    assert ev.content_type == "image/png" and ev.original_name == "kunjungan.png"
    assert "kunjungan" not in ev.file.name  # stored under a random name
    page = c.get(response["Location"])
    assert "jauh dari koordinat lembaga" in page.content.decode()
    image = c.get(f"/aktivitas/{act.pk}/bukti/{ev.pk}/")
    assert image.status_code == 200 and b"".join(image.streaming_content) == PNG


def test_retry_with_same_client_id_records_once(client_for: Any, get_user: Any) -> None:
    inst = _inst(get_user("me.c080101.1"))
    c = client_for("me.c080101.1")
    data = _form(inst)
    first = c.post("/aktivitas/catat/", data)
    again = c.post("/aktivitas/catat/", data, follow=True)
    assert first.status_code == 302
    assert Activity.objects.filter(client_id=data["client_id"]).count() == 1
    assert "sudah tersimpan sebelumnya" in again.content.decode()


def test_bad_evidence_is_refused_and_nothing_is_written(client_for: Any, get_user: Any) -> None:
    inst = _inst(get_user("me.c080101.1"))
    c = client_for("me.c080101.1")
    before = Activity.objects.count(), Evidence.objects.count()
    fake = SimpleUploadedFile("foto.jpg", b"MZ\x90\x00 this is a program", content_type="image/jpeg")
    response = c.post("/aktivitas/catat/", {**_form(inst), "evidence": fake})
    assert response.status_code == 400
    assert "bukan foto" in response.content.decode()
    assert (Activity.objects.count(), Evidence.objects.count()) == before
    # What was typed comes back in the form.
    assert "Bertemu bagian SDM" in response.content.decode()


def test_done_without_outcome_keeps_the_form(client_for: Any, get_user: Any) -> None:
    inst = _inst(get_user("me.c080101.1"))
    response = client_for("me.c080101.1").post("/aktivitas/catat/", _form(inst, outcome="", place="Aula utama"))
    assert response.status_code == 400
    assert "Tuliskan hasilnya" in response.content.decode() and "Aula utama" in response.content.decode()


def test_me_cannot_log_on_an_institution_not_assigned_to_them(client_for: Any, get_user: Any) -> None:
    me = get_user("me.c080101.1")
    other = Institution.objects.live().filter(branch__code="C080101").exclude(me=me).order_by("id").first()
    assert other is not None
    response = client_for("me.c080101.1").get(f"/aktivitas/catat/?institution={other.pk}")
    assert response.status_code == 403


def test_evidence_of_another_branch_is_not_found(client_for: Any, get_user: Any) -> None:
    me = get_user("me.c080101.1")
    act, _ = services.activity_create(
        actor=me, kind="KOMUNIKASI_AWAL", status="DONE", starts_at=_past(), institution=_inst(me), outcome="ok"
    )
    ev = services.evidence_add(actor=me, activity=act, files=[SimpleUploadedFile("a.png", PNG)])[0]
    url = f"/aktivitas/{act.pk}/bukti/{ev.pk}/"
    assert client_for("pinca.c080101").get(url).status_code == 200
    assert client_for("pinca.c080102").get(url).status_code == 404
    assert client_for("agen.c080101").get(url).status_code == 404


def _activities(me: Any, inst: Institution, n: int, day_offset: int = 0) -> None:
    start = timezone.localtime().replace(hour=0, minute=5, second=0, microsecond=0) + timedelta(days=day_offset)
    for i in range(n):
        services.activity_create(
            actor=me,
            kind="KOMUNIKASI_LANJUTAN",
            status="PLANNED",
            starts_at=start + timedelta(minutes=i),
            institution=inst,
        )


def test_today_lists_agenda_overdue_and_leads(client_for: Any, get_user: Any) -> None:
    me = get_user("me.c080101.1")
    inst = _inst(me)
    _activities(me, inst, 2)
    lead, _ = services.lead_create(
        actor=me,
        institution=inst,
        name="Siti Aminah",
        product="TABUNGAN_EMAS",
        purpose="Penawaran",
        lawful_basis="PERSETUJUAN",
        phone="081234567890",
    )
    Institution.objects.filter(pk=inst.pk).update(stage=Stage.EKSEKUSI)
    inst.refresh_from_db()
    today = timezone.localdate()
    plan = services.plan_create(actor=me, institution=inst, starts_on=today - timedelta(days=40), grace_days=3)
    overdue = plan.visits.order_by("due_on").first()
    assert overdue is not None and overdue.overdue_on <= today
    body = client_for("me.c080101.1").get("/aktivitas/hari-ini/").content.decode()
    assert "Kunjungan maintenance terlambat" in body and f"?visit={overdue.pk}" in body
    assert "Siti Aminah" in body and "belum diserahkan" in body
    assert body.count(inst.name) >= 2


def test_today_query_count_does_not_grow(client_for: Any, get_user: Any) -> None:
    me = get_user("me.c080101.1")
    inst = _inst(me)
    c = client_for("me.c080101.1")
    _activities(me, inst, 2)
    c.get("/aktivitas/hari-ini/")
    with CaptureQueriesContext(connection) as few:
        c.get("/aktivitas/hari-ini/")
    _activities(me, inst, 12)
    with CaptureQueriesContext(connection) as many:
        c.get("/aktivitas/hari-ini/")
    assert len(many) == len(few)


def test_pinca_today_is_the_branch_day_with_every_me(client_for: Any, get_user: Any) -> None:
    me1, me2 = get_user("me.c080101.1"), get_user("me.c080101.2")
    _activities(me1, _inst(me1), 1)
    _activities(me2, _inst(me2), 1)
    c = client_for("pinca.c080101")
    response = c.get("/aktivitas/hari-ini/", follow=True)
    body = response.content.decode()
    assert response.redirect_chain and "/harian/" in response.redirect_chain[-1][0]
    assert _inst(me1).name in body and _inst(me2).name in body


def test_branch_day_query_count_does_not_grow(client_for: Any, get_user: Any) -> None:
    me = get_user("me.c080101.1")
    inst = _inst(me)
    c = client_for("pinca.c080101")
    url = f"/aktivitas/cabang/{inst.branch_id}/harian/"
    _activities(me, inst, 2)
    c.get(url)
    with CaptureQueriesContext(connection) as few:
        c.get(url)
    _activities(me, inst, 12)
    with CaptureQueriesContext(connection) as many:
        c.get(url)
    assert len(many) == len(few)


def test_branch_day_is_for_the_branch_head_not_the_me(client_for: Any, get_user: Any) -> None:
    branch_id = _inst(get_user("me.c080101.1")).branch_id
    assert client_for("me.c080101.1").get(f"/aktivitas/cabang/{branch_id}/harian/").status_code == 403
    assert client_for("pinca.c080102").get(f"/aktivitas/cabang/{branch_id}/harian/").status_code == 404
    assert client_for("dba.a0801").get(f"/aktivitas/cabang/{branch_id}/harian/").status_code == 200


@pytest.mark.parametrize("view", ["week", "month"])
def test_calendar_shows_the_branch_and_costs_fixed_queries(client_for: Any, get_user: Any, view: str) -> None:
    me = get_user("me.c080101.1")
    inst = _inst(me)
    c = client_for("pinca.c080101")
    url = f"/aktivitas/kalender/?view={view}&branch={inst.branch_id}"
    _activities(me, inst, 1)
    c.get(url)
    with CaptureQueriesContext(connection) as few:
        first = c.get(url)
    _activities(me, inst, 10, day_offset=1)
    with CaptureQueriesContext(connection) as many:
        c.get(url)
    assert first.status_code == 200 and inst.name[:20] in first.content.decode()
    assert len(many) == len(few)


def test_calendar_of_another_branch_is_not_found(client_for: Any, unit: Any) -> None:
    assert client_for("me.c080101.1").get(f"/aktivitas/kalender/?branch={unit('C080102').pk}").status_code == 404


def test_me_calendar_shows_own_activities_only(client_for: Any, get_user: Any) -> None:
    me1, me2 = get_user("me.c080101.1"), get_user("me.c080101.2")
    services.activity_create(
        actor=me2,
        kind="KOMUNIKASI_AWAL",
        status="PLANNED",
        starts_at=timezone.now(),
        institution=_inst(me2),
        title="Rahasia ME dua",
    )
    services.activity_create(
        actor=me1, kind="KOMUNIKASI_AWAL", status="PLANNED", starts_at=timezone.now(), institution=_inst(me1)
    )
    assert _inst(me1).name != _inst(me2).name
    body = client_for("me.c080101.1").get("/aktivitas/kalender/").content.decode()
    assert _inst(me1).name in body and _inst(me2).name not in body


def test_pipeline_move_refused_then_allowed_with_evidence(client_for: Any, get_user: Any) -> None:
    me, pinca = get_user("me.c080101.1"), get_user("pinca.c080101")
    inst = _inst(me)
    Institution.objects.filter(pk=inst.pk).update(stage=Stage.KOMUNIKASI_AWAL, stage_since=timezone.now())
    c = client_for("me.c080101.1")
    url = f"/aktivitas/lembaga/{inst.pk}/tahap/"
    refused = c.post(url, {"to_stage": "AUDIENSI"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200 and refused["HX-Retarget"] == f"#card-{inst.pk}"
    assert "Belum ada audiensi yang selesai" in refused.content.decode()
    inst.refresh_from_db()
    assert inst.stage == Stage.KOMUNIKASI_AWAL
    services.activity_create(
        actor=me,
        kind="AUDIENSI",
        status="DONE",
        starts_at=_past(),
        institution=inst,
        outcome="Audiensi dengan direktur",
        participants=[pinca.pk],
    )
    moved = c.post(url, {"to_stage": "AUDIENSI"}, HTTP_HX_REQUEST="true")
    assert moved.status_code == 200 and 'id="board"' in moved.content.decode()
    inst.refresh_from_db()
    assert inst.stage == Stage.AUDIENSI
    assert inst.stage_changes.filter(to_stage=Stage.AUDIENSI, by=me).exists()


def test_pipeline_board_shows_stages_and_fixed_queries(client_for: Any, get_user: Any, unit: Any) -> None:
    c = client_for("pinca.c080101")
    branch = unit("C080101")
    url = f"/aktivitas/cabang/{branch.pk}/pipeline/"
    with CaptureQueriesContext(connection) as few:
        first = c.get(url)
    Institution.objects.filter(branch=branch).update(stage=Stage.AUDIENSI)
    with CaptureQueriesContext(connection) as many:
        c.get(url)
    body = first.content.decode()
    assert first.status_code == 200 and "Komunikasi awal" in body and "Maintenance" in body
    assert len(many) == len(few)


def test_institution_page_shows_stage_and_work(client_for: Any, get_user: Any) -> None:
    me = get_user("me.c080101.1")
    inst = _inst(me)
    services.activity_create(
        actor=me, kind="KOMUNIKASI_AWAL", status="DONE", starts_at=_past(), institution=inst, outcome="Perkenalan"
    )
    body = client_for("me.c080101.1").get(f"/lembaga/{inst.pk}/").content.decode()
    assert 'id="tahap"' in body and "Pindah tahap" in body and "Komunikasi awal" in body
    assert "Catat aktivitas" in body and "Aktivitas dicatat" in body  # the timeline too


def test_complete_a_planned_activity(client_for: Any, get_user: Any) -> None:
    me = get_user("me.c080101.1")
    act, _ = services.activity_create(
        actor=me, kind="AUDIENSI", status="PLANNED", starts_at=_past(), institution=_inst(me)
    )
    moment = timezone.localtime(act.starts_at)
    response = client_for("me.c080101.1").post(
        f"/aktivitas/{act.pk}/ubah/",
        {
            "status": "DONE",
            "day": moment.date().isoformat(),
            "time": moment.strftime("%H:%M"),
            "outcome": "Diterima direktur",
        },
    )
    assert response.status_code == 302
    act.refresh_from_db()
    assert act.status == ActivityStatus.DONE and act.outcome == "Diterima direktur"


def test_log_visit_button_completes_the_scheduled_visit(client_for: Any, get_user: Any) -> None:
    me = get_user("me.c080101.1")
    inst = _inst(me)
    Institution.objects.filter(pk=inst.pk).update(stage=Stage.MAINTENANCE)
    inst.refresh_from_db()
    plan = services.plan_create(actor=me, institution=inst, starts_on=timezone.localdate())
    visit = plan.visits.order_by("due_on").first()
    assert visit is not None
    c = client_for("me.c080101.1")
    form = c.get(f"/aktivitas/catat/?visit={visit.pk}")
    assert form.status_code == 200 and 'value="KUNJUNGAN_MAINTENANCE" checked' in form.content.decode()
    response = c.post("/aktivitas/catat/", _form(inst, kind="KUNJUNGAN_MAINTENANCE", visit=visit.pk))
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == "DONE" and MaintenanceVisit.objects.get(pk=visit.pk).activity is not None


def test_form_sent_by_script_gets_the_address_and_the_page_shows_the_message(client_for: Any, get_user: Any) -> None:
    """The form posts with fetch: a redirect would be followed out of sight and
    use up the "saved" message; the answer names the page instead."""
    inst = _inst(get_user("me.c080101.1"))
    c = client_for("me.c080101.1")
    response = c.post("/aktivitas/catat/", _form(inst), HTTP_X_REQUESTED_WITH="fetch")
    assert response.status_code == 204
    page = c.get(response["X-Location"])
    assert page.status_code == 200 and "Aktivitas tersimpan." in page.content.decode()


def test_the_same_photo_sent_again_is_stored_once(client_for: Any, get_user: Any) -> None:
    me = get_user("me.c080101.1")
    act, _ = services.activity_create(
        actor=me, kind="KOMUNIKASI_AWAL", status="DONE", starts_at=_past(), institution=_inst(me), outcome="ok"
    )
    c = client_for("me.c080101.1")
    for _i in range(2):
        c.post(f"/aktivitas/{act.pk}/bukti/", {"evidence": SimpleUploadedFile("a.png", PNG, content_type="image/png")})
    assert act.evidence.count() == 1


def test_an_me_can_move_only_their_own_cards_on_the_board(client_for: Any, get_user: Any, unit: Any) -> None:
    me = get_user("me.c080101.1")
    branch = unit("C080101")
    body = client_for("me.c080101.1").get(f"/aktivitas/cabang/{branch.pk}/pipeline/?me={me.pk}").content.decode()
    assert "/tahap/" in body  # their own cards carry the move form
    other_me = get_user("me.c080101.2")
    others = client_for("me.c080101.1").get(f"/aktivitas/cabang/{branch.pk}/pipeline/?me={other_me.pk}")
    assert others.status_code == 200 and "/tahap/" not in others.content.decode()


def _tasks(pinca: Any, me: Any, n: int, *, late: int = 0) -> list[Any]:
    from performance.models import Task
    from performance.services import task_assign

    tasks = [
        task_assign(actor=pinca, me=me, objective=f"Tugas {i}", due_on=timezone.localdate() + timedelta(days=2))
        for i in range(n)
    ]
    for t in tasks[:late]:
        Task.objects.filter(pk=t.pk).update(
            due_on=timezone.localdate() - timedelta(days=2), objective="Tugas terlambat"
        )
    return tasks


def test_today_lists_open_tasks_overdue_first(client_for: Any, get_user: Any) -> None:
    me, pinca = get_user("me.c080101.1"), get_user("pinca.c080101")
    on_time, late = _tasks(pinca, me, 2, late=0)
    from performance.models import Task

    Task.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - timedelta(days=2), objective="Kirim proposal")
    other = _tasks(pinca, get_user("me.c080101.2"), 1)[0]
    body = client_for("me.c080101.1").get("/aktivitas/hari-ini/").content.decode()
    assert 'id="tasks"' in body and "Terlambat" in body
    assert f"/kinerja/tugas/{late.pk}/" in body and f"/kinerja/tugas/{on_time.pk}/" in body
    assert body.index("Kirim proposal") < body.index(on_time.objective)
    assert f"/kinerja/tugas/{other.pk}/" not in body


def test_today_query_count_does_not_grow_with_tasks(client_for: Any, get_user: Any) -> None:
    me, pinca = get_user("me.c080101.1"), get_user("pinca.c080101")
    c = client_for("me.c080101.1")
    _tasks(pinca, me, 1)
    c.get("/aktivitas/hari-ini/")
    with CaptureQueriesContext(connection) as few:
        c.get("/aktivitas/hari-ini/")
    _tasks(pinca, me, 10, late=5)
    with CaptureQueriesContext(connection) as many:
        c.get("/aktivitas/hari-ini/")
    assert len(many) == len(few)


def test_branch_day_lists_the_branch_overdue_tasks(client_for: Any, get_user: Any) -> None:
    me, pinca = get_user("me.c080101.1"), get_user("pinca.c080101")
    on_time, late = _tasks(pinca, me, 2, late=0)
    from performance.models import Task

    Task.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - timedelta(days=3), objective="Tagih MoU")
    c = client_for("pinca.c080101")
    url = f"/aktivitas/cabang/{_inst(me).branch_id}/harian/"
    body = c.get(url).content.decode()
    assert 'id="h-overdue-tasks"' in body and f"/kinerja/tugas/{late.pk}/" in body and "Tagih MoU" in body
    assert f"/kinerja/tugas/{on_time.pk}/" not in body  # not late yet
    with CaptureQueriesContext(connection) as few:
        c.get(url)
    _tasks(pinca, me, 6, late=6)
    with CaptureQueriesContext(connection) as many:
        c.get(url)
    assert len(many) == len(few)
