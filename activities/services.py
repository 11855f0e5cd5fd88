"""Every write of the ME's work: activities and their evidence, maintenance
plans and visits, leads and their hand-off.

Each service runs in one transaction, checks the actor's permission through
the access policy (``actor=None`` is the system: demo data, commands),
validates, writes and appends one audit event. Personal data (a lead's name,
phone, e-mail) never goes into the append-only audit chain.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from activities import schedule
from activities.models import (
    EVENT_KINDS,
    OPEN_LEAD_STATUSES,
    Activity,
    ActivityKind,
    ActivityStatus,
    Evidence,
    Frequency,
    Lead,
    LeadStatus,
    MaintenancePlan,
    MaintenanceVisit,
    Participant,
    ParticipantRole,
    PlanStatus,
    VisitStatus,
)
from control import audit
from core import figures
from core.dates import in_range
from core.errors import DomainError
from core.geo import haversine_km
from core.notify import in_language, notify
from core.products import Product
from institutions.models import Contact, Institution, LawfulBasis, Stage
from org.access import active_assignment, active_role, visible_activities
from org.models import OrgUnit, Placement, Role, RoleAssignment

ACTIVITY_AUDIT_FIELDS = (
    "kind",
    "status",
    "starts_at",
    "ends_at",
    "place",
    "title",
    "me",
    "institution",
    "contact",
    "attendance",
    "products",
    "next_step_date",
    "checkin_far",
    "visit",
)
# A "done" activity may be logged a little ahead of the server's clock (a phone's clock drifts).
CLOCK_SKEW = timedelta(minutes=15)
PLANNABLE_STAGES = frozenset({Stage.EKSEKUSI, Stage.MAINTENANCE})
# A plan starts at most this far from today (a plan already running on paper may start in the past).
PLAN_START_WINDOW = timedelta(days=366)


def _require(actor: Any, perm: str, obj: Any = None) -> None:
    if actor is not None and not actor.has_perm(perm, obj):
        raise PermissionDenied


def _branch_of(me: Any) -> OrgUnit | None:
    placement = Placement.objects.filter(user=me, valid_to__isnull=True).select_related("branch__parent").first()
    return placement.branch if placement else None


def _is_posted(me: Any, branch: OrgUnit) -> bool:
    return RoleAssignment.objects.active().filter(user=me, role=Role.ME, unit=branch).exists()


def _staff_role(user_id: int, branch: OrgUnit) -> str | None:
    """The role a colleague holds in ``branch`` today (Pinca, sales, ME), or None."""
    roles = set(
        RoleAssignment.objects.active()
        .filter(user_id=user_id, unit=branch, role__in=(Role.PINCA, Role.SALES, Role.ME))
        .values_list("role", flat=True)
    )
    if Role.PINCA in roles:
        return ParticipantRole.PINCA
    if Role.SALES in roles:
        return ParticipantRole.SALES
    if Role.ME in roles:
        return ParticipantRole.LAINNYA
    return None


def _jakarta_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


# --- Evidence uploads ------------------------------------------------------------------

# What an evidence file may be, recognised by its first bytes (never by its name alone).
EVIDENCE_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "image/jpeg": ("JPEG", (".jpg", ".jpeg")),
    "image/png": ("PNG", (".png",)),
    "image/webp": ("WebP", (".webp",)),
    "image/heic": ("HEIC", (".heic", ".heif")),
    "application/pdf": ("PDF", (".pdf",)),
}


def sniff_type(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heif"):
        return "image/heic"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


@dataclass
class CheckedUpload:
    file: UploadedFile
    name: str
    content_type: str
    size: int
    sha256: str


def check_upload(f: UploadedFile) -> CheckedUpload:
    """Refuse anything that is not a photo (JPEG, PNG, WebP, HEIC) or a PDF within
    the size limit; the message names the file and the reason."""
    name = (f.name or "").rsplit("/", 1)[-1][:255] or "bukti"
    limit = settings.EVIDENCE_MAX_BYTES
    if f.size is None or f.size == 0:
        raise DomainError(_("Berkas %(name)s kosong.") % {"name": name}, field="evidence", code="evidence_empty")
    if f.size > limit:
        raise DomainError(
            _("Berkas %(name)s terlalu besar (%(size)s MB); batasnya %(limit)s MB.")
            % {"name": name, "size": round(f.size / 1048576, 1), "limit": round(limit / 1048576, 1)},
            field="evidence",
            code="evidence_too_large",
        )
    f.seek(0)
    head = f.read(16)
    kind = sniff_type(head)
    if kind is None:
        raise DomainError(
            _("Berkas %(name)s bukan foto (JPEG, PNG, WebP, HEIC) atau PDF.") % {"name": name},
            field="evidence",
            code="evidence_type",
        )
    extensions = EVIDENCE_TYPES[kind][1]
    if not name.lower().endswith(extensions):
        raise DomainError(
            _("Isi berkas %(name)s adalah %(kind)s, tetapi namanya tidak berakhiran %(ext)s.")
            % {"name": name, "kind": EVIDENCE_TYPES[kind][0], "ext": " / ".join(extensions)},
            field="evidence",
            code="evidence_type",
        )
    digest = hashlib.sha256()
    f.seek(0)
    for chunk in f.chunks():
        digest.update(chunk)
    f.seek(0)
    return CheckedUpload(file=f, name=name, content_type=kind, size=f.size, sha256=digest.hexdigest())


def _check_uploads(files: list[UploadedFile], already: int = 0) -> list[CheckedUpload]:
    files = [f for f in files if f]
    if already + len(files) > settings.EVIDENCE_MAX_FILES:
        raise DomainError(
            _("Paling banyak %(n)s berkas bukti per aktivitas.") % {"n": settings.EVIDENCE_MAX_FILES},
            field="evidence",
            code="evidence_too_many",
        )
    return [check_upload(f) for f in files]


def _store_uploads(activity: Activity, checked: list[CheckedUpload], actor: Any, stored: list[str]) -> list[Evidence]:
    """Save the files through the storage API (under random names; the original
    name is kept only as data). ``stored`` collects the names so the caller can
    delete them if its transaction rolls back."""
    out = []
    # The same file twice (a retried upload after a lost answer) is stored once.
    seen = set(activity.evidence.values_list("sha256", flat=True)) if activity.pk else set()
    for c in checked:
        if c.sha256 in seen:
            continue
        seen.add(c.sha256)
        ev = Evidence(
            activity=activity,
            original_name=c.name,
            content_type=c.content_type,
            size=c.size,
            sha256=c.sha256,
            uploaded_by=actor,
        )
        extension = EVIDENCE_TYPES[c.content_type][1][0]
        ev.file.save(f"{uuid.uuid4().hex}{extension}", c.file, save=False)
        stored.append(ev.file.name)
        ev.save()
        out.append(ev)
    return out


def _delete_files(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for n in names:
        with contextlib.suppress(OSError):
            default_storage.delete(n)


# --- Activities --------------------------------------------------------------------------


def _parse_coordinate(value: Any, low: Decimal, high: Decimal, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        d = Decimal(str(value)).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError):
        raise DomainError(_("Koordinat tidak valid."), field=field) from None
    if not (low <= d <= high):
        raise DomainError(_("Koordinat di luar jangkauan."), field=field)
    return d


def checkin_distance(inst: Institution | None, lat: Decimal | None, lon: Decimal | None) -> float | None:
    if inst is None or lat is None or lon is None or inst.latitude is None or inst.longitude is None:
        return None
    return haversine_km(float(inst.latitude), float(inst.longitude), float(lat), float(lon))


def _resolve_me(actor: Any, me: Any, inst: Institution | None) -> Any:
    """The ME whose work this is: the actor when an ME records it; otherwise the
    one named, else the institution's ME."""
    role = active_role(actor) if actor is not None else None
    if role == Role.ME:
        return actor
    chosen = me or (inst.me if inst is not None else None)
    if chosen is None:
        raise DomainError(_("Pilih Marketing Executive yang melaksanakan."), field="me", code="me_required")
    return chosen


