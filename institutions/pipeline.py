"""The engagement pipeline: which moves are allowed, and the evidence each needs.

Declared here and nowhere else. ``check_move`` answers what is missing (an
empty list means the move may go ahead); ``stage_move`` (the service) refuses a
move with those messages. The evidence lives in the activities app (activities,
events, leads, maintenance plans), read here without writing anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from control import audit
from core.errors import DomainError
from institutions.models import Institution, Stage, StageChange

# A dormant institution has had no completed activity for this long.
DORMANT_AFTER_DAYS = 90

# Allowed moves: forward one step along the path, out to TIDAK_BERMINAT or
# DORMAN, and back in from them. MAINTENANCE falls back to EKSEKUSI when its
# plan has ended.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Stage.IDENTIFIKASI: (Stage.KOMUNIKASI_AWAL, Stage.TIDAK_BERMINAT, Stage.DORMAN),
    Stage.KOMUNIKASI_AWAL: (Stage.AUDIENSI, Stage.TIDAK_BERMINAT, Stage.DORMAN),
    Stage.AUDIENSI: (Stage.KERJA_SAMA, Stage.TIDAK_BERMINAT, Stage.DORMAN),
    Stage.KERJA_SAMA: (Stage.EKSEKUSI, Stage.TIDAK_BERMINAT, Stage.DORMAN),
    Stage.EKSEKUSI: (Stage.MAINTENANCE, Stage.DORMAN),
    Stage.MAINTENANCE: (Stage.EKSEKUSI, Stage.DORMAN),
    Stage.TIDAK_BERMINAT: (Stage.IDENTIFIKASI, Stage.KOMUNIKASI_AWAL),
    Stage.DORMAN: (Stage.IDENTIFIKASI, Stage.KOMUNIKASI_AWAL),
}
# The stages of the main path, in order (the board's columns, the funnel).
PATH = (
    Stage.IDENTIFIKASI,
    Stage.KOMUNIKASI_AWAL,
    Stage.AUDIENSI,
    Stage.KERJA_SAMA,
    Stage.EKSEKUSI,
    Stage.MAINTENANCE,
)
SIDE = (Stage.TIDAK_BERMINAT, Stage.DORMAN)


@dataclass(frozen=True)
class Rule:
    """What a move to ``stage`` needs, in words (shown beside the button) and as a check."""

    requirement: Any
    check: Callable[[Institution, str], str | None]  # (institution, note) -> what is missing, or None
    needs_note: bool = False


def _done(inst: Institution, kinds: tuple[str, ...], since: datetime | None = None) -> Any:
    from activities.models import Activity, ActivityStatus

    qs = Activity.objects.filter(institution=inst, kind__in=kinds, status=ActivityStatus.DONE)
    if since is not None:
        qs = qs.filter(starts_at__gte=since)
    return qs


def _need_first_contact(inst: Institution, note: str) -> str | None:
    from activities.models import ActivityKind

    since = inst.stage_since if inst.stage in SIDE else None
    if _done(inst, (ActivityKind.KOMUNIKASI_AWAL, ActivityKind.KOMUNIKASI_LANJUTAN), since).exists():
        return None
    if since is not None:
        return _("Belum ada komunikasi yang selesai sejak lembaga ini %(stage)s.") % {
            "stage": inst.get_stage_display().lower()
        }
    return _("Belum ada aktivitas komunikasi awal yang selesai dengan lembaga ini.")


def _revived_at(inst: Institution) -> datetime | None:
    """When the institution last went TIDAK_BERMINAT or DORMAN: evidence from
    before that belongs to an engagement that ended, and does not count again."""
    return inst.stage_changes.filter(to_stage__in=SIDE).order_by("-at").values_list("at", flat=True).first()


def _need_audience(inst: Institution, note: str) -> str | None:
    from activities.models import ActivityKind, ParticipantRole

    audiences = _done(inst, (ActivityKind.AUDIENSI,), _revived_at(inst))
    if not audiences.exists():
        return _("Belum ada audiensi yang selesai dengan lembaga ini.")
    if not audiences.filter(participant_rows__role=ParticipantRole.PINCA).exists():
        return _("Audiensi yang tercatat belum dihadiri Pemimpin Cabang.")
    return None


def _need_follow_up(inst: Institution, note: str) -> str | None:
    from activities.models import ActivityKind

    last_audience = (
        _done(inst, (ActivityKind.AUDIENSI,), _revived_at(inst))
        .order_by("-starts_at")
        .values_list("starts_at", flat=True)
        .first()
    )
    if last_audience is None:
        return _("Belum ada audiensi yang selesai dengan lembaga ini.")
    if not _done(inst, (ActivityKind.KOMUNIKASI_LANJUTAN,), last_audience).exists():
        return _("Belum ada komunikasi lanjutan yang selesai setelah audiensi.")
    return None


def _need_event_or_lead(inst: Institution, note: str) -> str | None:
    from activities.models import EVENT_KINDS

    since = _revived_at(inst)
    leads = inst.leads.filter(created_at__gte=since) if since else inst.leads.all()
    if _done(inst, tuple(EVENT_KINDS), since).exists() or leads.exists():
        return None
    return _("Belum ada acara yang terlaksana atau prospek dari lembaga ini.")


def _need_active_plan(inst: Institution, note: str) -> str | None:
    from activities.models import PlanStatus

    if inst.maintenance_plans.filter(status=PlanStatus.ACTIVE).exists():
        return None
    return _("Belum ada rencana maintenance yang aktif untuk lembaga ini.")


def _need_no_active_plan(inst: Institution, note: str) -> str | None:
    from activities.models import PlanStatus

    if inst.maintenance_plans.filter(status=PlanStatus.ACTIVE).exists():
        return _("Rencana maintenance masih aktif; akhiri dulu rencananya.")
    return None


def _need_quiet(inst: Institution, note: str) -> str | None:
    """Dormant: quiet for the whole period — no done activity in it, in the
    current stage (or registered) for at least that long, and no active plan
    still sending visits."""
    from activities.models import ActivityKind, PlanStatus

    since = timezone.now() - timedelta(days=DORMANT_AFTER_DAYS)
    if _done(inst, tuple(ActivityKind.values), since).exists():
        return _("Masih ada aktivitas yang selesai dalam %(days)s hari terakhir.") % {"days": DORMANT_AFTER_DAYS}
    entered = inst.stage_since or inst.created_at
    if entered is not None and entered > since:
        return _("Lembaga baru %(days)s hari di tahap ini; dorman berarti tanpa kegiatan selama %(limit)s hari.") % {
            "days": max(0, (timezone.now() - entered).days),
            "limit": DORMANT_AFTER_DAYS,
        }
    if inst.maintenance_plans.filter(status=PlanStatus.ACTIVE).exists():
        return _("Rencana maintenance masih aktif; akhiri dulu rencananya.")
    return None


def _nothing(inst: Institution, note: str) -> str | None:
    return None


# The evidence each target stage needs. TIDAK_BERMINAT and a return to
# IDENTIFIKASI need a written reason (``needs_note``).
RULES: dict[str, Rule] = {
    Stage.IDENTIFIKASI: Rule(gettext_lazy("Alasan diaktifkan kembali"), _nothing, needs_note=True),
    Stage.KOMUNIKASI_AWAL: Rule(gettext_lazy("Komunikasi awal yang selesai"), _need_first_contact),
    Stage.AUDIENSI: Rule(gettext_lazy("Audiensi selesai yang dihadiri Pemimpin Cabang"), _need_audience),
    Stage.KERJA_SAMA: Rule(gettext_lazy("Komunikasi lanjutan yang selesai setelah audiensi"), _need_follow_up),
    Stage.EKSEKUSI: Rule(gettext_lazy("Minimal satu acara terlaksana atau satu prospek"), _need_event_or_lead),
    Stage.MAINTENANCE: Rule(gettext_lazy("Rencana maintenance yang aktif"), _need_active_plan),
    Stage.TIDAK_BERMINAT: Rule(gettext_lazy("Alasan lembaga tidak berminat"), _nothing, needs_note=True),
    Stage.DORMAN: Rule(
        lazy(lambda: _("Tidak ada aktivitas selesai dalam %(days)s hari") % {"days": DORMANT_AFTER_DAYS}, str)(),
        _need_quiet,
    ),
}
# Falling back from MAINTENANCE to EKSEKUSI is allowed only when the plan has ended.
BACK_FROM_MAINTENANCE = Rule(gettext_lazy("Rencana maintenance sudah diakhiri"), _need_no_active_plan)


def rule_for(current: str, target: str) -> Rule:
    if current == Stage.MAINTENANCE and target == Stage.EKSEKUSI:
        return BACK_FROM_MAINTENANCE
    return RULES[target]


def allowed_targets(current: str) -> tuple[str, ...]:
    return TRANSITIONS.get(current, ())


def check_move(inst: Institution, target: str, note: str = "") -> list[str]:
    """What is missing for ``inst`` to move to ``target`` (empty: allowed)."""
    if target not in Stage.values:
        return [_("Tahap tidak dikenal.")]
    if target == inst.stage:
        return [_("Lembaga sudah berada di tahap ini.")]
    if target not in allowed_targets(inst.stage):
        return [
            _("Dari tahap %(current)s tidak bisa langsung ke %(target)s.")
            % {"current": inst.get_stage_display(), "target": Stage(target).label}
        ]
    rule = rule_for(inst.stage, target)
    missing = []
    problem = rule.check(inst, note)
    if problem:
        missing.append(problem)
    if rule.needs_note and not note.strip():
        missing.append(_("Tuliskan alasannya."))
    return missing


def stage_move(*, actor: Any, institution: Institution, to_stage: str, note: str = "") -> StageChange:
    """Move an institution to another stage when its evidence is there; one audit event."""
    from django.core.exceptions import PermissionDenied

    if actor is not None and not actor.has_perm("institutions.move_stage", institution):
        raise PermissionDenied
    note = (note or "").strip()[:500]
    with transaction.atomic():
        inst = Institution.objects.select_for_update().get(pk=institution.pk)
        missing = check_move(inst, to_stage, note)
        if missing:
            raise DomainError(
                _("Belum bisa pindah ke %(stage)s: %(missing)s")
                % {
                    "stage": Stage(to_stage).label if to_stage in Stage.values else to_stage,
                    "missing": " ".join(missing),
                },
                field="stage",
                code="stage_evidence_missing",
            )
        now = timezone.now()
        before = {"stage": inst.stage}
        change = StageChange.objects.create(
            institution=inst,
            from_stage=inst.stage,
            to_stage=to_stage,
            at=now,
            by=actor,
            note=note,
            evidence=str(rule_for(inst.stage, to_stage).requirement)[:255],
        )
        inst.stage = to_stage
        inst.stage_since = now
        inst.save(update_fields=["stage", "stage_since", "updated_at"])
        audit.record(
            actor=actor,
            action="institution.stage",
            obj=inst,
            before=before,
            after={"stage": to_stage, "note": note},
        )
    institution.stage = inst.stage
    institution.stage_since = inst.stage_since
    return change


def stage_history(inst: Institution, now: datetime | None = None) -> list[dict[str, Any]]:
    """Each stage the institution has been in, oldest first, with who moved it,
    when, and how long it stayed (to the next move, or to now)."""
    now = now or timezone.now()
    changes: list[Any] = list(inst.stage_changes.select_related("by").order_by("at", "id"))
    if not changes or changes[0].from_stage:
        # Registered (or loaded in bulk) before any move: its first stage runs from registration.
        first = changes[0].from_stage if changes else inst.stage
        changes.insert(0, StageChange(institution=inst, from_stage="", to_stage=first, at=inst.created_at))
    rows = []
    for i, ch in enumerate(changes):
        until = changes[i + 1].at if i + 1 < len(changes) else now
        rows.append(
            {
                "change": ch,
                "stage": ch.to_stage,
                "label": Stage(ch.to_stage).label,
                "from_label": Stage(ch.from_stage).label if ch.from_stage else "",
                "at": ch.at,
                "by": ch.by,
                "note": ch.note,
                "days": max(0, (until - ch.at).days),
                "current": i + 1 == len(changes),
            }
        )
    return rows


def days_in_stage(inst: Institution, now: datetime | None = None) -> dict[str, int]:
    """Total days spent in each stage (a stage visited twice adds up)."""
    totals: dict[str, int] = {}
    for row in stage_history(inst, now):
        totals[row["stage"]] = totals.get(row["stage"], 0) + row["days"]
    return totals
