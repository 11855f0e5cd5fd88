"""Every write of the performance module: KPI settings, targets (set, imported),
ME tasks, ME evaluations, placement decisions. Each runs in one transaction,
checks the actor's permission in the access policy, and appends an audit event."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from control import audit
from core.dates import in_range
from core.errors import DomainError
from core.notify import in_language, notify
from org.access import current_branch_of
from org.models import OrgUnit, Role, UnitKind, User
from performance.kpis import KPI_BY_CODE
from performance.models import (
    KpiSetting,
    MeEvaluation,
    PlacementDecision,
    SumCheck,
    Target,
    Task,
    TaskStatus,
)
from performance.periods import Period

MAX_TARGET = Decimal(10) ** 20
TEXT_LIMIT = 255


def _require(actor: Any, perm: str, obj: Any = None) -> None:
    if actor is not None and not actor.has_perm(perm, obj):
        raise PermissionDenied


def _clean_text(value: Any, *, field: str, limit: int = TEXT_LIMIT, required: bool = False) -> str:
    text = str(value or "").strip()
    if "\x00" in text or any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise DomainError(_("Teks berisi karakter yang tidak sah."), field=field)
    if required and not text:
        raise DomainError(_("Wajib diisi."), field=field)
    if len(text) > limit:
        raise DomainError(_("Paling banyak %(n)d karakter.") % {"n": limit}, field=field)
    return text


def sum_check_of(kpi: str) -> str:
    setting = KpiSetting.objects.filter(kpi=kpi).first()
    return setting.sum_check if setting else KPI_BY_CODE[kpi].default_sum_check


@transaction.atomic
def kpi_setting_set(*, actor: Any, kpi: str, sum_check: str) -> KpiSetting:
    _require(actor, "performance.manage_kpi")
    if kpi not in KPI_BY_CODE:
        raise DomainError(_("KPI tidak dikenal."), field="kpi")
    if sum_check not in SumCheck.values:
        raise DomainError(_("Pilihan cek jumlah tidak dikenal."), field="sum_check")
    before = sum_check_of(kpi)
    setting, _created = KpiSetting.objects.update_or_create(
        kpi=kpi, defaults={"sum_check": sum_check, "updated_by": actor}
    )
    audit.record(
        actor=actor,
        action="performance.kpi_setting",
        obj=setting,
        before={"sum_check": before},
        after={"kpi": kpi, "sum_check": sum_check},
    )
    return setting


# --- Targets ------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetRow:
    """One target to write: a unit's (``me`` None) or an ME's (``unit`` is the ME's
    branch). ``value`` None removes the target."""

    unit: OrgUnit
    me: User | None
    value: Decimal | None


def parse_value(raw: Any, *, kpi: str, field: str = "value") -> Decimal | None:
    """A target typed by a person: ``1.500.000`` or ``1500000`` or ``85,5``; blank is None."""
    text = str(raw if raw is not None else "").strip().replace(" ", "")
    if text == "":
        return None
    if isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool):
        text = str(raw)
    else:
        if text.count(".") > 1 or (text.count(".") == 1 and "," not in text and len(text.split(".")[1]) == 3):
            text = text.replace(".", "")
        text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise DomainError(_("Target harus berupa angka."), field=field) from None
    if not value.is_finite():
        raise DomainError(_("Target harus berupa angka."), field=field)
    if value < 0:
        raise DomainError(_("Target tidak boleh negatif."), field=field)
    if value >= MAX_TARGET:
        raise DomainError(_("Target terlalu besar."), field=field)
    if KPI_BY_CODE[kpi].is_ratio:
        if value > 100:
            raise DomainError(_("Target persentase paling tinggi 100."), field=field)
        return value.quantize(Decimal("0.1"))
    if value != value.to_integral_value():
        raise DomainError(_("Target KPI ini harus bilangan bulat."), field=field)
    return value.quantize(Decimal(1))


def _parent_of(row: TargetRow) -> OrgUnit | None:
    if row.me is not None:
        return row.unit
    return row.unit.parent if row.unit.kind != UnitKind.PUSAT else None


def _check_row(actor: Any, row: TargetRow, period: Period) -> None:
    if row.me is None:
        if row.unit.kind not in (UnitKind.PUSAT, UnitKind.WILAYAH, UnitKind.AREA, UnitKind.CABANG):
            raise DomainError(_("Target hanya untuk Pusat, Wilayah, Area, Cabang, atau ME."), field="unit")
        _require(actor, "performance.set_unit_target", row.unit)
    else:
        if row.unit.kind != UnitKind.CABANG:
            raise DomainError(_("Target ME dicatat di cabangnya."), field="unit")
        _require(actor, "performance.set_me_target", row.unit)
        branch = current_branch_of(row.me)
        if branch is None or branch.pk != row.unit.pk:
            raise DomainError(
                _("%(me)s tidak ditempatkan di cabang ini.") % {"me": row.me.get_full_name() or row.me.username},
                field="me",
            )


def _children_sum(kpi: str, period: Period, parent: OrgUnit) -> tuple[Decimal, int]:
    qs = Target.objects.filter(kpi=kpi, period_kind=period.kind, period_start=period.start)
    if parent.kind == UnitKind.CABANG:
        qs = qs.filter(unit=parent, me__isnull=False)
    else:
        qs = qs.filter(unit__parent=parent, me__isnull=True)
    values = list(qs.values_list("value", flat=True))
    return sum(values, Decimal(0)), len(values)


def _sum_messages(kpi: str, period: Period, parents: set[OrgUnit]) -> tuple[list[str], list[str]]:
    """(refusals, warnings) for each parent whose children's targets do not add up."""
    refusals: list[str] = []
    warnings: list[str] = []
    k = KPI_BY_CODE[kpi]
    if k.is_ratio:
        return refusals, warnings
    check = sum_check_of(kpi)
    for parent in sorted(parents, key=lambda u: u.code):
        total, n = _children_sum(kpi, period, parent)
        own = Target.objects.filter(
            kpi=kpi, period_kind=period.kind, period_start=period.start, unit=parent, me__isnull=True
        ).first()
        if own is None:
            if n:
                warnings.append(
                    _("%(unit)s belum punya target %(kpi)s untuk %(period)s.")
                    % {"unit": parent.name, "kpi": k.label, "period": period.code}
                )
            continue
        if not n:  # nothing split below it yet: the level below has yet to set its targets
            continue
        if total != own.value:
            text = _(
                "Jumlah target di bawah %(unit)s untuk %(kpi)s (%(sum)s) tidak sama dengan targetnya (%(target)s)."
            ) % {"unit": parent.name, "kpi": k.label, "sum": f"{total:,}", "target": f"{own.value:,}"}
            (refusals if check == SumCheck.REFUSE else warnings).append(text)
    return refusals, warnings