def _participants(ids: list[Any], branch: OrgUnit, actor: Any, kind: str) -> list[tuple[int, str]]:
    rows: dict[int, str] = {}
    for raw in ids or []:
        try:
            uid = int(getattr(raw, "pk", raw))
        except (TypeError, ValueError):
            raise DomainError(_("Peserta tidak dikenal."), field="participants") from None
        role = _staff_role(uid, branch)
        if role is None:
            raise DomainError(
                _("Peserta harus Pemimpin Cabang, tim penjualan atau ME cabang ini."),
                field="participants",
                code="participant_not_in_branch",
            )
        rows[uid] = role
    # A branch head who records an audience was there.
    if actor is not None and kind == ActivityKind.AUDIENSI and active_role(actor) == Role.PINCA:
        rows.setdefault(actor.pk, ParticipantRole.PINCA)
    return sorted(rows.items())


def activity_create(
    *,
    actor: Any,
    kind: str,
    starts_at: datetime,
    status: str = ActivityStatus.PLANNED,
    institution: Institution | None = None,
    me: Any = None,
    contact: Contact | None = None,
    place: str = "",
    title: str = "",
    ends_at: datetime | None = None,
    outcome: str = "",
    next_step: str = "",
    next_step_date: date | None = None,
    attendance: int | None = None,
    products: list[str] | None = None,
    participants: list[Any] | None = None,
    checkin_latitude: Any = None,
    checkin_longitude: Any = None,
    checkin_accuracy_m: int | None = None,
    visit: MaintenanceVisit | None = None,
    evidence: list[UploadedFile] | None = None,
    client_id: uuid.UUID | str | None = None,
) -> tuple[Activity, bool]:
    """Record an activity. Returns ``(activity, created)``: a retry with the same
    ``client_id`` returns the activity already recorded and creates nothing."""
    if client_id:
        try:
            client_id = uuid.UUID(str(client_id))
        except ValueError:
            raise DomainError(_("client_id bukan UUID."), field="client_id") from None
        existing = _existing_by_client_id(actor, client_id)
        if existing is not None:
            return existing, False
    _require(actor, "activities.create")
    if kind not in ActivityKind.values:
        raise DomainError(_("Jenis aktivitas tidak dikenal."), field="kind")
    if status not in (ActivityStatus.PLANNED, ActivityStatus.DONE):
        raise DomainError(_("Aktivitas baru direncanakan atau sudah selesai."), field="status")
    if institution is None and kind != ActivityKind.LAINNYA:
        raise DomainError(_("Pilih lembaga yang dikunjungi."), field="institution", code="institution_required")
    if institution is not None:
        if actor is not None:
            from org.access import visible_institutions

            if not visible_institutions(actor).filter(pk=institution.pk).exists():
                raise DomainError(_("Lembaga tidak ditemukan."), field="institution")
        # The ME responsible for a scheduled visit records it, even when the
        # institution's own ME is someone else.
        _require(actor, "activities.log_visit" if visit is not None else "activities.create_for", visit or institution)
    the_me = _resolve_me(actor, me or (visit.me if visit is not None else None), institution)
    branch: OrgUnit | None
    area_id: Any
    region_id: Any
    if institution is not None:
        branch = institution.branch
        area_id, region_id = institution.area_id, institution.region_id
    else:
        if active_role(actor) == Role.ME or actor is None:
            branch = _branch_of(the_me)
        else:
            assignment = active_assignment(actor)
            branch = assignment.unit if assignment else None
        if branch is None or branch.parent is None or branch.parent.parent_id is None:
            raise DomainError(_("ME ini belum ditempatkan di cabang."), field="me")
        _require(actor, "activities.create_for", branch)
        area_id, region_id = branch.parent_id, branch.parent.parent_id
    if not _is_posted(the_me, branch):
        raise DomainError(_("ME yang dipilih tidak bertugas di cabang lembaga ini."), field="me", code="me_not_posted")
    if not in_range(starts_at.date()) or (ends_at is not None and not in_range(ends_at.date())):
        raise DomainError(_("Tanggal di luar jangkauan."), field="starts_at", code="date_range")
    if timezone.is_naive(starts_at):
        starts_at = timezone.make_aware(starts_at)
    if ends_at is not None:
        if timezone.is_naive(ends_at):
            ends_at = timezone.make_aware(ends_at)
        if ends_at < starts_at:
            raise DomainError(_("Waktu selesai sebelum waktu mulai."), field="ends_at")
    now = timezone.now()
    if status == ActivityStatus.DONE:
        if starts_at > now + CLOCK_SKEW:
            raise DomainError(_("Aktivitas yang belum terjadi tidak bisa dicatat selesai."), field="starts_at")
        if not outcome.strip():
            raise DomainError(_("Tuliskan hasilnya."), field="outcome", code="outcome_required")
    if contact is not None and (contact.institution_id != getattr(institution, "pk", None) or contact.is_erased):
        raise DomainError(_("Kontak bukan dari lembaga ini."), field="contact")
    products = _clean_products(products, kind)
    if attendance is not None and kind not in EVENT_KINDS:
        attendance = None
    if attendance is not None and (attendance < 0 or attendance > 1_000_000):
        raise DomainError(_("Jumlah peserta tidak masuk akal."), field="attendance")
    lat = _parse_coordinate(checkin_latitude, Decimal(-90), Decimal(90), "checkin_latitude")
    lon = _parse_coordinate(checkin_longitude, Decimal(-180), Decimal(180), "checkin_longitude")
    if (lat is None) != (lon is None):
        raise DomainError(_("Lokasi check-in tidak lengkap."), field="checkin_latitude")
    if visit is not None and (
        kind != ActivityKind.KUNJUNGAN_MAINTENANCE or institution is None or visit.institution_id != institution.pk
    ):
        raise DomainError(_("Jadwal kunjungan bukan untuk lembaga ini."), field="visit")
    checked = _check_uploads(evidence or [])
    people = _participants(participants or [], branch, actor, kind)
    stored: list[str] = []
    try:
        with transaction.atomic():
            if visit is not None:
                visit = MaintenanceVisit.objects.select_for_update().get(pk=visit.pk)
                if visit.status != VisitStatus.PLANNED or _visit_taken(visit):
                    raise DomainError(_("Jadwal kunjungan ini sudah dicatat."), field="visit", code="visit_taken")
            act = Activity(
                client_id=client_id or None,
                kind=kind,
                status=status,
                starts_at=starts_at,
                ends_at=ends_at,
                day=_jakarta_day(starts_at),
                place=place.strip()[:200],
                title=title.strip()[:200],
                me=the_me,
                institution=institution,
                contact=contact,
                outcome=outcome.strip(),
                next_step=next_step.strip()[:255],
                next_step_date=next_step_date,
                attendance=attendance,
                products=products,
                branch=branch,
                area_id=area_id,
                region_id=region_id,
                visit=visit,
                created_by=actor,
            )
            if lat is not None and lon is not None:
                _set_checkin(act, institution, lat, lon, checkin_accuracy_m, now)
            try:
                with transaction.atomic():
                    act.save()
            except IntegrityError:
                # The same client id raced in from a retry: that one stands.
                existing = _existing_by_client_id(actor, client_id) if client_id else None
                if existing is not None:
                    return existing, False
                raise
            Participant.objects.bulk_create([Participant(activity=act, user_id=uid, role=role) for uid, role in people])
            _store_uploads(act, checked, actor, stored)
            if visit is not None and status == ActivityStatus.DONE:
                _complete_visit(visit, act.day)
            audit.record(
                actor=actor,
                action="activity.create",
                obj=act,
                after={
                    **audit.snapshot(act, ACTIVITY_AUDIT_FIELDS),
                    "participants": [uid for uid, _r in people],
                    "evidence": [c.sha256 for c in checked],
                },
            )
    except BaseException:
        _delete_files(stored)
        raise
    return act, True


