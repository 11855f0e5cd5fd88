"""Writes of the channel registries: individual agents, corporate/community
agents, fleet schemes, Club Point Reward memberships and PMP facilities.

One pair of functions serves the five registries, ``registry_create`` and
``registry_update``, driven by :data:`REGISTRIES` (what each one links to and
which figures it carries). Each call checks ``sales.manage_registry`` on the
owning branch, validates (the institution visible to the actor and of that
branch, codes unique, the figures consistent), copies branch/area/region from
the branch, writes and records one audit event, all in one transaction. Bad
input raises :class:`core.errors.DomainError` with a translated message and
writes nothing.

Closings themselves are written by ``sales.ingest``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from control import audit
from core.errors import DomainError
from institutions.models import Institution
from org.access import visible_institutions
from org.models import OrgUnit, UnitKind
from sales.models import CorporateAgent, FleetScheme, IndividualAgent, PmpFacility, PointRewardMembership

MANAGE = "sales.manage_registry"
MAX_COUNT = 10**9  # vehicles in a fleet
MAX_POINTS = 10**15
MAX_RUPIAH = Decimal(10) ** 18


@dataclass(frozen=True)
class Registry:
    """What one registry holds. ``link`` is the institution field, ``code`` the
    unique code field (None for fleet schemes), ``texts`` and ``numbers`` the
    other fields a create or update may set."""

    key: str
    model: type[models.Model]
    link: str
    link_required: bool
    code: str | None
    texts: tuple[str, ...]
    numbers: tuple[str, ...]
    label: Any
    label_plural: Any

    def fields(self) -> tuple[str, ...]:
        out = [self.link]
        if self.code:
            out.append(self.code)
        return (*out, *self.texts, *self.numbers, "is_active", "branch")


REGISTRIES: dict[str, Registry] = {
    r.key: r
    for r in (
        Registry(
            "agent",
            IndividualAgent,
            "institution",
            False,
            "code",
            ("name",),
            (),
            gettext_lazy("Agen perseorangan"),
            gettext_lazy("Agen perseorangan"),
        ),
        Registry(
            "corporate_agent",
            CorporateAgent,
            "institution",
            True,
            "code",
            (),
            (),
            gettext_lazy("Agen badan usaha/komunitas"),
            gettext_lazy("Agen badan usaha/komunitas"),
        ),
        Registry(
            "fleet",
            FleetScheme,
            "operator",
            True,
            None,
            ("name",),
            ("fleet_size", "vehicles_financed"),
            gettext_lazy("Skema fleet"),
            gettext_lazy("Skema fleet"),
        ),
        Registry(
            "point_reward",
            PointRewardMembership,
            "institution",
            True,
            "member_code",
            (),
            ("points_earned", "points_redeemed"),
            gettext_lazy("Keanggotaan Club Point Reward"),
            gettext_lazy("Club Point Reward"),
        ),
        Registry(
            "pmp",
            PmpFacility,
            "borrower",
            True,
            "reference",
            ("receivables_basis",),
            ("ceiling",),
            gettext_lazy("Fasilitas PMP"),
            gettext_lazy("Fasilitas PMP"),
        ),
    )
}

TEXT_LIMITS = {"name": 120, "receivables_basis": 255}


def registry_of(obj: models.Model) -> Registry:
    for r in REGISTRIES.values():
        if isinstance(obj, r.model):
            return r
    raise LookupError(type(obj).__name__)


# --- Checks ---------------------------------------------------------------------------------------


def _require(actor: Any, obj: Any) -> None:
    if actor is not None and not actor.has_perm(MANAGE, obj):
        raise PermissionDenied


def _owner_ids(branch: OrgUnit) -> tuple[int, int]:
    area = branch.parent
    if branch.kind != UnitKind.CABANG or area is None or area.parent_id is None:
        raise DomainError(_("Pemilik harus sebuah Kantor Cabang."), field="branch")
    return area.pk, area.parent_id


def _institution(actor: Any, reg: Registry, inst: Institution | None, branch: OrgUnit) -> Institution | None:
    if inst is None:
        if reg.link_required:
            raise DomainError(_("Pilih lembaganya."), field=reg.link)
        return None
    visible = visible_institutions(actor) if actor is not None else Institution.objects.live()
    if not visible.filter(pk=inst.pk).exists():
        raise DomainError(_("Lembaga tidak ditemukan."), field=reg.link)
    if inst.branch_id != branch.pk:
        raise DomainError(
            _("Lembaga ini dikelola cabang lain; daftarkan di cabang pengelolanya."),
            field=reg.link,
            code="other_branch",
        )
    return inst


def _code(reg: Registry, value: Any, exclude_pk: int | None) -> str:
    assert reg.code is not None
    text = "".join(str(value or "").split()).upper()
    if not text:
        raise DomainError(_("Wajib diisi."), field=reg.code)
    if len(text) > 32:
        raise DomainError(_("Paling banyak 32 karakter."), field=reg.code)
    taken = reg.model._default_manager.filter(**{f"{reg.code}__iexact": text})  # type: ignore[attr-defined]
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise DomainError(_("Kode ini sudah dipakai."), field=reg.code, code="code_taken")
    return text


def _text(reg: Registry, field: str, value: Any) -> str:
    text = " ".join(str(value or "").split())
    if field == "name" and not text:
        raise DomainError(_("Wajib diisi."), field=field)
    if len(text) > TEXT_LIMITS[field]:
        raise DomainError(_("Paling banyak %(n)s karakter.") % {"n": TEXT_LIMITS[field]}, field=field)
    return text


def _whole(field: str, value: Any, limit: int | Decimal) -> Any:
    """A whole, non-negative number (int or Decimal for rupiah)."""
    try:
        number = Decimal(str(value).strip().replace(",", "")) if value is not None and str(value).strip() else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or number != number.to_integral_value():
        raise DomainError(_("Isi bilangan bulat."), field=field)
    if number < 0:
        raise DomainError(_("Tidak boleh negatif."), field=field)
    if number >= limit:
        raise DomainError(_("Angka terlalu besar."), field=field)
    return number if field == "ceiling" else int(number)


def _figures(reg: Registry, values: dict[str, Any]) -> None:
    """The registry's own rules between its figures (mirrors the database constraints)."""
    if reg.key == "fleet" and values["vehicles_financed"] > values["fleet_size"]:
        raise DomainError(_("Kendaraan dibiayai tidak boleh melebihi jumlah armada."), field="vehicles_financed")
    if reg.key == "point_reward" and values["points_redeemed"] > values["points_earned"]:
        raise DomainError(_("Poin ditukar tidak boleh melebihi poin diperoleh."), field="points_redeemed")
    if reg.key == "pmp" and values["ceiling"] <= 0:
        raise DomainError(_("Plafon harus lebih dari nol."), field="ceiling")