@transaction.atomic
def targets_set(*, actor: Any, kpi: str, period: Period, rows: Sequence[TargetRow], note: str = "") -> list[str]:
    """Write targets of one KPI for one period; returns the warnings. Children's
    targets must add up to their parent's when the KPI's setting says refuse
    (the whole write is refused), else a warning is returned."""
    if kpi not in KPI_BY_CODE:
        raise DomainError(_("KPI tidak dikenal."), field="kpi")
    if not in_range(period.start):
        raise DomainError(_("Periode di luar rentang."), field="period")
    if not rows:
        raise DomainError(_("Tidak ada target yang diisi."), field="value")
    seen: set[tuple[int, int | None]] = set()
    changes: list[dict[str, Any]] = []
    parents: set[OrgUnit] = set()
    for row in rows:
        _check_row(actor, row, period)
        key = (row.unit.pk, row.me.pk if row.me else None)
        if key in seen:
            raise DomainError(_("Target yang sama diisi dua kali."), field="value")
        seen.add(key)
        lookup = {"kpi": kpi, "period_kind": period.kind, "period_start": period.start}
        if row.me is None:
            current = Target.objects.select_for_update().filter(**lookup, unit=row.unit, me__isnull=True).first()
        else:
            # An ME has one target per KPI and period (perf_target_me_once), whatever the
            # branch: a target set at the ME's previous branch moves with them.
            current = Target.objects.select_for_update().filter(**lookup, me=row.me).first()
        if current is not None and current.unit_id != row.unit.pk:
            parents.add(current.unit)  # the branch the ME's target leaves
            before = None
        else:
            before = current.value if current else None
        if row.value is None:
            if current is not None and before is not None:
                current.delete()
        elif current is None:
            Target.objects.create(**lookup, unit=row.unit, me=row.me, value=row.value, set_by=actor)
        elif current.value != row.value or current.unit_id != row.unit.pk:
            current.value = row.value
            current.unit = row.unit
            current.set_by = actor
            current.save(update_fields=["value", "unit", "set_by", "updated_at"])
        if before != row.value:
            changes.append(
                {"unit": row.unit.code, "me": row.me.username if row.me else None, "before": before, "after": row.value}
            )
        parent = _parent_of(row)
        if parent is not None:
            parents.add(parent)
    refusals, warnings = _sum_messages(kpi, period, parents)
    if refusals:
        raise DomainError(" ".join(refusals), field="value", code="sum")
    # The written units are parents too: say when their own children no longer add up.
    _r, below = _sum_messages(kpi, period, {r.unit for r in rows if r.me is None})
    warnings.extend(below + _r)
    if changes:
        audit.record(
            actor=actor,
            action="performance.targets_set",
            object_type="performance.target",
            object_id=f"{kpi}:{period.code}",
            before={c["unit"] + (f"/{c['me']}" if c["me"] else ""): c["before"] for c in changes},
            after={"changes": changes, "note": note},
        )
    return warnings