def _visit_taken(visit: MaintenanceVisit) -> bool:
    return Activity.objects.filter(visit=visit).exists()


def _existing_by_client_id(actor: Any, client_id: uuid.UUID) -> Activity | None:
    act = Activity.objects.filter(client_id=client_id).first()
    if act is None:
        return None
    if actor is not None and act.created_by_id != actor.pk:
        # Someone else's id: never reveal their activity; refuse the reuse.
        raise DomainError(_("client_id sudah dipakai."), field="client_id", code="client_id_taken")
    return act


def _clean_products(products: list[str] | None, kind: str) -> list[str]:
    out = []
    for p in products or []:
        if p not in Product.values:
            raise DomainError(_("Produk tidak dikenal: %(p)s.") % {"p": p}, field="products")
        if p not in out:
            out.append(p)
    return out if kind in EVENT_KINDS else []


def _set_checkin(
    act: Activity, inst: Institution | None, lat: Decimal, lon: Decimal, accuracy: int | None, now: datetime
) -> None:
    if accuracy is not None and (accuracy < 0 or accuracy > 100_000):
        raise DomainError(_("Akurasi lokasi tidak masuk akal."), field="checkin_accuracy_m")
    act.checkin_latitude, act.checkin_longitude = lat, lon
    act.checkin_accuracy_m = accuracy
    act.checkin_at = now
    km = checkin_distance(inst, lat, lon)
    if km is not None:
        act.checkin_distance_km = Decimal(str(round(km, 2)))
        act.checkin_far = km > settings.CHECKIN_FAR_KM + (accuracy or 0) / 1000