def _clean(reg: Registry, raw: dict[str, Any], *, exclude_pk: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if reg.code:
        out[reg.code] = _code(reg, raw.get(reg.code), exclude_pk)
    for field in reg.texts:
        out[field] = _text(reg, field, raw.get(field))
    for field in reg.numbers:
        limit = MAX_RUPIAH if field == "ceiling" else (MAX_POINTS if field.startswith("points") else MAX_COUNT)
        out[field] = _whole(field, raw.get(field, 0), limit)
    out["is_active"] = bool(raw.get("is_active", True))
    _figures(reg, out)
    return out


def _point_reward_taken(reg: Registry, inst: Institution | None, exclude_pk: int | None) -> None:
    if reg.key != "point_reward" or inst is None:
        return
    taken = PointRewardMembership.objects.filter(institution=inst)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise DomainError(
            _("Lembaga ini sudah punya keanggotaan Club Point Reward."), field=reg.link, code="already_member"
        )


def _save(obj: models.Model, reg: Registry) -> None:
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        # Two people saving the same code at the same moment: one wins.
        raise DomainError(_("Kode ini sudah dipakai."), field=reg.code or reg.link, code="code_taken") from None


# --- Services ------------------------------------------------------------------------------------


@transaction.atomic
def registry_create(
    *,
    actor: Any,
    kind: str,
    branch: OrgUnit | None = None,
    institution: Institution | None = None,
    **values: Any,
) -> Any:
    """Add an entry to registry ``kind`` (a key of :data:`REGISTRIES`).

    The owning branch is the institution's branch; an individual agent names
    its ``branch`` (the tracked institution is optional and, when given, of
    that branch). Values: the registry's code, texts and numbers, ``is_active``.
    """
    reg = REGISTRIES[kind]
    if branch is None:
        if institution is None:
            raise DomainError(_("Pilih lembaganya.") if reg.link_required else _("Pilih cabangnya."), field="branch")
        branch = OrgUnit.objects.select_related("parent").get(pk=institution.branch_id)
    _require(actor, branch)
    area_id, region_id = _owner_ids(branch)
    inst = _institution(actor, reg, institution, branch)
    _point_reward_taken(reg, inst, None)
    clean = _clean(reg, values, exclude_pk=None)
    obj = reg.model(branch=branch, area_id=area_id, region_id=region_id, **{reg.link: inst}, **clean)
    _save(obj, reg)
    audit.record(actor=actor, action=f"sales.{kind}.create", obj=obj, after=audit.snapshot(obj, reg.fields()))
    return obj


_UNSET = object()


@transaction.atomic
def registry_update(*, actor: Any, obj: Any, institution: Any = _UNSET, **changes: Any) -> Any:
    """Change an entry's code, texts, figures, active flag or (same branch)
    institution. Fields not given keep their value; the branch does not move."""
    reg = registry_of(obj)
    current: Any = reg.model._default_manager.select_for_update().select_related("branch").get(pk=obj.pk)  # type: ignore[attr-defined]
    _require(actor, current)
    unknown = set(changes) - {*(c for c in [reg.code] if c), *reg.texts, *reg.numbers, "is_active"}
    if unknown:
        raise DomainError(_("Isian tidak dikenal: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    before = audit.snapshot(current, reg.fields())
    inst = getattr(current, reg.link)
    if institution is not _UNSET and (getattr(institution, "pk", None) != getattr(inst, "pk", None)):
        inst = _institution(actor, reg, institution, current.branch)
        _point_reward_taken(reg, inst, current.pk)
    merged: dict[str, Any] = {f: getattr(current, f) for f in (*([reg.code] if reg.code else []), *reg.texts)}
    merged.update({f: getattr(current, f) for f in reg.numbers})
    merged["is_active"] = current.is_active
    merged.update(changes)
    clean = _clean(reg, merged, exclude_pk=current.pk)
    setattr(current, reg.link, inst)
    for field, value in clean.items():
        setattr(current, field, value)
    _save(current, reg)
    after = audit.snapshot(current, reg.fields())
    if after != before:
        audit.record(actor=actor, action=f"sales.{reg.key}.update", obj=current, before=before, after=after)
    return current


def settle_memberships_on_merge(*, duplicate: Any, survivor: Any, actor: Any, **kwargs: Any) -> None:
    """Before a merge re-points the duplicate's records: an institution has one
    Club Point Reward membership, so when both have one, the duplicate's points
    are folded into the survivor's and its membership is closed (audited)."""
    from sales.models import PointRewardMembership

    dup = PointRewardMembership.objects.select_for_update().filter(institution=duplicate).first()
    surv = PointRewardMembership.objects.select_for_update().filter(institution=survivor).first()
    if dup is None or surv is None:
        return
    before = {
        "survivor": [surv.points_earned, surv.points_redeemed],
        "duplicate": [dup.points_earned, dup.points_redeemed],
    }
    surv.points_earned += dup.points_earned
    surv.points_redeemed += dup.points_redeemed
    surv.save(update_fields=["points_earned", "points_redeemed", "updated_at"])
    audit.record(
        actor=actor,
        action="sales.point_reward.merge",
        obj=surv,
        before=before,
        after={"closed": dup.member_code, "points_earned": surv.points_earned, "points_redeemed": surv.points_redeemed},
    )
    dup.delete()