@dataclass
class ImportOutcome:
    """What a targets import did: per-line errors (nothing written when any),
    or the number of targets changed and left as they were, with the warnings."""

    errors: list[tuple[int, str]]
    warnings: list[str]
    changed: int = 0
    unchanged: int = 0


_SETTABLE_KINDS = (UnitKind.PUSAT, UnitKind.WILAYAH, UnitKind.AREA, UnitKind.CABANG)


def targets_import(*, actor: Any, rows: Sequence[Any]) -> ImportOutcome:
    """Apply an uploaded targets file, all or nothing. ``rows`` carry ``number``
    (the spreadsheet line), ``kpi``, ``period``, ``unit_code``, ``me_username``
    and ``value`` as read. Every row is checked first (unknown KPI, period, unit
    or ME, not a number, outside the actor's scope or authority: an error with
    its line); with any error nothing is written. Otherwise the changed targets
    are written per (KPI, period) through :func:`targets_set` in one
    transaction, and a sum refusal undoes them all. A row the actor may not set
    whose value is already the stored one (an export read back) is left alone."""
    from org.access import visible_units
    from org.models import Placement
    from performance.periods import parse_period

    errors: list[tuple[int, str]] = []
    codes = {r.unit_code for r in rows if r.unit_code}
    units = {u.code: u for u in visible_units(actor).filter(code__in=codes, kind__in=_SETTABLE_KINDS)} if codes else {}
    names = {r.me_username for r in rows if r.me_username}
    mes = {u.username: u for u in User.objects.filter(username__in=names)} if names else {}
    placed = dict(
        Placement.objects.filter(user__in=list(mes.values()), valid_to__isnull=True).values_list("user_id", "branch_id")
    )
    resolved: list[tuple[int, str, Period, TargetRow]] = []
    seen: dict[tuple[str, str, int, int | None], int] = {}
    for r in rows:
        problems: list[str] = []
        kpi = r.kpi if r.kpi in KPI_BY_CODE else None
        if kpi is None:
            problems.append(_("KPI “%(kpi)s” tidak dikenal.") % {"kpi": r.kpi})
        period = parse_period(r.period)
        if period is None or not in_range(period.start):
            problems.append(
                _("Periode “%(period)s” tidak dikenal (tulis 2026-11, 2026-Q4, atau 2026).") % {"period": r.period}
            )
        unit = units.get(r.unit_code)
        if unit is None:
            problems.append(_("Unit “%(code)s” tidak dikenal atau di luar cakupan Anda.") % {"code": r.unit_code})
        me = None
        if r.me_username:
            me = mes.get(r.me_username)
            if me is None:
                problems.append(_("ME “%(me)s” tidak dikenal.") % {"me": r.me_username})
            elif unit is not None and placed.get(me.pk) != unit.pk:
                problems.append(
                    _("ME “%(me)s” tidak ditempatkan di %(unit)s.") % {"me": r.me_username, "unit": unit.code}
                )
        value = None
        if kpi is not None:
            try:
                value = parse_value(r.value, kpi=kpi)
            except DomainError as exc:
                problems.append(str(exc.message))
            else:
                if value is None:
                    problems.append(_("Nilai target kosong."))
        if not problems and kpi and period and unit:
            key = (kpi, period.code, unit.pk, me.pk if me else None)
            if key in seen:
                problems.append(_("Target yang sama sudah ada di baris %(line)d.") % {"line": seen[key]})
            seen[key] = r.number
        if problems:
            errors.extend((r.number, p) for p in problems)
        else:
            assert kpi and period and unit
            resolved.append((r.number, kpi, period, TargetRow(unit=unit, me=me, value=value)))
    if errors:
        return ImportOutcome(errors=errors, warnings=[])
    # What is stored now, for the (KPI, period) pairs of the file.
    stored: dict[tuple[str, str, int, int | None], Decimal] = {}
    for kpi, period in {(k, p) for _n, k, p, _r in resolved}:
        for t in Target.objects.filter(kpi=kpi, period_kind=period.kind, period_start=period.start):
            stored[(kpi, period.code, t.unit_id if t.me_id is None else -1, t.me_id)] = t.value
    groups: dict[tuple[str, Period], list[TargetRow]] = defaultdict(list)
    unchanged = 0
    for number, kpi, period, row in resolved:
        key = (kpi, period.code, row.unit.pk if row.me is None else -1, row.me.pk if row.me else None)
        same = stored.get(key) == row.value
        if row.me is not None:
            allowed = actor is None or actor.has_perm("performance.set_me_target", row.unit)
        else:
            allowed = actor is None or actor.has_perm("performance.set_unit_target", row.unit)
        if not allowed and not same:
            errors.append((number, _("Anda tidak berwenang menetapkan target ini.")))
        elif same:
            unchanged += 1
        else:
            groups[(kpi, period)].append(row)
    if errors:
        return ImportOutcome(errors=errors, warnings=[])
    warnings: list[str] = []
    changed = sum(len(g) for g in groups.values())
    try:
        with transaction.atomic():
            for (kpi, period), group in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1].start)):
                warnings += targets_set(actor=actor, kpi=kpi, period=period, rows=group, note=_("impor .xlsx"))
    except DomainError as exc:
        return ImportOutcome(errors=[(0, str(exc.message))], warnings=[])
    return ImportOutcome(errors=[], warnings=warnings, changed=changed, unchanged=unchanged)