def _complete_visit(visit: MaintenanceVisit, day: date) -> None:
    """The visit is done; its plan's earlier visits still planned were missed
    (one visit now does not make up for several skipped)."""
    visit.status = VisitStatus.DONE
    visit.done_on = day
    visit.save(update_fields=["status", "done_on", "updated_at"])
    earlier = MaintenanceVisit.objects.filter(
        plan_id=visit.plan_id, status=VisitStatus.PLANNED, due_on__lt=visit.due_on
    )
    figures.changed(pairs=[(visit.branch_id, d) for d in earlier.values_list("due_on", flat=True)])
    earlier.update(status=VisitStatus.MISSED, updated_at=timezone.now())


ACTIVITY_EDITABLE = frozenset(
    {
        "starts_at",
        "ends_at",
        "place",
        "title",
        "contact",
        "outcome",
        "next_step",
        "next_step_date",
        "attendance",
        "products",
    }
)


def activity_update(
    *,
    actor: Any,
    activity: Activity,
    status: str | None = None,
    participants: list[Any] | None = None,
    checkin_latitude: Any = None,
    checkin_longitude: Any = None,
    checkin_accuracy_m: int | None = None,
    evidence: list[UploadedFile] | None = None,
    **changes: Any,
) -> Activity:
    """Change, complete (PLANNED → DONE) or cancel an activity. A done or
    cancelled activity keeps its status; its notes may still be corrected."""
    _require(actor, "activities.change", activity)
    unknown = set(changes) - ACTIVITY_EDITABLE
    if unknown:
        raise DomainError(_("Kolom tidak bisa diubah: %(f)s.") % {"f": ", ".join(sorted(unknown))})
    checked = _check_uploads(evidence or [], already=activity.evidence.count())
    stored: list[str] = []
    try:
        with transaction.atomic():
            act = Activity.objects.select_for_update().get(pk=activity.pk)
            before = audit.snapshot(act, ACTIVITY_AUDIT_FIELDS)
            for name, value in changes.items():
                if name in ("place", "title", "next_step"):
                    value = (value or "").strip()
                if name == "products":
                    value = _clean_products(value, act.kind)
                if name == "attendance" and act.kind not in EVENT_KINDS:
                    value = None
                if (
                    name == "contact"
                    and value is not None
                    and (value.institution_id != act.institution_id or value.is_erased)
                ):
                    raise DomainError(_("Kontak bukan dari lembaga ini."), field="contact")
                setattr(act, name, value)
            for moment in (changes.get("starts_at"), changes.get("ends_at")):
                if moment is not None and not in_range(moment.date()):
                    raise DomainError(_("Tanggal di luar jangkauan."), field="starts_at", code="date_range")
            if "starts_at" in changes:
                if timezone.is_naive(act.starts_at):
                    act.starts_at = timezone.make_aware(act.starts_at)
                act.day = _jakarta_day(act.starts_at)
            if act.ends_at is not None and act.ends_at < act.starts_at:
                raise DomainError(_("Waktu selesai sebelum waktu mulai."), field="ends_at")
            now = timezone.now()
            if status and status != act.status:
                if act.status != ActivityStatus.PLANNED:
                    raise DomainError(
                        _("Aktivitas yang sudah %(s)s tidak bisa diubah statusnya.")
                        % {"s": act.get_status_display().lower()},
                        field="status",
                    )
                if status == ActivityStatus.DONE:
                    if act.starts_at > now + CLOCK_SKEW:
                        raise DomainError(_("Aktivitas yang belum terjadi tidak bisa dicatat selesai."), field="status")
                    if not act.outcome.strip():
                        raise DomainError(_("Tuliskan hasilnya."), field="outcome", code="outcome_required")
                elif status != ActivityStatus.CANCELLED:
                    raise DomainError(_("Status tidak dikenal."), field="status")
                act.status = status
                if act.visit_id and status == ActivityStatus.DONE:
                    _complete_visit(MaintenanceVisit.objects.select_for_update().get(pk=act.visit_id), act.day)
            elif act.status == ActivityStatus.DONE and not act.outcome.strip():
                raise DomainError(_("Tuliskan hasilnya."), field="outcome", code="outcome_required")
            if act.status == ActivityStatus.DONE and act.starts_at > now + CLOCK_SKEW:
                # A done activity moved into the future is refused, as at creation.
                raise DomainError(_("Aktivitas yang belum terjadi tidak bisa dicatat selesai."), field="starts_at")
            lat = _parse_coordinate(checkin_latitude, Decimal(-90), Decimal(90), "checkin_latitude")
            lon = _parse_coordinate(checkin_longitude, Decimal(-180), Decimal(180), "checkin_longitude")
            if (lat is None) != (lon is None):
                raise DomainError(_("Lokasi check-in tidak lengkap."), field="checkin_latitude")
            if lat is not None and lon is not None:
                _set_checkin(act, act.institution, lat, lon, checkin_accuracy_m, now)
            act.save()
            if participants is not None:
                people = _participants(participants, act.branch, actor, act.kind)
                act.participant_rows.all().delete()
                Participant.objects.bulk_create([Participant(activity=act, user_id=u, role=r) for u, r in people])
            _store_uploads(act, checked, actor, stored)
            after = audit.snapshot(act, ACTIVITY_AUDIT_FIELDS)
            audit.record(
                actor=actor,
                action="activity.update",
                obj=act,
                before=before,
                after={**after, "evidence_added": [c.sha256 for c in checked]},
            )
    except BaseException:
        _delete_files(stored)
        raise
    return act


