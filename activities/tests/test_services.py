"""Rules of the activities services: activities (idempotent create, what a done
activity needs, participants, check-in, evidence uploads), maintenance plans
and visits, and leads (hand-off, statuses, conversion, erasure, personal data
kept out of the audit chain)."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from activities import selectors, services
from activities.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Evidence,
    Frequency,
    Lead,
    LeadStatus,
    MaintenancePlan,
    ParticipantRole,
    PlanStatus,
    VisitStatus,
)
from activities.tests import factories as f
from control.models import AuditEvent
from core.errors import DomainError
from core.models import Notification
from institutions import services as registry
from institutions.models import Institution, Stage

pytestmark = pytest.mark.django_db

ME = "me.c080101.1"
ME2 = "me.c080101.2"
PINCA = "pinca.c080101"
SALES = "sales.c080101.1"
SALES2 = "sales.c080101.2"
# A Monday, 10:00 in Jakarta.
NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
def frozen() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as clock:
        yield clock


def _create(actor: Any, inst: Institution | None, **extra: Any) -> tuple[Activity, bool]:
    values: dict[str, Any] = {
        "kind": ActivityKind.KOMUNIKASI_AWAL,
        "status": ActivityStatus.DONE,
        "starts_at": timezone.now() - timedelta(hours=2),
        "outcome": "Bertemu bagian SDM; tertarik sosialisasi.",
    }
    values.update(extra)
    return services.activity_create(actor=actor, institution=inst, **values)


def _stored_files() -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _events(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


# --- Activities: idempotent create ------------------------------------------------------------


def test_same_client_id_twice_creates_one_activity() -> None:
    me = f.user(ME)
    inst = f.institution_for(me)
    cid = uuid.uuid4()
    first, created = _create(me, inst, client_id=cid, evidence=[f.upload("foto.jpg", f.JPEG)])
    # The retry (the network dropped before the answer came back) carries the same id as text.
    again, created_again = _create(me, inst, client_id=str(cid), evidence=[f.upload("foto.jpg", f.JPEG)])
    assert created is True and created_again is False
    assert again.pk == first.pk
    assert Activity.objects.filter(client_id=cid).count() == 1
    assert Activity.objects.filter(institution=inst).count() == 1
    assert Evidence.objects.filter(activity=first).count() == 1
    assert len(_stored_files()) == 1
    assert AuditEvent.objects.filter(action="activity.create", object_id=str(first.pk)).count() == 1


def test_another_users_client_id_is_refused_and_their_activity_not_shown() -> None:
    inst = f.institution_for(ME)
    cid = uuid.uuid4()
    mine, _ = _create(f.user(ME), inst, client_id=cid, place="Ruang rapat lantai 3")
    other = f.user(ME2)
    with pytest.raises(DomainError) as err:
        _create(other, f.institution_for(other), client_id=cid)
    assert err.value.code == "client_id_taken"
    assert str(err.value) == "client_id sudah dipakai."
    assert "Ruang rapat" not in str(err.value.as_dict())
    assert Activity.objects.filter(client_id=cid).get().pk == mine.pk


def test_client_id_must_be_a_uuid() -> None:
    with pytest.raises(DomainError) as err:
        _create(f.user(ME), f.institution_for(ME), client_id="bukan-uuid")
    assert err.value.field == "client_id"


# --- Activities: what a record needs ------------------------------------------------------------


def test_done_in_the_future_is_refused_beyond_the_clock_skew(frozen: Any) -> None:
    me = f.user(ME)
    inst = f.institution_for(me)
    with pytest.raises(DomainError) as err:
        _create(me, inst, starts_at=NOW + timedelta(minutes=16))
    assert err.value.field == "starts_at"
    assert str(err.value) == "Aktivitas yang belum terjadi tidak bisa dicatat selesai."
    assert not Activity.objects.filter(institution=inst).exists()
    # A phone clock a few minutes ahead is tolerated; a future activity may be planned.
    _create(me, inst, starts_at=NOW + timedelta(minutes=14))
    _create(me, inst, starts_at=NOW + timedelta(days=3), status=ActivityStatus.PLANNED, outcome="")
    assert Activity.objects.filter(institution=inst).count() == 2


@pytest.mark.parametrize("outcome", ["", "   \n "])
def test_done_without_outcome_is_refused(outcome: str) -> None:
    inst = f.institution_for(ME)
    with pytest.raises(DomainError) as err:
        _create(f.user(ME), inst, outcome=outcome)
    assert (err.value.code, err.value.field, str(err.value)) == ("outcome_required", "outcome", "Tuliskan hasilnya.")
    assert not Activity.objects.filter(institution=inst).exists()


def test_completing_a_planned_activity_needs_its_outcome_too() -> None:
    me = f.user(ME)
    act = f.activity(
        f.institution_for(me), status=ActivityStatus.PLANNED, starts_at=timezone.now() - timedelta(hours=1)
    )
    with pytest.raises(DomainError) as err:
        services.activity_update(actor=me, activity=act, status=ActivityStatus.DONE)
    assert err.value.code == "outcome_required"
    act.refresh_from_db()
    assert act.status == ActivityStatus.PLANNED
    services.activity_update(actor=me, activity=act, status=ActivityStatus.DONE, outcome="Sepakat jadwal audiensi.")
    act.refresh_from_db()
    assert act.status == ActivityStatus.DONE


def test_a_done_activity_cannot_be_moved_into_the_future(frozen: Any) -> None:
    me = f.user(ME)
    act = f.activity(f.institution_for(me), ActivityKind.KOMUNIKASI_LANJUTAN)
    with pytest.raises(DomainError) as err:
        services.activity_update(actor=me, activity=act, starts_at=NOW + timedelta(days=30))
    assert (err.value.field, str(err.value)) == (
        "starts_at",
        "Aktivitas yang belum terjadi tidak bisa dicatat selesai.",
    )
    act.refresh_from_db()
    assert act.starts_at < NOW
    # Corrected to another past time: fine.
    services.activity_update(actor=me, activity=act, starts_at=NOW - timedelta(days=2))
    act.refresh_from_db()
    assert act.day == (NOW - timedelta(days=2)).date()


def test_an_erased_contact_cannot_be_named_as_met() -> None:
    me = f.user(ME)
    inst = f.institution_for(me)
    values = {"name": "Siti Rahma", "purpose": "Koordinasi", "lawful_basis": "KONTRAK", "phone": "081234567890"}
    contact = registry.contact_create(actor=None, institution=inst, **values)
    registry.contact_erase(actor=None, contact=contact, reason="Permintaan subjek data")
    contact.refresh_from_db()
    with pytest.raises(DomainError) as err:
        _create(me, inst, contact=contact)
    assert str(err.value) == "Kontak bukan dari lembaga ini."
    act = f.activity(inst)
    with pytest.raises(DomainError) as err:
        services.activity_update(actor=me, activity=act, contact=contact)
    assert str(err.value) == "Kontak bukan dari lembaga ini."
    act.refresh_from_db()
    assert act.contact is None


@pytest.mark.parametrize("kind", [k for k in ActivityKind.values if k != ActivityKind.LAINNYA])
def test_an_institution_is_required_except_for_other_work(kind: str) -> None:
    before = Activity.objects.count()
    with pytest.raises(DomainError) as err:
        _create(f.user(ME), None, kind=kind)
    assert (err.value.code, str(err.value)) == ("institution_required", "Pilih lembaga yang dikunjungi.")
    assert Activity.objects.count() == before


def test_other_work_without_an_institution_belongs_to_the_mes_branch(unit: Any) -> None:
    act, created = _create(f.user(ME), None, kind=ActivityKind.LAINNYA, title="Rapat internal cabang")
    branch = unit("C080101")
    assert created
    assert (act.branch_id, act.area_id, act.region_id) == (branch.pk, branch.parent_id, branch.parent.parent_id)


def test_day_is_the_jakarta_calendar_date() -> None:
    # 18:30 UTC is 01:30 the next day in Jakarta.
    act, _ = _create(f.user(ME), f.institution_for(ME), starts_at=datetime(2026, 1, 14, 18, 30, tzinfo=UTC))
    assert act.day == date(2026, 1, 15)


def test_contact_must_belong_to_the_institution() -> None:
    me = f.user(ME)
    inst, other = f.institution_for(me), f.institution_for(me)
    values = {"name": "Siti Rahma", "purpose": "Koordinasi", "lawful_basis": "KONTRAK", "phone": "081234567890"}
    theirs = registry.contact_create(actor=None, institution=other, **values)
    with pytest.raises(DomainError) as err:
        _create(me, inst, contact=theirs)
    assert (err.value.field, str(err.value)) == ("contact", "Kontak bukan dari lembaga ini.")
    assert not Activity.objects.filter(institution=inst).exists()
    ours = registry.contact_create(actor=None, institution=inst, **values)
    act, _ = _create(me, inst, contact=ours)
    assert act.contact == ours


@pytest.mark.parametrize(
    "outsider", ["pinca.c080102", "sales.c080102.1", "me.c080201.1", "kry.c080101", "agen.c080101"]
)
def test_participants_outside_the_branch_staff_are_refused(outsider: str) -> None:
    inst = f.institution_for(ME)
    with pytest.raises(DomainError) as err:
        _create(f.user(ME), inst, participants=[f.user(SALES), f.user(outsider)])
    assert err.value.code == "participant_not_in_branch"
    assert str(err.value) == "Peserta harus Pemimpin Cabang, tim penjualan atau ME cabang ini."
    assert not Activity.objects.filter(institution=inst).exists()


def test_participants_keep_their_role_in_the_branch() -> None:
    act = f.activity(
        f.institution_for(ME),
        ActivityKind.SOSIALISASI,
        participants=[f.user(PINCA), f.user(SALES), f.user(ME2).pk],
        attendance=60,
    )
    roles = {p.user.username: p.role for p in act.participant_rows.select_related("user")}
    assert roles == {PINCA: ParticipantRole.PINCA, SALES: ParticipantRole.SALES, ME2: ParticipantRole.LAINNYA}


@pytest.mark.parametrize("username", [ME2, SALES])
def test_only_the_assigned_me_or_the_branch_head_records(username: str) -> None:
    inst = f.institution_for(ME)
    with pytest.raises(PermissionDenied):
        _create(f.user(username), inst)
    # Another branch's head does not even see the institution: answered as not found.
    with pytest.raises(DomainError) as err:
        _create(f.user("pinca.c080102"), inst)
    assert (err.value.field, str(err.value)) == ("institution", "Lembaga tidak ditemukan.")
    assert not Activity.objects.filter(institution=inst).exists()
    act, _ = _create(f.user(PINCA), inst)
    assert act.me.username == ME  # the Pinca records; the institution's ME did the work


# --- Activities: check-in location ----------------------------------------------------------------

# One kilometre is this many degrees of latitude on core.geo's sphere.
KM = 1 / (6371.0088 * 3.141592653589793 / 180)


@pytest.mark.parametrize(
    ("km", "accuracy", "far"),
    [
        (0.1, None, False),
        (5.0, None, True),
        (1.5, None, True),
        (1.5, 400, True),  # 1.5 km > 1 km + 0.4 km
        (1.5, 800, False),  # within 1 km + 0.8 km: the phone could not tell
        (5.0, 3000, True),
    ],
)
def test_checkin_distance_and_far_flag(km: float, accuracy: int | None, far: bool) -> None:
    inst = f.institution_for(ME, latitude="-6.200000", longitude="106.850000")
    act, _ = _create(
        f.user(ME),
        inst,
        checkin_latitude=f"{-6.2 + km * KM:.6f}",
        checkin_longitude="106.85",
        checkin_accuracy_m=accuracy,
    )
    assert act.checkin_distance_km is not None
    assert abs(act.checkin_distance_km - Decimal(str(km))) <= Decimal("0.01")
    assert act.checkin_far is far
    assert act.checkin_accuracy_m == accuracy
    assert act.checkin_at is not None


def test_checkin_without_institution_coordinates_is_kept_unflagged() -> None:
    act, _ = _create(f.user(ME), f.institution_for(ME), checkin_latitude="-6.1", checkin_longitude="106.7")
    assert (act.checkin_latitude, act.checkin_distance_km, act.checkin_far) == (Decimal("-6.1"), None, False)


@pytest.mark.parametrize(
    ("lat", "lon", "message"),
    [
        ("-6.2", None, "Lokasi check-in tidak lengkap."),
        ("91", "106.8", "Koordinat di luar jangkauan."),
        ("utara", "106.8", "Koordinat tidak valid."),
    ],
)
def test_bad_checkin_is_refused(lat: str, lon: str | None, message: str) -> None:
    inst = f.institution_for(ME, latitude="-6.2", longitude="106.85")
    with pytest.raises(DomainError) as err:
        _create(f.user(ME), inst, checkin_latitude=lat, checkin_longitude=lon)
    assert str(err.value) == message
    assert not Activity.objects.filter(institution=inst).exists()


# --- Activities: evidence uploads -----------------------------------------------------------------


def _evidence_refusals() -> list[Any]:
    big = f.JPEG + b"\x00" * (1536 * 1024)
    return [
        pytest.param([("kosong.jpg", b"")], {}, "Berkas kosong.jpg kosong.", id="empty"),
        pytest.param(
            [("besar.jpg", big)],
            {"EVIDENCE_MAX_BYTES": 1024 * 1024},
            "Berkas besar.jpg terlalu besar (1.5 MB); batasnya 1.0 MB.",
            id="too-large",
        ),
        pytest.param(
            [("foto.jpg", b"ini catatan, bukan foto sama sekali")],
            {},
            "Berkas foto.jpg bukan foto (JPEG, PNG, WebP, HEIC) atau PDF.",
            id="not-an-image",
        ),
        pytest.param(
            [("laporan.pdf", f.PNG)],
            {},
            "Isi berkas laporan.pdf adalah PNG, tetapi namanya tidak berakhiran .png.",
            id="content-does-not-match-name",
        ),
        pytest.param(
            [("script.jpg.exe", f.JPEG)],
            {},
            "Isi berkas script.jpg.exe adalah JPEG, tetapi namanya tidak berakhiran .jpg / .jpeg.",
            id="double-extension",
        ),
        pytest.param(
            [("a.jpg", f.JPEG), ("b.png", f.PNG), ("c.pdf", f.PDF)],
            {"EVIDENCE_MAX_FILES": 2},
            "Paling banyak 2 berkas bukti per aktivitas.",
            id="too-many",
        ),
        pytest.param(
            [("baik.jpg", f.JPEG), ("rusak.png", b"GIF89a....")],
            {},
            "Berkas rusak.png bukan foto (JPEG, PNG, WebP, HEIC) atau PDF.",
            id="one-bad-among-good",
        ),
    ]


@pytest.mark.parametrize(("files", "limits", "message"), _evidence_refusals())
def test_evidence_refusal_writes_nothing(
    files: list[tuple[str, bytes]], limits: dict[str, int], message: str, settings: Any
) -> None:
    for name, value in limits.items():
        setattr(settings, name, value)
    inst = f.institution_for(ME)
    activities, evidence, audits = Activity.objects.count(), Evidence.objects.count(), _events("activity.create")
    with pytest.raises(DomainError) as err:
        _create(f.user(ME), inst, evidence=[f.upload(n, c) for n, c in files], client_id=uuid.uuid4())
    assert err.value.field == "evidence"
    assert str(err.value) == message
    assert Activity.objects.count() == activities
    assert Evidence.objects.count() == evidence
    assert _events("activity.create") == audits
    assert _stored_files() == []


def test_failure_after_files_were_stored_removes_them(monkeypatch: Any) -> None:
    """A failure late in the transaction (here the audit append) leaves no row and no file."""
    inst = f.institution_for(ME)
    me = f.user(ME)
    activities, evidence = Activity.objects.count(), Evidence.objects.count()

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("audit chain unavailable")

    monkeypatch.setattr(services.audit, "record", broken)
    with pytest.raises(RuntimeError):
        _create(me, inst, evidence=[f.upload("a.jpg", f.JPEG), f.upload("b.pdf", f.PDF)])
    assert (Activity.objects.count(), Evidence.objects.count()) == (activities, evidence)
    assert _stored_files() == []


def test_valid_photos_and_pdf_are_stored_under_random_names_with_their_digest() -> None:
    files = {"Foto Kunjungan.JPG": f.JPEG, "denah.png": f.PNG, "../../notulen.pdf": f.PDF}
    act, _ = _create(f.user(ME), f.institution_for(ME), evidence=[f.upload(n, c) for n, c in files.items()])
    rows = list(act.evidence.order_by("id"))
    expected = [
        ("Foto Kunjungan.JPG", "image/jpeg", ".jpg", f.JPEG),
        ("denah.png", "image/png", ".png", f.PNG),
        ("notulen.pdf", "application/pdf", ".pdf", f.PDF),
    ]
    assert len(rows) == 3
    for ev, (original, content_type, ext, content) in zip(rows, expected, strict=True):
        assert (ev.original_name, ev.content_type, ev.size) == (original, content_type, len(content))
        assert ev.sha256 == hashlib.sha256(content).hexdigest()
        assert re.fullmatch(rf"evidence/\d{{4}}/\d{{2}}/[0-9a-f]{{32}}\{ext}", ev.file.name), ev.file.name
        assert default_storage.exists(ev.file.name)
        with default_storage.open(ev.file.name) as stored:
            assert stored.read() == content
        assert ev.uploaded_by_id == f.user(ME).pk
    assert sorted(p.name for p in _stored_files()) == sorted(Path(ev.file.name).name for ev in rows)
    event = AuditEvent.objects.get(action="activity.create", object_id=str(act.pk))
    assert event.after is not None
    assert event.after["evidence"] == [hashlib.sha256(c).hexdigest() for *_, c in expected]


def test_adding_evidence_counts_what_the_activity_already_has(settings: Any) -> None:
    settings.EVIDENCE_MAX_FILES = 2
    me = f.user(ME)
    act, _ = _create(me, f.institution_for(me), evidence=[f.upload("a.jpg", f.JPEG)])
    with pytest.raises(DomainError) as err:
        services.evidence_add(actor=me, activity=act, files=[f.upload("b.jpg", f.JPEG), f.upload("c.png", f.PNG)])
    assert str(err.value) == "Paling banyak 2 berkas bukti per aktivitas."
    with pytest.raises(DomainError) as err:
        services.evidence_add(actor=me, activity=act, files=[])
    assert str(err.value) == "Pilih berkas bukti."
    with pytest.raises(DomainError):
        services.activity_update(actor=me, activity=act, evidence=[f.upload("b.jpg", f.JPEG), f.upload("c.png", f.PNG)])
    assert act.evidence.count() == 1 and len(_stored_files()) == 1
    added = services.evidence_add(actor=me, activity=act, files=[f.upload("b.png", f.PNG)])
    assert [e.content_type for e in added] == ["image/png"]
    assert act.evidence.count() == 2 and len(_stored_files()) == 2


def test_evidence_of_someone_elses_activity_is_refused() -> None:
    act, _ = _create(f.user(ME), f.institution_for(ME))
    with pytest.raises(PermissionDenied):
        services.evidence_add(actor=f.user(ME2), activity=act, files=[f.upload("a.jpg", f.JPEG)])
    assert _stored_files() == []


# --- Maintenance visits completed by an activity --------------------------------------------------


def _executed(me: str = ME) -> Institution:
    return f.institution_for(me, stage=Stage.EKSEKUSI)


def test_logging_a_maintenance_visit_completes_it_once(frozen: Any) -> None:
    inst = _executed()
    today = timezone.localdate()
    plan = f.plan(inst, starts_on=today - timedelta(days=3), today=today, frequency=Frequency.WEEKLY)
    visit = plan.visits.order_by("due_on").first()
    assert visit is not None and visit.status == VisitStatus.PLANNED
    act = f.visit_done(visit)
    visit.refresh_from_db()
    assert (visit.status, visit.done_on, act.visit_id) == (VisitStatus.DONE, act.day, visit.pk)
    with pytest.raises(DomainError) as err:
        f.visit_done(visit)
    assert (err.value.code, str(err.value)) == ("visit_taken", "Jadwal kunjungan ini sudah dicatat.")
    assert Activity.objects.filter(institution=inst, kind=ActivityKind.KUNJUNGAN_MAINTENANCE).count() == 1


def test_a_planned_visit_activity_completes_the_visit_when_done(frozen: Any) -> None:
    inst = _executed()
    today = timezone.localdate()
    plan = f.plan(inst, starts_on=today, today=today, frequency=Frequency.WEEKLY)
    visit = plan.visits.order_by("due_on").first()
    assert visit is not None
    act = f.activity(
        inst,
        ActivityKind.KUNJUNGAN_MAINTENANCE,
        status=ActivityStatus.PLANNED,
        starts_at=NOW - timedelta(hours=1),
        visit=visit,
    )
    visit.refresh_from_db()
    assert visit.status == VisitStatus.PLANNED
    # A second activity for the same visit is refused even while the first is only planned.
    with pytest.raises(DomainError) as err:
        f.visit_done(visit)
    assert err.value.code == "visit_taken"
    services.activity_update(actor=inst.me, activity=act, status=ActivityStatus.DONE, outcome="Rekonsiliasi anggota.")
    visit.refresh_from_db()
    assert (visit.status, visit.done_on) == (VisitStatus.DONE, today)


def test_a_visit_of_another_institution_or_kind_is_refused(frozen: Any) -> None:
    inst, other = _executed(), _executed()
    today = timezone.localdate()
    visit = f.plan(inst, starts_on=today, today=today).visits.order_by("due_on").first()
    assert visit is not None
    for target, kind in ((other, ActivityKind.KUNJUNGAN_MAINTENANCE), (inst, ActivityKind.KOMUNIKASI_LANJUTAN)):
        with pytest.raises(DomainError) as err:
            _create(inst.me, target, kind=kind, visit=visit)
        assert str(err.value) == "Jadwal kunjungan bukan untuk lembaga ini."
    visit.refresh_from_db()
    assert visit.status == VisitStatus.PLANNED


# --- Maintenance plans -----------------------------------------------------------------------------


@pytest.mark.parametrize("stage", [s for s in Stage.values if s not in (Stage.EKSEKUSI, Stage.MAINTENANCE)])
def test_plans_only_for_executed_institutions(stage: str) -> None:
    inst = f.institution_for(ME, stage=stage)
    with pytest.raises(DomainError) as err:
        f.plan(inst, starts_on=date(2026, 1, 5), today=date(2026, 1, 5))
    assert err.value.code == "not_executed"
    assert str(err.value) == (
        f"Rencana maintenance hanya untuk lembaga di tahap Eksekusi atau Maintenance (sekarang: {Stage(stage).label})."
    )
    assert not MaintenancePlan.objects.filter(institution=inst).exists()


@pytest.mark.parametrize("stage", [Stage.EKSEKUSI, Stage.MAINTENANCE])
def test_one_active_plan_per_institution(stage: str) -> None:
    inst = f.institution_for(ME, stage=stage)
    first = f.plan(inst, starts_on=date(2026, 1, 5), today=date(2026, 1, 5))
    with pytest.raises(DomainError) as err:
        f.plan(inst, starts_on=date(2026, 2, 1), today=date(2026, 1, 5), frequency=Frequency.WEEKLY)
    assert err.value.code == "plan_exists"
    assert str(err.value) == "Lembaga ini sudah punya rencana maintenance yang aktif."
    # After the first one ends, a new plan may start.
    services.plan_end(actor=inst.me, plan=first, ends_on=date(2026, 2, 1), reason="Ganti frekuensi")
    second = f.plan(inst, starts_on=date(2026, 2, 1), today=date(2026, 1, 5), frequency=Frequency.WEEKLY)
    assert list(MaintenancePlan.objects.filter(institution=inst, status=PlanStatus.ACTIVE)) == [second]


def test_visits_are_generated_to_the_horizon_and_regenerating_adds_none() -> None:
    inst = _executed()
    plan = f.plan(inst, starts_on=date(2026, 1, 31), today=date(2026, 1, 10), grace_days=5)
    # Horizon: 120 days after 31 January is 31 May; the 31st becomes the month's last day.
    due = [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31)]
    visits = list(plan.visits.order_by("due_on"))
    assert [v.due_on for v in visits] == due
    assert [v.overdue_on for v in visits] == [d + timedelta(days=6) for d in due]
    assert all(
        v.me_id == inst.me_id and v.branch_id == inst.branch_id and v.status == VisitStatus.PLANNED for v in visits
    )
    assert services.generate_visits(plan, today=date(2026, 1, 10)) == 0
    assert services.generate_visits(plan, today=date(2026, 2, 28)) == 0  # horizon 28 June: no new due date
    assert services.generate_visits(plan, today=date(2026, 3, 5)) == 1  # horizon 3 July: 30 June
    assert services.generate_visits(plan, today=date(2026, 3, 5)) == 0
    assert plan.visits.count() == 6
    assert plan.visits.order_by("-due_on").first().due_on == date(2026, 6, 30)  # type: ignore[union-attr]


def test_ending_a_plan_cancels_later_visits_marks_earlier_ones_missed_and_keeps_done_ones(frozen: Any) -> None:
    """Visits skipped before a recorded one are missed at once; ending the plan
    cancels the planned ones from its end date and marks earlier planned ones missed."""
    inst = _executed()
    start = date(2026, 1, 5)
    plan = f.plan(inst, starts_on=start, today=start, frequency=Frequency.WEEKLY)
    assert plan.visits.count() == 18  # 5 Jan .. 4 May, weekly
    first = plan.visits.get(due_on=start)
    f.visit_done(first, starts_at=datetime(2026, 1, 5, 3, 0, tzinfo=UTC))
    late = plan.visits.get(due_on=date(2026, 2, 9))
    f.visit_done(late, starts_at=datetime(2026, 2, 10, 3, 0, tzinfo=UTC))
    with pytest.raises(DomainError):
        services.plan_end(actor=inst.me, plan=plan, ends_on=date(2026, 2, 2), reason="  ")
    ended = services.plan_end(actor=inst.me, plan=plan, ends_on=date(2026, 2, 2), reason="Kerja sama berakhir")
    assert (ended.status, ended.ends_on) == (PlanStatus.ENDED, date(2026, 2, 2))
    by_status = {s: sorted(plan.visits.filter(status=s).values_list("due_on", flat=True)) for s in VisitStatus.values}
    assert by_status[VisitStatus.DONE] == [start, date(2026, 2, 9)]
    assert by_status[VisitStatus.PLANNED] == []
    # Skipped before the visit of 9 Feb was recorded: missed (no longer "overdue" anywhere).
    assert by_status[VisitStatus.MISSED] == [date(2026, 1, 12), date(2026, 1, 19), date(2026, 1, 26), date(2026, 2, 2)]
    assert len(by_status[VisitStatus.CANCELLED]) == 12
    assert min(by_status[VisitStatus.CANCELLED]) == date(2026, 2, 16)
    assert services.generate_visits(ended, today=date(2026, 6, 1)) == 0
    event = AuditEvent.objects.get(action="maintenance.plan_end", object_id=str(plan.pk))
    assert event.after is not None and event.after["visits_cancelled"] == 12 and event.after["visits_missed"] == 0
    with pytest.raises(DomainError) as err:
        services.plan_end(actor=inst.me, plan=ended, reason="lagi")
    assert err.value.code == "plan_ended"


@pytest.mark.parametrize("username", [ME2, SALES, "pinca.c080102"])
def test_who_may_not_plan(username: str) -> None:
    inst = _executed()
    with pytest.raises(PermissionDenied):
        f.plan(inst, starts_on=date(2026, 1, 5), today=date(2026, 1, 5), actor=f.user(username))
    assert not MaintenancePlan.objects.filter(institution=inst).exists()


def test_reassigning_a_plan_moves_its_planned_visits_only(frozen: Any) -> None:
    inst = _executed()
    today = timezone.localdate()
    plan = f.plan(inst, starts_on=today - timedelta(days=7), today=today, frequency=Frequency.WEEKLY)
    done = plan.visits.order_by("due_on").first()
    assert done is not None
    f.visit_done(done)
    me2 = f.user(ME2)
    with pytest.raises(PermissionDenied):  # an ME does not hand their plan away
        services.plan_reassign(actor=inst.me, plan=plan, me=me2)
    with pytest.raises(DomainError):
        services.plan_reassign(actor=f.user(PINCA), plan=plan, me=f.user("me.c080102.1"))
    services.plan_reassign(actor=f.user(PINCA), plan=plan, me=me2)
    assert set(plan.visits.filter(status=VisitStatus.PLANNED).values_list("me__username", flat=True)) == {ME2}
    done.refresh_from_db()
    assert done.me.username == ME


# --- Leads: collection -------------------------------------------------------------------------------


def test_lead_needs_a_way_to_reach_the_person_and_a_valid_one() -> None:
    inst = f.institution_for(ME)
    with pytest.raises(DomainError) as err:
        f.lead(inst, phone="", email="")
    assert err.value.code == "no_contact"
    with pytest.raises(DomainError) as err:
        f.lead(inst, phone="12ab")
    assert str(err.value) == "Nomor telepon tidak valid."
    with pytest.raises(DomainError) as err:
        f.lead(inst, phone="", email="bukan-email")
    assert str(err.value) == "Alamat email tidak valid."
    assert not Lead.objects.filter(institution=inst).exists()


def test_lead_client_id_is_idempotent_and_private() -> None:
    inst = f.institution_for(ME)
    cid = uuid.uuid4()
    first = f.lead(inst, client_id=cid)
    again, created = services.lead_create(
        actor=inst.me,
        institution=inst,
        name="Budi Santoso",
        phone="0812-1111-2222",
        product="TABUNGAN_EMAS",
        purpose="x",
        lawful_basis="PERSETUJUAN",
        client_id=str(cid),
    )
    assert (again.pk, created) == (first.pk, False)
    assert Lead.objects.filter(institution=inst).count() == 1
    other = f.user(ME2)
    with pytest.raises(DomainError) as err:
        f.lead(f.institution_for(other), client_id=cid)
    assert err.value.code == "client_id_taken"


def test_lead_source_must_be_an_activity_of_the_institution() -> None:
    me = f.user(ME)
    inst, other = f.institution_for(me), f.institution_for(me)
    event = f.activity(other, ActivityKind.OPEN_BOOTH, attendance=30)
    with pytest.raises(DomainError) as err:
        f.lead(inst, source_activity=event)
    assert str(err.value) == "Aktivitas sumber bukan dari lembaga ini."
    with pytest.raises(PermissionDenied):
        f.lead(inst, actor=f.user(ME2))


# --- Leads: hand-off ------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["sales.c080102.1", "sales.c080201.1", ME2, PINCA, "kry.c080101"])
def test_hand_off_only_to_a_sales_member_of_the_leads_branch(username: str) -> None:
    lead = f.lead(f.institution_for(ME))
    with pytest.raises(DomainError) as err:
        services.lead_assign(actor=f.user(PINCA), lead=lead, assignee=f.user(username))
    assert (err.value.code, str(err.value)) == (
        "not_branch_sales",
        "Prospek hanya bisa diserahkan ke tim penjualan cabang ini.",
    )
    lead.refresh_from_db()
    assert lead.assigned_to is None
    assert not Notification.objects.filter(key__startswith=f"lead-assigned:{lead.pk}:").exists()


def test_hand_off_notifies_the_sales_member() -> None:
    inst = f.institution_for(ME)
    lead = f.lead(inst)
    sales, sales2 = f.user(SALES), f.user(SALES2)
    due = timezone.localdate() + timedelta(days=3)
    services.lead_assign(actor=inst.me, lead=lead, assignee=sales, due_on=due)
    lead.refresh_from_db()
    assert (lead.assigned_to, lead.due_on) == (sales, due)
    note = Notification.objects.get(user=sales, key__startswith=f"lead-assigned:{lead.pk}:")
    assert note.title == "Prospek baru untuk Anda: Tabungan Emas"
    assert inst.name in note.body and due.strftime("%d-%m-%Y") in note.body
    assert note.url == reverse("activities:lead-detail", args=[lead.pk])
    assert not Notification.objects.filter(user=sales2).exists()
    event = AuditEvent.objects.get(action="lead.assign", object_id=str(lead.pk))
    assert event.after == {"assigned_to": sales.pk, "due_on": due.isoformat()}
    # Handed on to the other sales member: they are told too.
    services.lead_assign(actor=f.user(PINCA), lead=lead, assignee=sales2)
    assert Notification.objects.filter(user=sales2, key__startswith=f"lead-assigned:{lead.pk}:").count() == 1


@pytest.mark.parametrize("username", [ME2, SALES, "pinca.c080102"])
def test_who_may_not_hand_off(username: str) -> None:
    lead = f.lead(f.institution_for(ME))
    with pytest.raises(PermissionDenied):
        services.lead_assign(actor=f.user(username), lead=lead, assignee=f.user(SALES))


def test_a_finished_lead_is_not_handed_off() -> None:
    inst = f.institution_for(ME)
    lead = f.lead(inst)
    services.lead_set_status(actor=inst.me, lead=lead, status=LeadStatus.CLOSING)
    with pytest.raises(DomainError) as err:
        services.lead_assign(actor=inst.me, lead=lead, assignee=f.user(SALES))
    assert err.value.code == "lead_closed"


# --- Leads: statuses ------------------------------------------------------------------------------------

ORDER = [LeadStatus.BARU, LeadStatus.DIHUBUNGI, LeadStatus.TERTARIK, LeadStatus.CLOSING]


def _allowed(current: str, target: str) -> bool:
    if current in (LeadStatus.CLOSING, LeadStatus.TIDAK_TERTARIK):
        return False
    if target == LeadStatus.TIDAK_TERTARIK:
        return True
    return target in ORDER and ORDER.index(target) > ORDER.index(current)  # type: ignore[arg-type]


@pytest.mark.parametrize("current", LeadStatus.values)
@pytest.mark.parametrize("target", LeadStatus.values)
def test_lead_status_moves_forward_or_out_and_closed_is_final(current: str, target: str) -> None:
    inst = f.institution_for(ME)
    lead = f.lead(inst)
    services.lead_assign(actor=inst.me, lead=lead, assignee=f.user(SALES))
    Lead.objects.filter(pk=lead.pk).update(status=current)  # setup: start from ``current``
    lead.refresh_from_db()
    note = "Sudah punya produk serupa." if target == LeadStatus.TIDAK_TERTARIK else ""
    if _allowed(current, target):
        services.lead_set_status(actor=f.user(SALES), lead=lead, status=target, note=note)
        lead.refresh_from_db()
        assert lead.status == target
        event = AuditEvent.objects.get(action="lead.status", object_id=str(lead.pk))
        assert (event.before, event.after) == ({"status": current}, {"status": target})
    else:
        with pytest.raises(DomainError) as err:
            services.lead_set_status(actor=f.user(SALES), lead=lead, status=target, note=note)
        assert err.value.code == "lead_transition"
        assert str(err.value) == (
            f"Status prospek tidak bisa berubah dari {LeadStatus(current).label} ke {LeadStatus(target).label}."
        )
        lead.refresh_from_db()
        assert lead.status == current


def test_not_interested_needs_a_reason() -> None:
    inst = f.institution_for(ME)
    lead = f.lead(inst)
    with pytest.raises(DomainError) as err:
        services.lead_set_status(actor=inst.me, lead=lead, status=LeadStatus.TIDAK_TERTARIK, note="  ")
    assert (err.value.field, str(err.value)) == ("note", "Tuliskan alasannya.")
    lead.refresh_from_db()
    assert lead.status == LeadStatus.BARU
    services.lead_set_status(actor=inst.me, lead=lead, status=LeadStatus.TIDAK_TERTARIK, note="Sudah nasabah bank lain")
    lead.refresh_from_db()
    assert (lead.status, lead.notes) == (LeadStatus.TIDAK_TERTARIK, "Sudah nasabah bank lain")


def test_who_may_change_a_leads_status() -> None:
    inst = f.institution_for(ME)
    lead = f.lead(inst)
    # Before the hand-off no sales member may touch it.
    with pytest.raises(PermissionDenied):
        services.lead_set_status(actor=f.user(SALES), lead=lead, status=LeadStatus.DIHUBUNGI)
    services.lead_assign(actor=inst.me, lead=lead, assignee=f.user(SALES))
    for outsider in (SALES2, ME2, "pinca.c080102", "kry.c080101"):
        with pytest.raises(PermissionDenied):
            services.lead_set_status(actor=f.user(outsider), lead=lead, status=LeadStatus.DIHUBUNGI)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.BARU
    services.lead_set_status(actor=f.user(SALES), lead=lead, status=LeadStatus.DIHUBUNGI)
    services.lead_set_status(actor=inst.me, lead=lead, status=LeadStatus.TERTARIK)
    services.lead_set_status(actor=f.user(PINCA), lead=lead, status=LeadStatus.CLOSING)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CLOSING


# --- Leads: conversion -----------------------------------------------------------------------------------


def test_conversion_per_institution_event_me_and_branch() -> None:
    f.clear_branch_work("C080101", "C080102")
    pinca = f.user(PINCA)
    a = f.institution_for(ME)
    b = f.institution_for(ME2)
    c = f.institution_for("me.c080102.1", branch="C080102")
    e1 = f.activity(a, ActivityKind.SOSIALISASI, title="Sosialisasi Tabungan Emas", attendance=50)
    e2 = f.activity(b, ActivityKind.OPEN_BOOTH, title="Open booth gajian", attendance=80)
    call = f.activity(b, ActivityKind.KOMUNIKASI_LANJUTAN)

    def leads(inst: Institution, n: int, source: Activity | None = None) -> list[Lead]:
        return [f.lead(inst, name=f"Calon {inst.pk}-{i}", source_activity=source) for i in range(n)]

    a_event, a_direct = leads(a, 2, e1), leads(a, 2)
    b_event, b_call = leads(b, 3, e2), leads(b, 1, call)
    leads(c, 2)
    for won in (a_event[0], a_direct[0], b_event[0]):
        services.lead_set_status(actor=pinca, lead=won, status=LeadStatus.CLOSING)
    services.lead_set_status(actor=pinca, lead=a_direct[1], status=LeadStatus.TIDAK_TERTARIK, note="Tidak butuh")
    services.lead_set_status(actor=pinca, lead=b_call[0], status=LeadStatus.TERTARIK)

    viewer = f.user("dba.a0801")  # sees both branches of the area

    def table(by: str) -> dict[Any, tuple[int, int, int, float]]:
        return {r["id"]: (r["total"], r["won"], r["lost"], r["rate"]) for r in selectors.conversion(viewer, by)}

    # Computed by hand from what was made above: won / total (open leads count in the total).
    by_inst = table("institution")
    assert {k: by_inst[k] for k in (a.pk, b.pk, c.pk)} == {
        a.pk: (4, 2, 1, 50.0),
        b.pk: (4, 1, 0, 25.0),
        c.pk: (2, 0, 0, 0.0),
    }
    by_event = table("event")
    assert {k: by_event[k] for k in (e1.pk, e2.pk)} == {e1.pk: (2, 1, 0, 50.0), e2.pk: (3, 1, 0, 33.3)}
    assert call.pk not in by_event  # a call is not an event
    by_me = table("me")
    me1, me2, me3 = f.user(ME), f.user(ME2), f.user("me.c080102.1")
    assert {k: by_me[k] for k in (me1.pk, me2.pk, me3.pk)} == {
        me1.pk: (4, 2, 1, 50.0),
        me2.pk: (4, 1, 0, 25.0),
        me3.pk: (2, 0, 0, 0.0),
    }
    by_branch = table("branch")
    assert {k: by_branch[k] for k in (a.branch_id, c.branch_id)} == {
        a.branch_id: (8, 3, 1, 37.5),
        c.branch_id: (2, 0, 0, 0.0),
    }
    labels = {r["id"]: r["label"] for r in selectors.conversion(viewer, "me")}
    assert labels[me1.pk] == (me1.get_full_name() or me1.username)
    # The branch head sees only their branch.
    assert {r["id"] for r in selectors.conversion(pinca, "branch")} == {a.branch_id}
    assert c.pk not in {r["id"] for r in selectors.conversion(pinca, "institution")}


# --- Leads: personal data ---------------------------------------------------------------------------------


def test_erasing_a_lead_keeps_the_row_and_removes_the_person() -> None:
    inst = f.institution_for(ME)
    lead = f.lead(inst, name="Rara Kusumawati", email="rara@contoh.co.id", notes="Telepon sore hari")
    services.lead_set_status(actor=inst.me, lead=lead, status=LeadStatus.CLOSING)
    before = selectors.conversion(f.user(PINCA), "institution")
    with pytest.raises(DomainError):
        services.lead_erase(actor=inst.me, lead=lead, reason=" ")
    with pytest.raises(PermissionDenied):
        services.lead_erase(actor=f.user(SALES), lead=lead, reason="Permintaan subjek data")
    services.lead_erase(actor=inst.me, lead=lead, reason="Permintaan subjek data tgl 2 Maret")
    row = Lead.objects.get(pk=lead.pk)
    assert (row.name, row.phone, row.email, row.notes) == ("(dihapus)", "", "", "")
    assert row.erased_at is not None and row.personal_data_hidden
    assert (row.status, row.product, row.institution_id) == (LeadStatus.CLOSING, "TABUNGAN_EMAS", inst.pk)
    assert selectors.conversion(f.user(PINCA), "institution") == before


def test_no_lead_personal_data_enters_the_audit_chain(settings: Any) -> None:
    settings.LEAD_RETENTION_DAYS = 30
    first_seq = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    inst = f.institution_for(ME)
    people = [
        ("Rara Kusumawati Pratiwi", "0813-9876-5432", "rara.kusumawati@contoh.co.id"),
        ("Yohanes Silalahi", "+62 821 5555 0101", "yohanes.silalahi@contoh.co.id"),
    ]
    with time_machine.travel(timezone.now() - timedelta(days=60)):
        old = f.lead(inst, name=people[1][0], phone=people[1][1], email=people[1][2])
    lead = f.lead(inst, name=people[0][0], phone=people[0][1], email=people[0][2])
    services.lead_assign(actor=inst.me, lead=lead, assignee=f.user(SALES), due_on=timezone.localdate())
    services.lead_set_status(actor=f.user(SALES), lead=lead, status=LeadStatus.TIDAK_TERTARIK, note="Tidak berminat")
    services.lead_erase(actor=inst.me, lead=lead, reason="Permintaan subjek data")
    assert services.leads_anonymise(today=timezone.localdate()) >= 1
    old.refresh_from_db()
    assert old.anonymised_at is not None
    events = list(AuditEvent.objects.filter(seq__gt=first_seq))
    assert {"lead.create", "lead.assign", "lead.status", "lead.erase", "lead.anonymise"} <= {e.action for e in events}
    text = json.dumps([[e.before, e.after] for e in events]).lower()
    for name, phone, email in people:
        digits = "".join(ch for ch in phone if ch.isdigit())
        for secret in (name.lower(), *name.lower().split(), phone, digits, email, email.split("@")[0]):
            assert secret not in text, secret


def test_ending_a_plan_marks_planned_visits_before_the_end_missed(frozen: Any) -> None:
    inst = _executed()
    start = date(2026, 1, 5)
    plan = f.plan(inst, starts_on=start, today=start, frequency=Frequency.WEEKLY)
    services.plan_end(actor=inst.me, plan=plan, ends_on=date(2026, 1, 20), reason="Kerja sama berakhir")
    missed = sorted(plan.visits.filter(status=VisitStatus.MISSED).values_list("due_on", flat=True))
    assert missed == [start, date(2026, 1, 12), date(2026, 1, 19)]
    assert not plan.visits.filter(status=VisitStatus.PLANNED).exists()