# --- Tasks --------------------------------------------------------------------------


def _area_region(branch: OrgUnit) -> tuple[int, int]:
    """The ids of a branch's area and region (a branch always sits under both)."""
    area = branch.parent
    if area is None or area.parent_id is None:
        raise DomainError(_("Cabang ini belum berada di bawah Kantor Area dan Wilayah."), field="branch")
    return area.pk, area.parent_id


def _me_branch(me: User) -> OrgUnit:
    branch = current_branch_of(me)
    if branch is None:
        raise DomainError(_("ME ini tidak sedang ditempatkan di cabang mana pun."), field="me")
    return branch


@transaction.atomic
def task_assign(
    *,
    actor: Any,
    me: User,
    objective: str,
    due_on: dt.date,
    institution: Any = None,
    kpi: str = "",
) -> Task:
    """The branch head gives one of the branch's MEs a task; the ME is notified."""
    branch = _me_branch(me)
    _require(actor, "performance.assign_task", branch)
    if not me.assignments.filter(role=Role.ME, unit=branch, valid_to__isnull=True).exists():
        raise DomainError(_("Penerima tugas harus ME di cabang ini."), field="me")
    objective = _clean_text(objective, field="objective", required=True)
    if not isinstance(due_on, dt.date) or not in_range(due_on):
        raise DomainError(_("Tanggal tidak sah."), field="due_on")
    if due_on < timezone.localdate():
        raise DomainError(_("Tenggat tidak boleh sebelum hari ini."), field="due_on")
    if kpi and kpi not in KPI_BY_CODE:
        raise DomainError(_("KPI tidak dikenal."), field="kpi")
    if institution is not None and institution.branch_id != branch.pk:
        raise DomainError(_("Lembaga harus milik cabang ini."), field="institution")
    area_id, region_id = _area_region(branch)
    task = Task.objects.create(
        branch=branch,
        area_id=area_id,
        region_id=region_id,
        me=me,
        institution=institution,
        objective=objective,
        kpi=kpi,
        due_on=due_on,
        assigned_by=actor,
    )
    audit.record(
        actor=actor,
        action="performance.task_assign",
        obj=task,
        after=audit.snapshot(task, ("branch", "me", "institution", "objective", "kpi", "due_on")),
    )
    with in_language(me):
        notify(
            user=me,
            key=f"task:{task.pk}",
            title=_("Tugas baru: %(objective)s") % {"objective": objective[:150]},
            body=_("Tenggat %(day)s.") % {"day": due_on.isoformat()},
            url=reverse("performance:task", args=[task.pk]),
        )
    return task