def evidence_add(*, actor: Any, activity: Activity, files: list[UploadedFile]) -> list[Evidence]:
    _require(actor, "activities.change", activity)
    if not [f for f in files if f]:
        raise DomainError(_("Pilih berkas bukti."), field="evidence")
    checked = _check_uploads(files, already=activity.evidence.count())
    stored: list[str] = []
    try:
        with transaction.atomic():
            Activity.objects.select_for_update().get(pk=activity.pk)
            saved = _store_uploads(activity, checked, actor, stored)
            audit.record(
                actor=actor, action="activity.evidence", obj=activity, after={"evidence": [c.sha256 for c in checked]}
            )
    except BaseException:
        _delete_files(stored)
        raise
    return saved


# --- Maintenance plans ---------------------------------------------------------------------


def plan_create(
    *,
    actor: Any,
    institution: Institution,
    me: Any = None,
    frequency: str = Frequency.MONTHLY,
    starts_on: date,
    grace_days: int = 7,
    ends_on: date | None = None,
    notes: str = "",
    today: date | None = None,
) -> MaintenancePlan:
    """A maintenance plan for an executed institution; visits are generated ahead."""
    _require(actor, "activities.plan_maintenance", institution)
    if institution.stage not in PLANNABLE_STAGES:
        raise DomainError(
            _("Rencana maintenance hanya untuk lembaga di tahap Eksekusi atau Maintenance (sekarang: %(s)s).")
            % {"s": institution.get_stage_display()},
            field="institution",
            code="not_executed",
        )
    if frequency not in Frequency.values:
        raise DomainError(_("Frekuensi tidak dikenal."), field="frequency")
    reference = today or timezone.localdate()
    if not reference - PLAN_START_WINDOW <= starts_on <= reference + PLAN_START_WINDOW:
        raise DomainError(
            _("Tanggal mulai paling jauh satu tahun sebelum atau sesudah hari ini."),
            field="starts_on",
            code="date_range",
        )
    if ends_on is not None and not in_range(ends_on):
        raise DomainError(_("Tanggal di luar jangkauan."), field="ends_on", code="date_range")
    if not 0 <= int(grace_days) <= 60:
        raise DomainError(_("Toleransi antara 0 dan 60 hari."), field="grace_days")
    if ends_on is not None and ends_on <= starts_on:
        raise DomainError(_("Tanggal berakhir harus setelah tanggal mulai."), field="ends_on")
    the_me = actor if active_role(actor) == Role.ME else (me or institution.me)
    if the_me is None:
        raise DomainError(_("Pilih ME penanggung jawab."), field="me", code="me_required")
    if not _is_posted(the_me, institution.branch):
        raise DomainError(_("ME yang dipilih tidak bertugas di cabang lembaga ini."), field="me", code="me_not_posted")
    with transaction.atomic():
        Institution.objects.select_for_update().filter(pk=institution.pk).first()
        if MaintenancePlan.objects.filter(institution=institution, status=PlanStatus.ACTIVE).exists():
            raise DomainError(
                _("Lembaga ini sudah punya rencana maintenance yang aktif."), field="institution", code="plan_exists"
            )
        plan = MaintenancePlan.objects.create(
            institution=institution,
            me=the_me,
            frequency=frequency,
            starts_on=starts_on,
            ends_on=ends_on,
            grace_days=int(grace_days),
            notes=notes.strip()[:255],
            branch_id=institution.branch_id,
            area_id=institution.area_id,
            region_id=institution.region_id,
            created_by=actor,
        )
        created = generate_visits(plan, today=today)
        audit.record(
            actor=actor,
            action="maintenance.plan_create",
            obj=plan,
            after={
                **audit.snapshot(plan, ("institution", "me", "frequency", "starts_on", "ends_on", "grace_days")),
                "visits": created,
            },
        )
    return plan


def generate_visits(plan: MaintenancePlan, *, today: date | None = None) -> int:
    """Create the planned visits of ``plan`` up to the horizon (idempotent)."""
    today = today or timezone.localdate()
    if plan.status != PlanStatus.ACTIVE:
        return 0
    until = max(today, plan.starts_on) + timedelta(days=schedule.HORIZON_DAYS)
    have = set(plan.visits.values_list("due_on", flat=True))
    new = [
        MaintenanceVisit(
            plan=plan,
            institution_id=plan.institution_id,
            me_id=plan.me_id,
            due_on=d,
            overdue_on=schedule.overdue_on(d, plan.grace_days),
            branch_id=plan.branch_id,
            area_id=plan.area_id,
            region_id=plan.region_id,
        )
        for d in schedule.due_dates(plan.frequency, plan.starts_on, until, plan.ends_on)
        if d not in have
    ]
    MaintenanceVisit.objects.bulk_create(new, ignore_conflicts=True)
    # A plan starting in the past creates visits already due (and overdue) in earlier months.
    figures.changed(pairs=[(plan.branch_id, v.due_on) for v in new])
    return len(new)


