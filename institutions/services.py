"""Every write to the institution registry and its contacts.

Each service runs in one transaction, checks the actor's permission through the
access policy (``actor=None`` is the system: demo data, commands), validates,
writes and appends one audit event.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from control import audit
from core.errors import DomainError
from institutions import scoring, validation
from institutions.models import (
    Contact,
    Institution,
    InstitutionStatus,
    LawfulBasis,
    Ownership,
    PersonalDataAccess,
)
from institutions.normalise import is_similar, name_key
from institutions.signals import institution_merging, institution_reassigned
from org.access import active_assignment, reads_as_owner, unit_in_scope
from org.models import OrgUnit, Placement, UnitKind

INSTITUTION_FIELDS = (
    "name",
    "type",
    "sector",
    "parent",
    "address",
    "province_code",
    "regency_code",
    "latitude",
    "longitude",
    "npwp",
    "member_count",
    "potential_value",
    "potential_basis",
    "branch",
    "me",
    "status",
    "notes",
    "score",
)
# A second registration of the same name by the same person within this window is a repeat.
RESUBMIT_WINDOW = timedelta(minutes=10)
EDITABLE_FIELDS = frozenset(INSTITUTION_FIELDS) - {"score", "branch", "me"}
CONTACT_FIELDS = ("institution", "name", "position", "phone", "email", "purpose", "lawful_basis")


class PossibleDuplicate(DomainError):
    """A similar name in the same city: the caller must confirm it is another institution.

    Matches the actor may not see are named only by their branch: the check is
    nationwide (a duplicate in another branch matters), the details are not."""

    def __init__(self, matches: list[Institution], visible_ids: set[int] | None = None) -> None:
        self.matches = matches
        self.visible_ids = {m.pk for m in matches} if visible_ids is None else visible_ids
        names = [m.name for m in matches if m.pk in self.visible_ids][:3]
        others = sorted({m.branch.name for m in matches if m.pk not in self.visible_ids})
        parts = names + [_("lembaga di %(branch)s") % {"branch": b} for b in others]
        super().__init__(
            _("Mirip dengan lembaga yang sudah terdaftar di kota yang sama: %(names)s.") % {"names": ", ".join(parts)},
            field="name",
            code="possible_duplicate",
        )

    def as_dict(self) -> dict[str, Any]:
        out = super().as_dict()
        out["possible_duplicates"] = [
            {"id": m.pk, "name": m.name, "branch": m.branch.code}
            if m.pk in self.visible_ids
            else {"id": None, "name": None, "branch": m.branch.code}
            for m in self.matches
        ]
        return out


def _visible_ids(actor: Any, institutions: list[Institution]) -> set[int]:
    if actor is None:
        return {i.pk for i in institutions}
    from org.access import visible_institutions

    return set(visible_institutions(actor).filter(pk__in=[i.pk for i in institutions]).values_list("pk", flat=True))


def _npwp_error(actor: Any, taken: Institution) -> DomainError:
    """Name the holder of an NPWP only to someone who may see it."""
    if taken.status == InstitutionStatus.DIGABUNG and taken.merged_into_id:
        taken = Institution.objects.select_related("branch").get(pk=taken.merged_into_id)
    if _visible_ids(actor, [taken]):
        msg = _("NPWP ini sudah dipakai oleh lembaga %(name)s.") % {"name": taken.name}
    else:
        msg = _("NPWP ini sudah dipakai oleh lembaga yang dikelola %(branch)s.") % {"branch": taken.branch.name}
    return DomainError(msg, field="npwp", code="npwp_taken")


def _require(actor: Any, perm: str, obj: Any = None) -> None:
    if actor is not None and not actor.has_perm(perm, obj):
        raise PermissionDenied


def owner_ids(branch: OrgUnit) -> tuple[int, int]:
    """(area id, region id) of a branch."""
    area = branch.parent
    if branch.kind != UnitKind.CABANG or area is None or area.parent_id is None:
        raise DomainError(_("Cabang pengelola harus sebuah Kantor Cabang."), field="branch")
    return area.pk, area.parent_id


def me_is_posted(me: Any, branch: OrgUnit) -> bool:
    return Placement.objects.filter(user=me, branch=branch, valid_to__isnull=True).exists()


def find_similar(*, name: str, regency_code: str, exclude_pk: int | None = None, limit: int = 5) -> list[Institution]:
    """Live institutions in the same regency whose normalised name matches or is close."""
    key = name_key(name)
    if not key:
        return []
    longest = max(key.split(), key=len)
    qs = (
        Institution.objects.live()
        .filter(regency_code=regency_code, name_key__contains=longest)
        .select_related("branch")
        .order_by("id")
    )
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return [i for i in qs[:200] if is_similar(key, i.name_key)][:limit]


def _clean(values: dict[str, Any], *, instance: Institution | None = None) -> dict[str, Any]:
    """Validate and normalise; raise the first problem as a DomainError."""
    out = dict(values)
    if "name" in out:
        err = validation.check_name(out["name"])
        if err:
            raise DomainError(err, field="name")
        out["name"] = " ".join(str(out["name"]).split())
    merged = {
        f: out.get(f, getattr(instance, f) if instance else None) for f in ("type", "sector", "status", "province_code")
    }
    merged["regency_code"] = out.get("regency_code", instance.regency_code if instance else "")
    for field, msg in validation.check_choices({k: v for k, v in merged.items() if v is not None}).items():
        raise DomainError(msg, field=field)
    for field, msg in validation.check_area(merged["province_code"] or "", merged["regency_code"] or "").items():
        raise DomainError(msg, field=field)
    if "npwp" in out:
        digits, err = validation.check_npwp(out["npwp"])
        if err:
            raise DomainError(err, field="npwp")
        out["npwp"] = digits
    if "latitude" in out or "longitude" in out:
        la, lo, err = validation.check_coordinates(
            out.get("latitude", instance.latitude if instance else None),
            out.get("longitude", instance.longitude if instance else None),
        )
        if err:
            raise DomainError(err, field="latitude")
        out["latitude"], out["longitude"] = la, lo
    for key in ("member_count", "potential_value"):
        if key in out and out[key] is None:
            out[key] = 0
    if "potential_value" in out and isinstance(out["potential_value"], int):
        out["potential_value"] = Decimal(out["potential_value"])
    for field, msg in validation.check_numbers(
        {
            "member_count": out.get("member_count", instance.member_count if instance else 0),
            "potential_value": out.get("potential_value", instance.potential_value if instance else Decimal(0)),
        }
    ).items():
        raise DomainError(msg, field=field)
    for key in ("address", "potential_basis", "notes"):
        if key in out:
            out[key] = (out[key] or "").strip()
    parent = out.get("parent")
    if parent is not None:
        if instance is not None and parent.pk == instance.pk:
            raise DomainError(_("Lembaga tidak bisa menjadi induk dirinya sendiri."), field="parent")
        if parent.status == InstitutionStatus.DIGABUNG:
            raise DomainError(_("Lembaga induk sudah digabung ke lembaga lain."), field="parent")
        # A parent chain never loops back (walk up a few levels: hierarchies are shallow).
        cursor, seen = parent, 0
        while cursor is not None and seen < 20:
            if instance is not None and cursor.parent_id == instance.pk:
                raise DomainError(_("Lembaga induk ini berada di bawah lembaga ini."), field="parent")
            cursor, seen = cursor.parent, seen + 1
    return out


def _npwp_taken(npwp: str | None, exclude_pk: int | None = None) -> Institution | None:
    if not npwp:
        return None
    qs = Institution.objects.select_related("branch").filter(npwp=npwp)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.first()


def _apply_score(inst: Institution) -> None:
    s = scoring.for_institution(inst)
    inst.score = s.total
    inst.distance_km = Decimal(str(s.distance_km)) if s.distance_km is not None else None


@transaction.atomic
def institution_create(
    *,
    actor: Any,
    name: str,
    type: str,
    province_code: str,
    regency_code: str,
    branch: OrgUnit | None = None,
    me: Any = None,
    sector: str = "LAINNYA",
    parent: Institution | None = None,
    address: str = "",
    latitude: Any = None,
    longitude: Any = None,
    npwp: str | None = None,
    member_count: int = 0,
    potential_value: Decimal | int = 0,
    potential_basis: str = "",
    status: str = InstitutionStatus.AKTIF,
    notes: str = "",
    confirm_distinct: bool = False,
) -> Institution:
    """Register an institution. An ME registers in their own branch and becomes
    its ME unless another is named; a similar name in the same regency is
    refused with :class:`PossibleDuplicate` unless ``confirm_distinct``."""
    _require(actor, "institutions.create")
    a = active_assignment(actor) if actor is not None else None
    if branch is None:
        if a is None or a.unit.kind != UnitKind.CABANG:
            raise DomainError(_("Pilih cabang pengelola."), field="branch")
        branch = a.unit
    _require(actor, "institutions.create_in", branch)
    if me is None and a is not None and a.role == "ME":
        me = actor
    values = _clean(
        {
            "name": name,
            "type": type,
            "sector": sector,
            "parent": parent,
            "address": address,
            "province_code": province_code,
            "regency_code": regency_code,
            "latitude": latitude,
            "longitude": longitude,
            "npwp": npwp,
            "member_count": member_count,
            "potential_value": potential_value,
            "potential_basis": potential_basis,
            "status": status,
            "notes": notes,
        }
    )
    area_id, region_id = owner_ids(branch)
    if me is not None and not me_is_posted(me, branch):
        raise DomainError(_("ME yang dipilih tidak ditempatkan di cabang ini."), field="me")
    if parent is not None and actor is not None and not unit_in_scope(actor, parent.branch):
        raise DomainError(_("Lembaga induk tidak ditemukan."), field="parent")
    taken = _npwp_taken(values["npwp"])
    if taken is not None:
        raise _npwp_error(actor, taken)
    if not confirm_distinct:
        similar = find_similar(name=values["name"], regency_code=values["regency_code"])
        if similar:
            raise PossibleDuplicate(similar, _visible_ids(actor, similar))
    elif actor is not None:
        # "Confirmed distinct" covers similar names, not a double tap or a retried request.
        just_made = (
            Institution.objects.live()
            .filter(
                regency_code=values["regency_code"],
                name_key=name_key(values["name"]),
                created_by=actor,
                created_at__gte=timezone.now() - RESUBMIT_WINDOW,
            )
            .first()
        )
        if just_made is not None:
            raise DomainError(
                _("Anda baru saja mendaftarkan %(name)s; tidak didaftarkan dua kali.") % {"name": just_made.name},
                field="name",
                code="just_created",
            )
    inst = Institution(
        **values,
        name_key=name_key(values["name"]),
        branch=branch,
        area_id=area_id,
        region_id=region_id,
        me=me,
        created_by=actor,
        stage_since=timezone.now(),
    )
    _apply_score(inst)
    try:
        with transaction.atomic():
            inst.save()
    except IntegrityError:
        # Two people registering the same NPWP at the same moment: one wins.
        raise DomainError(_("NPWP ini sudah dipakai oleh lembaga lain."), field="npwp", code="npwp_taken") from None
    Ownership.objects.create(institution=inst, branch=branch, me=me, valid_from=timezone.now(), changed_by=actor)
    audit.record(actor=actor, action="institution.create", obj=inst, after=audit.snapshot(inst, INSTITUTION_FIELDS))
    return inst


@transaction.atomic
def institution_update(
    *, actor: Any, institution: Institution, confirm_distinct: bool = False, **changes: Any
) -> Institution:
    """Change the facts of an institution (not its branch or ME: see
    :func:`institution_reassign`)."""
    inst = Institution.objects.select_for_update().select_related("branch").get(pk=institution.pk)
    _require(actor, "institutions.change", inst)
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise DomainError(_("Kolom ini tidak bisa diubah di sini: %(f)s.") % {"f": ", ".join(sorted(unknown))})
    if inst.status == InstitutionStatus.DIGABUNG:
        raise DomainError(_("Lembaga ini sudah digabung; ubah lembaga tujuannya."))
    values = _clean(changes, instance=inst)
    new_parent = values.get("parent")
    if (
        new_parent is not None
        and new_parent.pk != inst.parent_id
        and actor is not None
        and not unit_in_scope(actor, new_parent.branch)
    ):
        raise DomainError(_("Lembaga induk tidak ditemukan."), field="parent")
    before = audit.snapshot(inst, INSTITUTION_FIELDS)
    if "npwp" in values:
        taken = _npwp_taken(values["npwp"], exclude_pk=inst.pk)
        if taken is not None:
            raise _npwp_error(actor, taken)
    name_changed = "name" in values and name_key(values["name"]) != inst.name_key
    city_changed = "regency_code" in values and values["regency_code"] != inst.regency_code
    if (name_changed or city_changed) and not confirm_distinct:
        similar = find_similar(
            name=values.get("name", inst.name),
            regency_code=values.get("regency_code", inst.regency_code),
            exclude_pk=inst.pk,
        )
        if similar:
            raise PossibleDuplicate(similar, _visible_ids(actor, similar))
    for key, value in values.items():
        setattr(inst, key, value)
    inst.name_key = name_key(inst.name)
    _apply_score(inst)
    try:
        with transaction.atomic():
            inst.save()
    except IntegrityError:
        raise DomainError(_("NPWP ini sudah dipakai oleh lembaga lain."), field="npwp", code="npwp_taken") from None
    after = audit.snapshot(inst, INSTITUTION_FIELDS)
    changed = {k for k in after if after[k] != before[k]}
    if changed:
        audit.record(
            actor=actor,
            action="institution.update",
            obj=inst,
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
    return inst


@transaction.atomic
def institution_reassign(
    *,
    actor: Any,
    institution: Institution,
    branch: OrgUnit | None = None,
    me: Any = None,
    clear_me: bool = False,
    reason: str = "",
) -> Institution:
    """Give an institution another branch and/or ME. The ownership history keeps
    the earlier owners; a branch move clears the ME unless one posted to the new
    branch is named."""
    inst = Institution.objects.select_for_update().select_related("branch").get(pk=institution.pk)
    new_branch = branch or inst.branch
    moving = new_branch.pk != inst.branch_id
    if moving:
        _require(actor, "institutions.move_branch", inst)
        _require(actor, "institutions.move_branch", new_branch)
        if not reason.strip():
            raise DomainError(_("Pemindahan ke cabang lain memerlukan alasan."), field="reason")
    else:
        _require(actor, "institutions.reassign_me", inst)
    new_me = None if clear_me else (me if me is not None else (None if moving else inst.me))
    if new_me is not None and not me_is_posted(new_me, new_branch):
        raise DomainError(_("ME yang dipilih tidak ditempatkan di cabang ini."), field="me")
    if not moving and (new_me.pk if new_me else None) == inst.me_id:
        raise DomainError(_("Tidak ada yang berubah."), field="me")
    before = audit.snapshot(inst, ("branch", "area", "region", "me"))
    area_id, region_id = owner_ids(new_branch)
    now = timezone.now()
    Ownership.objects.filter(institution=inst, valid_to__isnull=True).update(valid_to=now)
    inst.branch, inst.area_id, inst.region_id, inst.me = new_branch, area_id, region_id, new_me
    _apply_score(inst)
    inst.save()
    Ownership.objects.create(
        institution=inst, branch=new_branch, me=new_me, valid_from=now, changed_by=actor, reason=reason.strip()
    )
    audit.record(
        actor=actor,
        action="institution.reassign",
        obj=inst,
        before=before,
        after=audit.snapshot(inst, ("branch", "area", "region", "me")) | {"reason": reason.strip()},
    )
    institution_reassigned.send(sender=Institution, institution=inst, moved_branch=moving, actor=actor)
    return inst


@transaction.atomic
def institution_merge(*, actor: Any, duplicate: Institution, survivor: Institution, reason: str = "") -> Institution:
    """Fold ``duplicate`` into ``survivor``: everything that points at the
    duplicate (contacts, child institutions, and whatever later modules attach:
    activities, agreements, closings) is moved; the duplicate stays as a
    tombstone (status DIGABUNG, ``merged_into``): lists skip it and an old link
    to its page leads to the survivor."""
    if duplicate.pk == survivor.pk:
        raise DomainError(_("Pilih dua lembaga yang berbeda."), field="survivor")
    locked = {
        i.pk: i
        for i in Institution.objects.select_for_update()
        .select_related("branch")
        .filter(pk__in=[duplicate.pk, survivor.pk])
        .order_by("pk")
    }
    dup, surv = locked[duplicate.pk], locked[survivor.pk]
    _require(actor, "institutions.merge", dup)
    _require(actor, "institutions.merge", surv)
    if InstitutionStatus.DIGABUNG in (dup.status, surv.status):
        raise DomainError(_("Salah satu lembaga sudah digabung sebelumnya."), field="survivor")
    institution_merging.send(sender=Institution, duplicate=dup, survivor=surv, actor=actor)
    moved: dict[str, int] = {}
    for rel in Institution._meta.related_objects:
        if rel.name in ("ownerships", "stage_changes") or not rel.field.concrete or rel.many_to_many:
            continue  # the duplicate's own ownership and stage history stay with it
        model = rel.related_model
        qs = model._default_manager.filter(**{rel.field.name: dup})  # type: ignore[union-attr]
        if model is Institution:
            qs = qs.exclude(pk=surv.pk)
        n = qs.update(**{rel.field.name: surv})
        if n:
            moved[f"{model._meta.label_lower}.{rel.field.name}"] = n  # type: ignore[union-attr]
    before = {
        "duplicate": audit.snapshot(dup, INSTITUTION_FIELDS),
        "survivor": audit.snapshot(surv, INSTITUTION_FIELDS),
    }
    if surv.npwp is None and dup.npwp:
        npwp, dup.npwp = dup.npwp, None
        dup.save(update_fields=["npwp"])
        surv.npwp = npwp
    if surv.parent_id == dup.pk:
        surv.parent = dup.parent if dup.parent_id != surv.pk else None
    if dup.notes:
        surv.notes = (surv.notes + "\n" if surv.notes else "") + _("[Dari %(name)s] %(notes)s") % {
            "name": dup.name,
            "notes": dup.notes,
        }
    surv.save()
    dup.status, dup.merged_into = InstitutionStatus.DIGABUNG, surv
    dup.save(update_fields=["status", "merged_into", "updated_at"])
    Ownership.objects.filter(institution=dup, valid_to__isnull=True).update(valid_to=timezone.now())
    audit.record(
        actor=actor,
        action="institution.merge",
        obj=surv,
        before=before,
        after={"survivor": surv.pk, "merged": dup.pk, "moved": moved, "reason": reason.strip()},
    )
    return surv


# --- Contacts (personal data, UU PDP) ------------------------------------------------


def _contact_values(
    *, name: str, position: str, phone: str, email: str, purpose: str, lawful_basis: str
) -> dict[str, str]:
    from django.core.validators import validate_email

    name = " ".join((name or "").split())
    if len(name) < 2:
        raise DomainError(_("Nama kontak wajib diisi."), field="name")
    phone = (phone or "").strip()
    if (phone and not all(c.isdigit() or c in "+-() " for c in phone)) or len(phone) > 32:
        raise DomainError(_("Nomor telepon hanya boleh berisi angka, spasi, +, - dan tanda kurung."), field="phone")
    if phone and sum(c.isdigit() for c in phone) < 6:
        raise DomainError(_("Nomor telepon terlalu pendek."), field="phone")
    email = (email or "").strip().lower()
    if email:
        from django.core.exceptions import ValidationError

        try:
            validate_email(email)
        except ValidationError:
            raise DomainError(_("Alamat email tidak sah."), field="email") from None
    if not (purpose or "").strip():
        raise DomainError(_("Tujuan pemrosesan data pribadi wajib diisi (UU PDP)."), field="purpose")
    if lawful_basis not in LawfulBasis.values:
        raise DomainError(_("Pilih dasar pemrosesan data pribadi (UU PDP)."), field="lawful_basis")
    return {
        "name": name,
        "position": (position or "").strip(),
        "phone": phone,
        "email": email,
        "purpose": purpose.strip(),
        "lawful_basis": lawful_basis,
    }


@transaction.atomic
def contact_create(
    *,
    actor: Any,
    institution: Institution,
    name: str,
    purpose: str,
    lawful_basis: str,
    position: str = "",
    phone: str = "",
    email: str = "",
) -> Contact:
    _require(actor, "institutions.manage_contacts", institution)
    values = _contact_values(
        name=name, position=position, phone=phone, email=email, purpose=purpose, lawful_basis=lawful_basis
    )
    contact = Contact.objects.create(institution=institution, created_by=actor, **values)
    # Personal values stay out of the audit chain (it is append-only and could never be erased).
    audit.record(
        actor=actor,
        action="contact.create",
        obj=contact,
        after={"institution": institution.pk, "purpose": values["purpose"], "lawful_basis": lawful_basis},
    )
    return contact


@transaction.atomic
def contact_restrict(*, actor: Any, contact: Contact, restrict: bool = True, reason: str = "") -> Contact:
    """Restrict (or lift the restriction on) processing: a restricted contact's
    phone and email are shown to nobody until lifted."""
    contact = Contact.objects.select_for_update().select_related("institution__branch").get(pk=contact.pk)
    _require(actor, "institutions.manage_contacts", contact.institution)
    if contact.is_erased:
        raise DomainError(_("Kontak ini sudah dihapus."))
    if not reason.strip():
        raise DomainError(_("Tuliskan dasar permintaan (misalnya permintaan subjek data)."), field="reason")
    if restrict == contact.is_restricted:
        raise DomainError(_("Kontak ini sudah dibatasi.") if restrict else _("Kontak ini tidak sedang dibatasi."))
    contact.restricted_at = timezone.now() if restrict else None
    contact.save(update_fields=["restricted_at", "updated_at"])
    audit.record(
        actor=actor,
        action="contact.restrict" if restrict else "contact.unrestrict",
        obj=contact,
        after={"institution": contact.institution_id, "reason": reason.strip()},
    )
    return contact


@transaction.atomic
def contact_erase(*, actor: Any, contact: Contact, reason: str = "") -> Contact:
    """Erase the person: name, position, phone and email are wiped; the row stays
    (as "dihapus") so the institution's counts and any activity that met this
    contact keep adding up. The read log keeps who read the contact and when,
    which after the erase names nobody."""
    contact = Contact.objects.select_for_update().select_related("institution__branch").get(pk=contact.pk)
    _require(actor, "institutions.manage_contacts", contact.institution)
    if contact.is_erased:
        raise DomainError(_("Kontak ini sudah dihapus."))
    if not reason.strip():
        raise DomainError(_("Tuliskan dasar penghapusan (misalnya permintaan subjek data)."), field="reason")
    contact.name = _("(dihapus)")
    contact.position = contact.phone = contact.email = ""
    contact.erased_at = timezone.now()
    contact.save()
    audit.record(
        actor=actor,
        action="contact.erase",
        obj=contact,
        after={"institution": contact.institution_id, "reason": reason.strip()},
    )
    return contact


def contact_reads_log(*, actor: Any, contacts: list[Contact], channel: str) -> int:
    """Log reads of phone/email by a user outside the owning branch (UU PDP).
    Returns how many reads were logged. Not a business write: the log is the record."""
    a = active_assignment(actor)
    rows = [
        PersonalDataAccess(
            user=actor,
            role=a.role if a else "",
            unit=a.unit if a else None,
            contact=c,
            fields="phone,email",
            channel=channel,
        )
        for c in contacts
        if not c.is_erased and not c.is_restricted and (c.phone or c.email) and not reads_as_owner(actor, c.institution)
    ]
    PersonalDataAccess.objects.bulk_create(rows)
    return len(rows)


@transaction.atomic
def scores_recompute(*, actor: Any = None, batch: int = 2000) -> int:
    """Recompute every live institution's score and distance (after the formula
    or a branch's coordinates changed). Only changed rows are written; one audit
    event names how many. Returns that number."""
    from org.models import OrgUnit as Unit

    branches = Unit.objects.in_bulk(
        Institution.objects.live().values_list("branch_id", flat=True).distinct()  # type: ignore[arg-type]
    )
    changed: list[Institution] = []
    qs = Institution.objects.live().only(
        "id",
        "member_count",
        "type",
        "potential_value",
        "latitude",
        "longitude",
        "regency_code",
        "branch_id",
        "score",
        "distance_km",
    )
    for inst in qs.iterator(chunk_size=batch):
        s = scoring.compute(
            member_count=inst.member_count,
            type=inst.type,
            potential_value=inst.potential_value,
            latitude=inst.latitude,
            longitude=inst.longitude,
            regency_code=inst.regency_code,
            branch=branches[inst.branch_id],
        )
        km = Decimal(str(s.distance_km)) if s.distance_km is not None else None
        if inst.score != s.total or inst.distance_km != km:
            inst.score, inst.distance_km = s.total, km
            changed.append(inst)
    Institution.objects.bulk_update(changed, ["score", "distance_km"], batch_size=batch)
    audit.record(
        actor=actor,
        action="institution.scores_recompute",
        object_type="institutions.institution",
        object_id="*",
        after={"changed": len(changed), "digest_ids": sorted(i.pk for i in changed)[:50]},
    )
    return len(changed)
