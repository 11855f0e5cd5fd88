"""Every write to the org tree, people and roles.

Each service runs in one transaction, validates, checks the acting user's
permission (``actor=None`` means the system itself: migrations, demo data,
management commands run by an operator) and appends an audit event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from control import audit
from core.errors import DomainError
from org.access import active_assignments, forget_active_assignment
from org.models import (
    ALLOWED_PARENT_KINDS,
    PATH_SEPARATOR,
    ROLE_UNIT_KINDS,
    OrgUnit,
    Placement,
    Role,
    RoleAssignment,
    UnitKind,
    User,
)

UNIT_FIELDS = ("kind", "code", "name", "parent", "path", "function", "city", "is_active")
ASSIGNMENT_FIELDS = ("user", "role", "unit", "valid_from", "valid_to")


def _require(actor: Any, perm: str, obj: Any = None) -> None:
    if actor is not None and not actor.has_perm(perm, obj):
        raise PermissionDenied


def build_path(*, parent: OrgUnit | None, code: str) -> str:
    return (parent.path if parent else "") + code + PATH_SEPARATOR


def _check_parent(kind: str, parent: OrgUnit | None) -> None:
    allowed = ALLOWED_PARENT_KINDS[kind]
    if not allowed:
        if parent is not None:
            raise DomainError(_("Kantor Pusat tidak boleh memiliki induk."), field="parent")
        if OrgUnit.objects.filter(parent__isnull=True).exists():
            raise DomainError(_("Kantor Pusat sudah ada."), field="kind")
        return
    if parent is None or parent.kind not in allowed:
        names = ", ".join(str(UnitKind(k).label) for k in sorted(allowed))
        raise DomainError(
            _("%(kind)s harus berada di bawah: %(parents)s.") % {"kind": UnitKind(kind).label, "parents": names},
            field="parent",
        )


@transaction.atomic
def unit_create(
    *,
    actor: Any,
    kind: str,
    code: str,
    name: str,
    parent: OrgUnit | None,
    function: str = "",
    city: str = "",
) -> OrgUnit:
    _require(actor, "org.move_unit")
    code = (code or "").strip().upper()
    if not code or PATH_SEPARATOR in code:
        raise DomainError(_("Kode unit wajib diisi dan tidak boleh memuat '/'."), field="code")
    if kind not in ALLOWED_PARENT_KINDS:
        raise DomainError(_("Jenis unit tidak dikenal."), field="kind")
    _check_parent(kind, parent)
    if OrgUnit.objects.filter(code=code).exists():
        raise DomainError(_("Kode unit %(code)s sudah dipakai.") % {"code": code}, field="code")
    unit = OrgUnit(
        kind=kind,
        code=code,
        name=name.strip(),
        parent=parent,
        path=build_path(parent=parent, code=code),
        depth=(parent.depth + 1) if parent else 0,
        function=function,
        city=city,
    )
    try:
        unit.full_clean()
    except ValidationError as exc:
        raise DomainError("; ".join(exc.messages)) from exc
    unit.save()
    audit.record(actor=actor, action="org.unit.create", obj=unit, after=audit.snapshot(unit, UNIT_FIELDS))
    return unit


# Records that carry their branch, area and region ids (denormalised for scope
# filters and roll-ups). A unit move re-derives area and region from the tree;
# each module that adds such a model lists it here.
# Every model that carries branch/area/region ids. A moved branch takes its
# whole history (past activities, closed leads) to its new area: figures of an
# area are those of the branches it has now.
OWNED_MODELS = [
    "institutions.Institution",
    "activities.Activity",
    "activities.MaintenancePlan",
    "activities.MaintenanceVisit",
    "activities.Lead",
    "sales.Closing",
    "sales.ClosingSummary",
    "performance.Task",
    "performance.MeEvaluation",
    "sales.IndividualAgent",
    "sales.CorporateAgent",
    "sales.FleetScheme",
    "sales.PointRewardMembership",
    "sales.PmpFacility",
]


def _reown_records(moved: OrgUnit) -> dict[str, int]:
    """After ``moved`` and its subtree got a new place in the tree, give every
    owned record under it the area and region its branch now has: one UPDATE per
    branch (a region move touches at most its few dozen branches)."""
    from django.apps import apps

    branches = list(OrgUnit.objects.filter(path__startswith=moved.path, kind=UnitKind.CABANG).select_related("parent"))
    counts: dict[str, int] = {}
    for label in OWNED_MODELS:
        model = apps.get_model(label)
        n = 0
        for b in branches:
            area = b.parent
            if area is None or area.parent_id is None:
                continue
            n += model._default_manager.filter(branch_id=b.pk).update(area_id=area.pk, region_id=area.parent_id)
        counts[label] = n
    from core import figures

    figures.changed(branches=[b.pk for b in branches])
    return counts


@transaction.atomic
def unit_move(*, actor: Any, unit: OrgUnit, new_parent: OrgUnit) -> OrgUnit:
    """Move a unit and its whole subtree under ``new_parent``: one UPDATE rewrites
    every descendant's path prefix and depth."""
    _require(actor, "org.move_unit", unit)
    unit = OrgUnit.objects.select_for_update().get(pk=unit.pk)
    new_parent = OrgUnit.objects.get(pk=new_parent.pk)
    if new_parent.pk == unit.pk or new_parent.path.startswith(unit.path):
        raise DomainError(_("Unit tidak dapat dipindahkan ke bawah dirinya sendiri."), field="parent")
    _check_parent(unit.kind, new_parent)
    if unit.parent_id == new_parent.pk:
        raise DomainError(_("Unit sudah berada di bawah induk tersebut."), field="parent")
    before = audit.snapshot(unit, UNIT_FIELDS)
    old_path = unit.path
    new_path = build_path(parent=new_parent, code=unit.code)
    depth_delta = (new_parent.depth + 1) - unit.depth
    moved = OrgUnit.objects.filter(path__startswith=old_path).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + depth_delta,
    )
    OrgUnit.objects.filter(pk=unit.pk).update(parent=new_parent, updated_at=timezone.now())
    unit.refresh_from_db()
    owned = _reown_records(unit)
    after = audit.snapshot(unit, UNIT_FIELDS) | {"subtree_units": moved, "owned_rows": owned}
    audit.record(actor=actor, action="org.unit.move", obj=unit, before=before, after=after)
    return unit