def plan_end(*, actor: Any, plan: MaintenancePlan, ends_on: date | None = None, reason: str = "") -> MaintenancePlan:
    """End a plan: visits from ``ends_on`` on are cancelled; done ones stay."""
    _require(actor, "activities.change_plan", plan)
    if not reason.strip():
        raise DomainError(_("Tuliskan alasannya."), field="reason")
    today = timezone.localdate()
    ends_on = ends_on or today
    if ends_on > today:
        raise DomainError(
            _("Akhiri rencana pada hari berakhirnya; tanggal berakhir tidak boleh di masa depan."),
            field="ends_on",
            code="end_in_future",
        )
    with transaction.atomic():
        p = MaintenancePlan.objects.select_for_update().get(pk=plan.pk)
        if p.status != PlanStatus.ACTIVE:
            raise DomainError(_("Rencana ini sudah berakhir."), code="plan_ended")
        ends_on = max(ends_on, p.starts_on)
        p.status = PlanStatus.ENDED
        p.ends_on = ends_on
        p.save(update_fields=["status", "ends_on", "updated_at"])
        cancelled, missed = _close_visits(p, ends_on)
        audit.record(
            actor=actor,
            action="maintenance.plan_end",
            obj=p,
            after={
                "ends_on": ends_on,
                "reason": reason.strip()[:255],
                "visits_cancelled": cancelled,
                "visits_missed": missed,
            },
        )
    return p


def _close_visits(plan: MaintenancePlan, from_day: date) -> tuple[int, int]:
    """An ended plan's visits still planned: from ``from_day`` on they are
    cancelled; earlier ones were missed (they stay visible as such and no longer
    count as overdue)."""
    now = timezone.now()
    planned = plan.visits.filter(status=VisitStatus.PLANNED)
    figures.changed(pairs=[(plan.branch_id, d) for d in planned.values_list("due_on", flat=True)])
    cancelled = planned.filter(due_on__gte=from_day).update(status=VisitStatus.CANCELLED, updated_at=now)
    missed = planned.filter(due_on__lt=from_day).update(status=VisitStatus.MISSED, updated_at=now)
    return cancelled, missed


def plan_reassign(*, actor: Any, plan: MaintenancePlan, me: Any) -> MaintenancePlan:
    """Hand a plan (and its future visits) to another ME of the branch (the branch head)."""
    _require(actor, "activities.reassign_plan", plan)
    if plan.status != PlanStatus.ACTIVE:
        raise DomainError(_("Rencana ini sudah berakhir."), code="plan_ended")
    if not _is_posted(me, plan.branch):
        raise DomainError(_("ME yang dipilih tidak bertugas di cabang lembaga ini."), field="me", code="me_not_posted")
    with transaction.atomic():
        p = MaintenancePlan.objects.select_for_update().get(pk=plan.pk)
        before = {"me": p.me_id}
        p.me = me
        p.save(update_fields=["me", "updated_at"])
        figures.changed(
            pairs=[
                (p.branch_id, d) for d in p.visits.filter(status=VisitStatus.PLANNED).values_list("due_on", flat=True)
            ]
        )
        p.visits.filter(status=VisitStatus.PLANNED).update(me=me, updated_at=timezone.now())
        audit.record(actor=actor, action="maintenance.plan_reassign", obj=p, before=before, after={"me": me.pk})
    return p


# --- Leads ------------------------------------------------------------------------------------

LEAD_ORDER = (LeadStatus.BARU, LeadStatus.DIHUBUNGI, LeadStatus.TERTARIK, LeadStatus.CLOSING)
LEAD_AUDIT_FIELDS = (
    "institution",
    "source_activity",
    "me",
    "product",
    "lawful_basis",
    "status",
    "assigned_to",
    "due_on",
)


def lead_transitions(current: str) -> tuple[str, ...]:
    """Forward along baru → dihubungi → tertarik → closing (skipping allowed), or
    out to tidak tertarik; closing and tidak tertarik are final."""
    if current not in OPEN_LEAD_STATUSES:
        return ()
    later = LEAD_ORDER[LEAD_ORDER.index(current) + 1 :]  # type: ignore[arg-type]
    return (*later, LeadStatus.TIDAK_TERTARIK)


def _clean_phone(phone: str) -> str:
    phone = (phone or "").strip()
    if not phone:
        return ""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if not phone.replace("+", "", 1).replace(" ", "").replace("-", "").isdigit() or not 8 <= len(digits) <= 15:
        raise DomainError(_("Nomor telepon tidak valid."), field="phone")
    return phone[:32]