TASK_FLOW = {
    TaskStatus.OPEN: {TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.CANCELLED},
    TaskStatus.IN_PROGRESS: {TaskStatus.OPEN, TaskStatus.DONE, TaskStatus.CANCELLED},
    TaskStatus.DONE: {TaskStatus.IN_PROGRESS},
    TaskStatus.CANCELLED: {TaskStatus.OPEN},
}


@transaction.atomic
def task_update(*, actor: Any, task: Task, status: str, progress_note: str = "") -> Task:
    """The ME (or the branch head) moves a task along; only the branch head cancels or reopens a cancelled one."""
    task = Task.objects.select_for_update().select_related("branch").get(pk=task.pk)
    _require(actor, "performance.update_task", task)
    if status not in TaskStatus.values:
        raise DomainError(_("Status tidak dikenal."), field="status")
    note = _clean_text(progress_note, field="progress_note", limit=500)
    from org.access import active_role

    is_me = actor is not None and active_role(actor) == Role.ME
    if is_me and TaskStatus.CANCELLED in (status, task.status) and status != task.status:
        raise PermissionDenied
    if status != task.status and status not in TASK_FLOW[TaskStatus(task.status)]:
        raise DomainError(_("Status tugas tidak bisa berpindah ke sana."), field="status")
    before = audit.snapshot(task, ("status", "progress_note", "done_on"))
    task.status = status
    task.progress_note = note
    task.done_on = timezone.localdate() if status == TaskStatus.DONE else None
    task.save(update_fields=["status", "progress_note", "done_on", "updated_at"])
    audit.record(
        actor=actor,
        action="performance.task_update",
        obj=task,
        before=before,
        after=audit.snapshot(task, ("status", "progress_note", "done_on")),
    )
    return task


# --- Evaluations --------------------------------------------------------------------