@transaction.atomic
def user_create(
    *,
    actor: Any,
    username: str,
    password: str | None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
) -> User:
    _require(actor, "org.assign_role")
    username = username.strip()
    if not username:
        raise DomainError(_("Nama pengguna wajib diisi."), field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError(_("Nama pengguna %(u)s sudah dipakai.") % {"u": username}, field="username")
    user = User(username=username, first_name=first_name, last_name=last_name, email=email)
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise DomainError(" ".join(exc.messages), field="password") from exc
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit.record(
        actor=actor,
        action="org.user.create",
        obj=user,
        after=audit.snapshot(user, ("username", "first_name", "last_name", "email")),
    )
    return user


@transaction.atomic
def role_assign(
    *,
    actor: Any,
    user: User,
    role: str,
    unit: OrgUnit,
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
) -> RoleAssignment:
    _require(actor, "org.assign_role", unit)
    if role not in Role.values:
        raise DomainError(_("Peran tidak dikenal."), field="role")
    if unit.kind not in ROLE_UNIT_KINDS[role]:
        raise DomainError(
            _("Peran %(role)s tidak dapat ditempatkan di %(kind)s.")
            % {"role": Role(role).label, "kind": UnitKind(unit.kind).label},
            field="unit",
        )
    valid_from = valid_from or timezone.localdate()
    if valid_to is not None and valid_to <= valid_from:
        raise DomainError(_("Tanggal akhir harus setelah tanggal mulai."), field="valid_to")
    overlap = RoleAssignment.objects.filter(user=user, role=role, unit=unit, valid_from__lt=valid_to or dt.date.max)
    overlap = overlap.exclude(valid_to__isnull=False, valid_to__lte=valid_from)
    if overlap.exists():
        raise DomainError(_("Pengguna sudah memegang peran ini di unit ini pada periode tersebut."))
    assignment = RoleAssignment.objects.create(
        user=user, role=role, unit=unit, valid_from=valid_from, valid_to=valid_to
    )
    audit.record(
        actor=actor,
        action="org.role.assign",
        obj=assignment,
        after=audit.snapshot(assignment, ASSIGNMENT_FIELDS),
    )
    return assignment


@transaction.atomic
def role_end(*, actor: Any, assignment: RoleAssignment, valid_to: dt.date) -> RoleAssignment:
    _require(actor, "org.assign_role", assignment.unit)
    assignment = RoleAssignment.objects.select_for_update().get(pk=assignment.pk)
    if valid_to <= assignment.valid_from:
        raise DomainError(_("Tanggal akhir harus setelah tanggal mulai."), field="valid_to")
    before = audit.snapshot(assignment, ASSIGNMENT_FIELDS)
    assignment.valid_to = valid_to
    assignment.save(update_fields=["valid_to", "updated_at"])
    audit.record(
        actor=actor,
        action="org.role.end",
        obj=assignment,
        before=before,
        after=audit.snapshot(assignment, ASSIGNMENT_FIELDS),
    )
    return assignment


@transaction.atomic
def active_role_switch(*, user: User, assignment_id: int) -> RoleAssignment:
    """Remember which of their own valid roles the user acts in."""
    assignment = active_assignments(user).filter(pk=assignment_id).first()
    if assignment is None:
        raise DomainError(_("Peran tersebut tidak tersedia untuk Anda."))
    before = {"current_assignment": user.current_assignment_id}
    User.objects.filter(pk=user.pk).update(current_assignment=assignment)
    user.current_assignment = assignment
    forget_active_assignment(user)
    audit.record(
        actor=user, action="org.role.switch", obj=user, before=before, after={"current_assignment": assignment.pk}
    )
    return assignment


@transaction.atomic
def user_set_language(*, user: User, language: str) -> None:
    from django.conf import settings

    if language not in dict(settings.LANGUAGES):
        raise DomainError(_("Bahasa tidak didukung."), field="language")
    if user.language == language:
        return
    before = {"language": user.language}
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language
    audit.record(actor=user, action="org.user.language", obj=user, before=before, after={"language": language})


@transaction.atomic
def user_change_password(*, user: User, new_password: str) -> None:
    """The form has checked the old password and the validators; the hash is not audited."""
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit.record(actor=user, action="org.user.password_change", obj=user)


@transaction.atomic
def login_record(*, user: User, via: str) -> None:
    audit.record(actor=user, action="auth.login", obj=user, after={"via": via})


@transaction.atomic
def me_place(
    *,
    actor: Any,
    me: User,
    branch: OrgUnit,
    valid_from: dt.date | None = None,
    reason: str = "",
) -> Placement:
    """Post a Marketing Executive to a branch from ``valid_from``: the open posting
    and the ME role at the old branch end that day; history is kept."""
    _require(actor, "org.place_me", branch)
    if branch.kind != UnitKind.CABANG:
        raise DomainError(_("Marketing Executive harus ditempatkan di Kantor Cabang."), field="branch")
    from org.access import active_role

    if actor is not None and active_role(actor) in (Role.WILAYAH, Role.PUSAT) and not reason.strip():
        raise DomainError(_("Penempatan oleh Wilayah/Pusat memerlukan alasan."), field="reason")
    day = valid_from or timezone.localdate()
    current = (
        Placement.objects.select_for_update().select_related("branch").filter(user=me, valid_to__isnull=True).first()
    )
    if current is not None:
        # The ME must come from a branch the actor may place in too (same area for a DBA).
        _require(actor, "org.place_me", current.branch)
        if current.branch_id == branch.pk:
            raise DomainError(_("ME sudah ditempatkan di cabang ini."), field="branch")
        if day <= current.valid_from:
            raise DomainError(_("Tanggal penempatan harus setelah penempatan sebelumnya."), field="valid_from")
        current.valid_to = day
        current.save(update_fields=["valid_to", "updated_at"])
        RoleAssignment.objects.filter(user=me, role=Role.ME, unit_id=current.branch_id, valid_to__isnull=True).update(
            valid_to=day
        )
    placement = Placement.objects.create(
        user=me, branch=branch, valid_from=day, decided_by=actor, reason=reason.strip()
    )
    RoleAssignment.objects.create(user=me, role=Role.ME, unit=branch, valid_from=day)
    audit.record(
        actor=actor,
        action="org.me.place",
        obj=placement,
        before={"branch": current.branch_id if current else None},
        after=audit.snapshot(placement, ("user", "branch", "valid_from", "reason")),
    )
    return placement


@transaction.atomic
def api_token_issue(*, user: User) -> Any:
    """The user's API token, created on first request (one per user)."""
    from rest_framework.authtoken.models import Token

    token, created = Token.objects.get_or_create(user=user)
    audit.record(actor=user, action="auth.token", obj=user, after={"via": "api", "new_token": created})
    return token