def lead_create(
    *,
    actor: Any,
    institution: Institution,
    name: str,
    product: str,
    purpose: str,
    lawful_basis: str,
    phone: str = "",
    email: str = "",
    source_activity: Activity | None = None,
    due_on: date | None = None,
    notes: str = "",
    me: Any = None,
    client_id: uuid.UUID | str | None = None,
) -> tuple[Lead, bool]:
    """Record a lead collected at an institution or event. ``(lead, created)``."""
    from django.core.validators import validate_email

    if client_id:
        try:
            client_id = uuid.UUID(str(client_id))
        except ValueError:
            raise DomainError(_("client_id bukan UUID."), field="client_id") from None
        existing = Lead.objects.filter(client_id=client_id).first()
        if existing is not None:
            if actor is not None and existing.created_by_id != actor.pk:
                raise DomainError(_("client_id sudah dipakai."), field="client_id", code="client_id_taken")
            return existing, False
    _require(actor, "activities.create_lead", institution)
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Isi nama calon nasabah."), field="name")
    if product not in Product.values:
        raise DomainError(_("Pilih produk yang diminati."), field="product")
    if not (purpose or "").strip():
        raise DomainError(_("Tuliskan tujuan pemrosesan data pribadi."), field="purpose")
    if lawful_basis not in LawfulBasis.values:
        raise DomainError(_("Pilih dasar pemrosesan data pribadi."), field="lawful_basis")
    phone = _clean_phone(phone)
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except Exception:  # noqa: BLE001 - Django's ValidationError: shown as our message
            raise DomainError(_("Alamat email tidak valid."), field="email") from None
    if not phone and not email:
        raise DomainError(_("Isi telepon atau email agar prospek bisa dihubungi."), field="phone", code="no_contact")
    if source_activity is not None and (
        source_activity.institution_id != institution.pk
        or (actor is not None and not visible_activities(actor).filter(pk=source_activity.pk).exists())
    ):
        raise DomainError(_("Aktivitas sumber bukan dari lembaga ini."), field="source_activity")
    the_me = (
        actor
        if active_role(actor) == Role.ME
        else (me or institution.me or (source_activity.me if source_activity else None))
    )
    if the_me is None:
        raise DomainError(_("Pilih ME yang mengumpulkan prospek ini."), field="me", code="me_required")
    if not _is_posted(the_me, institution.branch):
        raise DomainError(_("ME yang dipilih tidak bertugas di cabang lembaga ini."), field="me", code="me_not_posted")
    with transaction.atomic():
        lead = Lead(
            institution=institution,
            source_activity=source_activity,
            me=the_me,
            name=name[:120],
            phone=phone,
            email=email[:254],
            product=product,
            purpose=purpose.strip()[:255],
            lawful_basis=lawful_basis,
            notes=(notes or "").strip()[:255],
            due_on=due_on,
            client_id=client_id or None,
            branch_id=institution.branch_id,
            area_id=institution.area_id,
            region_id=institution.region_id,
            status_changed_at=timezone.now(),
            created_by=actor,
        )
        try:
            with transaction.atomic():
                lead.save()
        except IntegrityError:
            existing = Lead.objects.filter(client_id=client_id).first() if client_id else None
            if existing is not None:
                return existing, False
            raise
        audit.record(actor=actor, action="lead.create", obj=lead, after=audit.snapshot(lead, LEAD_AUDIT_FIELDS))
    return lead, True


def lead_assign(*, actor: Any, lead: Lead, assignee: Any, due_on: date | None = None) -> Lead:
    """Hand a lead to a sales team member of its branch, who is notified."""
    _require(actor, "activities.assign_lead", lead)
    if lead.status not in OPEN_LEAD_STATUSES:
        raise DomainError(
            _("Prospek yang sudah selesai tidak bisa dialihkan."), field="assigned_to", code="lead_closed"
        )
    if (
        assignee is None
        or not RoleAssignment.objects.active().filter(user=assignee, role=Role.SALES, unit_id=lead.branch_id).exists()
    ):
        raise DomainError(
            _("Prospek hanya bisa diserahkan ke tim penjualan cabang ini."),
            field="assigned_to",
            code="not_branch_sales",
        )
    with transaction.atomic():
        row = Lead.objects.select_for_update().get(pk=lead.pk)
        before = {"assigned_to": row.assigned_to_id, "due_on": row.due_on}
        row.assigned_to = assignee
        row.assigned_at = timezone.now()
        if due_on is not None:
            row.due_on = due_on
        row.save(update_fields=["assigned_to", "assigned_at", "due_on", "updated_at"])
        audit.record(
            actor=actor,
            action="lead.assign",
            obj=row,
            before=before,
            after={"assigned_to": assignee.pk, "due_on": row.due_on},
        )
        with in_language(assignee):
            title = _("Prospek baru untuk Anda: %(product)s") % {"product": row.get_product_display()}
            body = _("Dari %(inst)s. Tenggat: %(due)s.") % {
                "inst": row.institution.name,
                "due": row.due_on.strftime("%d-%m-%Y") if row.due_on else "-",
            }
        notify(
            user=assignee,
            key=f"lead-assigned:{row.pk}:{row.assigned_at:%Y%m%d%H%M%S}",
            title=title,
            body=body,
            url=reverse("activities:lead-detail", args=[row.pk]),
        )
    lead.refresh_from_db()
    return lead


def lead_set_status(*, actor: Any, lead: Lead, status: str, note: str = "") -> Lead:
    _require(actor, "activities.update_lead", lead)
    with transaction.atomic():
        row = Lead.objects.select_for_update().get(pk=lead.pk)
        if status not in lead_transitions(row.status):
            raise DomainError(
                _("Status prospek tidak bisa berubah dari %(a)s ke %(b)s.")
                % {
                    "a": row.get_status_display(),
                    "b": LeadStatus(status).label if status in LeadStatus.values else status,
                },
                field="status",
                code="lead_transition",
            )
        if status == LeadStatus.TIDAK_TERTARIK and not note.strip():
            raise DomainError(_("Tuliskan alasannya."), field="note")
        before = {"status": row.status}
        row.status = status
        row.status_changed_at = timezone.now()
        if note.strip() and not row.personal_data_hidden:
            # No free text is stored on a lead whose person was restricted, erased or anonymised.
            row.notes = note.strip()[:255]
        row.save(update_fields=["status", "status_changed_at", "notes", "updated_at"])
        audit.record(actor=actor, action="lead.status", obj=row, before=before, after={"status": status})
    lead.refresh_from_db()
    return lead


def lead_erase(*, actor: Any, lead: Lead, reason: str) -> Lead:
    """Erase the person (UU PDP request); the lead keeps counting in the figures."""
    _require(actor, "activities.erase_lead", lead)
    if not reason.strip():
        raise DomainError(_("Tuliskan dasar permintaan penghapusan."), field="reason")
    with transaction.atomic():
        row = Lead.objects.select_for_update().get(pk=lead.pk)
        if row.erased_at or row.anonymised_at:
            raise DomainError(_("Data orang pada prospek ini sudah dihapus."), code="lead_erased")
        row.name, row.phone, row.email, row.notes = _("(dihapus)"), "", "", ""
        row.erased_at = timezone.now()
        row.save(update_fields=["name", "phone", "email", "notes", "erased_at", "updated_at"])
        audit.record(actor=actor, action="lead.erase", obj=row, after={"reason": reason.strip()[:255]})
    lead.refresh_from_db()
    return lead