@transaction.atomic
def evaluation_save(*, actor: Any, me: User, period: Period, rating: Any, notes: str) -> MeEvaluation:
    """The branch head's evaluation of an ME for a period (one per ME and period; saving again revises it)."""
    branch = _me_branch(me)
    _require(actor, "performance.evaluate_me", branch)
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        raise DomainError(_("Pilih penilaian 1 sampai 5."), field="rating") from None
    if not 1 <= rating <= 5:
        raise DomainError(_("Pilih penilaian 1 sampai 5."), field="rating")
    notes = _clean_text(notes, field="notes", limit=4000, required=True)
    if period.start > timezone.localdate():
        raise DomainError(_("Periode ini belum dimulai."), field="period")
    current = (
        MeEvaluation.objects.select_for_update()
        .filter(me=me, period_kind=period.kind, period_start=period.start)
        .first()
    )
    if current is not None and current.branch_id != branch.pk:
        # The ME has moved since: that evaluation is the earlier branch head's to revise.
        raise DomainError(
            _("Evaluasi periode ini sudah ditulis oleh cabang sebelumnya dan hanya bisa diubah di sana."),
            field="period",
        )
    before = audit.snapshot(current, ("rating", "notes", "branch")) if current else None
    if current is None:
        current = MeEvaluation(me=me, period_kind=period.kind, period_start=period.start)
    current.branch = branch
    current.area_id, current.region_id = _area_region(branch)
    current.rating = rating
    current.notes = notes
    current.evaluated_by = actor
    current.save()
    audit.record(
        actor=actor,
        action="performance.evaluation_save",
        obj=current,
        before=before,
        after=audit.snapshot(current, ("me", "period_kind", "period_start", "rating", "notes", "branch")),
    )
    return current


# --- Placement ------------------------------------------------------------------------


@transaction.atomic
def placement_apply(
    *,
    actor: Any,
    area: OrgUnit,
    moves: Sequence[tuple[User, OrgUnit]],
    valid_from: dt.date | None = None,
    reason: str = "",
    basis: dict[str, Any] | None = None,
    method: str = "",
) -> PlacementDecision:
    """Apply placement moves in an area as one decision: each ME gets a new
    dated posting (``org.services.me_place``), and one decision row and audit
    event name them all."""
    from org.services import me_place

    if area.kind != UnitKind.AREA:
        raise DomainError(_("Penempatan diputuskan per Kantor Area."), field="area")
    _require(actor, "performance.apply_placement", area)
    if not moves:
        raise DomainError(_("Tidak ada perpindahan yang dipilih."), field="moves")
    reason = _clean_text(reason, field="reason")
    day = valid_from or timezone.localdate()
    if not in_range(day):
        raise DomainError(_("Tanggal tidak sah."), field="valid_from")
    if day > timezone.localdate():
        # A posting starts the day it is decided or was decided before; a future one would
        # already count as the ME's branch (tasks, targets) before it starts.
        raise DomainError(_("Penempatan tidak bisa berlaku di masa depan."), field="valid_from")
    seen: set[int] = set()
    done: list[dict[str, Any]] = []
    by_branch: dict[int, int] = defaultdict(int)
    for me, target in moves:
        if me.pk in seen:
            raise DomainError(_("Satu ME dipindahkan dua kali."), field="moves")
        seen.add(me.pk)
        if target.parent_id != area.pk:
            raise DomainError(_("Cabang tujuan harus di area ini."), field="moves")
        source = current_branch_of(me)
        if source is None or source.parent_id != area.pk:
            raise DomainError(_("ME harus sedang ditempatkan di area ini."), field="moves")
        placement = me_place(actor=actor, me=me, branch=target, valid_from=day, reason=reason)
        by_branch[target.pk] += 1
        done.append({"me": me.username, "from": source.code, "to": target.code, "placement": placement.pk})
    decision = PlacementDecision.objects.create(
        area=area, decided_by=actor, valid_from=day, reason=reason, method=method, basis=basis or {}, moves=done
    )
    audit.record(
        actor=actor,
        action="performance.placement_apply",
        obj=decision,
        after={"moves": done, "method": method, "reason": reason, "valid_from": day},
    )
    return decision