def lead_restrict(*, actor: Any, lead: Lead, reason: str, lift: bool = False) -> Lead:
    """Restrict the processing of the person (UU PDP request): phone, e-mail and
    notes are hidden from everyone until it is lifted; the lead keeps counting."""
    _require(actor, "activities.erase_lead", lead)
    if not reason.strip():
        raise DomainError(_("Tuliskan dasar permintaannya."), field="reason")
    with transaction.atomic():
        row = Lead.objects.select_for_update().get(pk=lead.pk)
        if row.erased_at or row.anonymised_at:
            raise DomainError(_("Data orang pada prospek ini sudah dihapus."), code="lead_erased")
        if lift == (row.restricted_at is None):
            raise DomainError(
                _("Pembatasan sudah dicabut.") if lift else _("Pemrosesan data prospek ini sudah dibatasi."),
                code="lead_restrict_unchanged",
            )
        row.restricted_at = None if lift else timezone.now()
        row.save(update_fields=["restricted_at", "updated_at"])
        audit.record(
            actor=actor,
            action="lead.unrestrict" if lift else "lead.restrict",
            obj=row,
            after={"reason": reason.strip()[:255]},
        )
    lead.refresh_from_db()
    return lead


def leads_anonymise(*, today: date | None = None) -> int:
    """Anonymise leads untouched for the retention period (the daily task)."""
    today = today or timezone.localdate()
    cutoff = timezone.make_aware(
        datetime.combine(today - timedelta(days=settings.LEAD_RETENTION_DAYS), datetime.min.time())
    )
    with transaction.atomic():
        ids = list(
            Lead.objects.filter(anonymised_at__isnull=True, updated_at__lt=cutoff).values_list("pk", flat=True)[:10000]
        )
        if not ids:
            return 0
        Lead.objects.filter(pk__in=ids).update(
            name=_("(dianonimkan)"), phone="", email="", notes="", anonymised_at=timezone.now()
        )
        audit.record(
            actor=None,
            action="lead.anonymise",
            object_type="activities.lead",
            object_id="batch",
            after={"count": len(ids), "first": ids[0], "last": ids[-1], "retention_days": settings.LEAD_RETENTION_DAYS},
        )
    return len(ids)


def settle_plans_on_merge(*, duplicate: Institution, survivor: Institution, actor: Any, **kwargs: Any) -> None:
    """Before a merge re-points the duplicate's plans to the survivor: when both
    have an active maintenance plan, the duplicate's ends (its future visits are
    cancelled) and the survivor's stays — one active plan per institution."""
    if not MaintenancePlan.objects.filter(institution=survivor, status=PlanStatus.ACTIVE).exists():
        return
    for plan in MaintenancePlan.objects.select_for_update().filter(institution=duplicate, status=PlanStatus.ACTIVE):
        _end_plan_today(plan, actor, "merged")


def _end_plan_today(plan: MaintenancePlan, actor: Any, reason: str) -> None:
    """End a plan as of today because its institution changed (merged, moved):
    planned visits from today are cancelled, earlier ones missed; audited."""
    today = timezone.localdate()
    plan.status = PlanStatus.ENDED
    plan.ends_on = max(today, plan.starts_on)
    plan.save(update_fields=["status", "ends_on", "updated_at"])
    cancelled, missed = _close_visits(plan, today)
    audit.record(
        actor=actor,
        action="maintenance.plan_end",
        obj=plan,
        after={"ends_on": plan.ends_on, "reason": reason, "visits_cancelled": cancelled, "visits_missed": missed},
    )


def plans_follow_owner(*, institution: Institution, moved_branch: bool, actor: Any, **kwargs: Any) -> None:
    """After an institution changes hands: moved to another branch, its active
    plan ends (the new branch plans its own visits) and its open leads go to the
    new branch, to be handed to its sales team; a new ME in the same branch
    takes over the plan and its planned visits."""
    if moved_branch:
        open_leads = Lead.objects.filter(institution=institution, status__in=OPEN_LEAD_STATUSES)
        ids = list(open_leads.values_list("pk", flat=True))
        if ids:
            Lead.objects.filter(pk__in=ids).update(
                branch_id=institution.branch_id,
                area_id=institution.area_id,
                region_id=institution.region_id,
                assigned_to=None,
                assigned_at=None,
                updated_at=timezone.now(),
            )
            audit.record(
                actor=actor,
                action="lead.reown",
                object_type="activities.lead",
                object_id="batch",
                after={"institution": institution.pk, "branch": institution.branch_id, "leads": ids},
            )
    for plan in MaintenancePlan.objects.select_for_update().filter(institution=institution, status=PlanStatus.ACTIVE):
        if moved_branch or institution.me_id is None:
            _end_plan_today(plan, actor, "owner_changed")
        elif plan.me_id != institution.me_id:
            before = {"me": plan.me_id}
            plan.me_id = institution.me_id
            plan.save(update_fields=["me", "updated_at"])
            figures.changed(
                pairs=[
                    (plan.branch_id, d)
                    for d in plan.visits.filter(status=VisitStatus.PLANNED).values_list("due_on", flat=True)
                ]
            )
            plan.visits.filter(status=VisitStatus.PLANNED).update(me_id=institution.me_id, updated_at=timezone.now())
            audit.record(
                actor=actor, action="maintenance.plan_reassign", obj=plan, before=before, after={"me": plan.me_id}
            )
