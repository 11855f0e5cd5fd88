"""The engagement pipeline (institutions/pipeline.py): every allowed move with
and without its evidence, the moves that are not allowed, stage history and
time in each stage, who may move, and the audit trail of each move."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from activities import services
from activities.models import ActivityKind, ActivityStatus
from activities.tests import factories as f
from control.models import AuditEvent
from core.errors import DomainError
from institutions.models import Institution, Stage, StageChange
from institutions.pipeline import (
    DORMANT_AFTER_DAYS,
    TRANSITIONS,
    check_move,
    days_in_stage,
    stage_history,
    stage_move,
)

pytestmark = pytest.mark.django_db

ME = "me.c080101.1"
NOTE = "Lembaga sedang restrukturisasi; dihubungi lagi tahun depan."


def _move(inst: Institution, to: str, note: str = "", actor: Any = None) -> StageChange:
    return stage_move(actor=actor or inst.me, institution=inst, to_stage=to, note=note)


def _refused(inst: Institution, to: str, note: str = "", actor: Any = None) -> str:
    """Try a move that must be refused; return the message. Nothing may change."""
    before_stage = Institution.objects.get(pk=inst.pk).stage
    changes = StageChange.objects.filter(institution=inst).count()
    events = AuditEvent.objects.filter(action="institution.stage", object_id=str(inst.pk)).count()
    with pytest.raises(DomainError) as err:
        _move(inst, to, note, actor)
    assert err.value.field == "stage"
    assert Institution.objects.get(pk=inst.pk).stage == before_stage
    assert StageChange.objects.filter(institution=inst).count() == changes
    assert AuditEvent.objects.filter(action="institution.stage", object_id=str(inst.pk)).count() == events
    return str(err.value)


def _at(stage: str, **extra: Any) -> Institution:
    """An institution of ME at ``stage`` since yesterday (evidence made now is after it)."""
    inst = f.institution_for(ME, **extra)
    return f.set_stage(inst, stage, timezone.now() - timedelta(days=1))


def _pinca() -> Any:
    return f.user("pinca.c080101")


def _audience(inst: Institution, *, pinca: bool = True, **extra: Any) -> Any:
    participants = [_pinca()] if pinca else []
    return f.activity(inst, ActivityKind.AUDIENSI, participants=participants, **extra)


# --- Every allowed move: accepted with its evidence, refused (with what is missing) without ---------

# target stage -> (make the evidence, make what blocks it / nothing, the note to give)
Evidence = Callable[[Institution], Any]


def _first_contact(inst: Institution) -> None:
    f.activity(inst, ActivityKind.KOMUNIKASI_AWAL)


def _audience_with_pinca(inst: Institution) -> None:
    _audience(inst)


def _follow_up(inst: Institution) -> None:
    _audience(inst, starts_at=timezone.now() - timedelta(hours=3))
    f.activity(inst, ActivityKind.KOMUNIKASI_LANJUTAN, starts_at=timezone.now() - timedelta(hours=1))


def _event(inst: Institution) -> None:
    f.activity(inst, ActivityKind.SOSIALISASI, attendance=40)


def _active_plan(inst: Institution) -> None:
    f.plan(inst, starts_on=timezone.localdate(), today=timezone.localdate())


def _nothing(inst: Institution) -> None:
    return None


def _long_in_stage(inst: Institution) -> None:
    f.set_stage(inst, inst.stage, timezone.now() - timedelta(days=DORMANT_AFTER_DAYS + 10))


def _recent_activity(inst: Institution) -> None:
    f.activity(inst, ActivityKind.LAINNYA, starts_at=timezone.now() - timedelta(days=10))


# (from, to): (evidence, what makes it missing, expected message without it, note)
MOVES: dict[tuple[str, str], tuple[Evidence, Evidence, str, str]] = {}
_COMM_MISSING = "Belum ada aktivitas komunikasi awal yang selesai dengan lembaga ini."
for _from in Stage.values:
    for _to in TRANSITIONS.get(_from, ()):
        key = (_from, _to)
        if _to == Stage.KOMUNIKASI_AWAL:
            if _from == Stage.IDENTIFIKASI:
                MOVES[key] = (_first_contact, _nothing, _COMM_MISSING, "")
            else:
                label = Stage(_from).label.lower()
                MOVES[key] = (
                    _first_contact,
                    _nothing,
                    f"Belum ada komunikasi yang selesai sejak lembaga ini {label}.",
                    "",
                )
        elif _to == Stage.AUDIENSI:
            MOVES[key] = (_audience_with_pinca, _nothing, "Belum ada audiensi yang selesai dengan lembaga ini.", "")
        elif _to == Stage.KERJA_SAMA:
            MOVES[key] = (_follow_up, _nothing, "Belum ada audiensi yang selesai dengan lembaga ini.", "")
        elif _to == Stage.EKSEKUSI and _from == Stage.MAINTENANCE:
            MOVES[key] = (_nothing, _active_plan, "Rencana maintenance masih aktif; akhiri dulu rencananya.", "")
        elif _to == Stage.EKSEKUSI:
            MOVES[key] = (_event, _nothing, "Belum ada acara yang terlaksana atau prospek dari lembaga ini.", "")
        elif _to == Stage.MAINTENANCE:
            MOVES[key] = (
                _active_plan,
                _nothing,
                "Belum ada rencana maintenance yang aktif untuk lembaga ini.",
                "",
            )
        elif _to in (Stage.TIDAK_BERMINAT, Stage.IDENTIFIKASI):
            MOVES[key] = (_nothing, _nothing, "Tuliskan alasannya.", NOTE)
        elif _to == Stage.DORMAN:
            MOVES[key] = (
                _long_in_stage,
                _recent_activity,
                f"Masih ada aktivitas yang selesai dalam {DORMANT_AFTER_DAYS} hari terakhir.",
                "",
            )


def test_every_declared_move_has_a_case_here() -> None:
    declared = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert declared == set(MOVES)
    # The main path goes forward one step at a time, and every stage can be left.
    assert set(TRANSITIONS) == set(Stage.values)


@pytest.mark.parametrize(("from_stage", "to_stage"), list(MOVES), ids=[f"{a}-{b}" for a, b in MOVES])
def test_allowed_move_refused_without_its_evidence(from_stage: str, to_stage: str) -> None:
    _evidence, blocker, message, _note = MOVES[(from_stage, to_stage)]
    inst = _at(from_stage)
    blocker(inst)
    got = _refused(inst, to_stage)
    assert got == f"Belum bisa pindah ke {Stage(to_stage).label}: {message}"


@pytest.mark.parametrize(("from_stage", "to_stage"), list(MOVES), ids=[f"{a}-{b}" for a, b in MOVES])
def test_allowed_move_accepted_with_its_evidence(from_stage: str, to_stage: str) -> None:
    evidence, _blocker, _message, note = MOVES[(from_stage, to_stage)]
    inst = _at(from_stage)
    evidence(inst)
    me = inst.me
    change = _move(inst, to_stage, note)
    inst.refresh_from_db()
    assert inst.stage == to_stage
    assert (change.from_stage, change.to_stage, change.by, change.note) == (from_stage, to_stage, me, note)
    assert inst.stage_since == change.at
    # Exactly one audit event, naming the move.
    events = list(AuditEvent.objects.filter(action="institution.stage", object_id=str(inst.pk)))
    assert len(events) == 1
    assert events[0].before == {"stage": from_stage}
    assert events[0].after == {"stage": to_stage, "note": note}
    assert events[0].actor_username == ME


# --- Moves that are not declared ------------------------------------------------------------------


def test_every_undeclared_move_is_refused_by_the_rules() -> None:
    inst = f.institution_for(ME)
    for current in Stage.values:
        inst.stage = current
        for target in Stage.values:
            missing = check_move(inst, target, NOTE)
            if target == current:
                assert missing == ["Lembaga sudah berada di tahap ini."]
            elif target not in TRANSITIONS[current]:
                assert missing == [
                    f"Dari tahap {Stage(current).label} tidak bisa langsung ke {Stage(target).label}."
                ], (current, target)


@pytest.mark.parametrize(
    ("from_stage", "to_stage"),
    [
        (Stage.IDENTIFIKASI, Stage.AUDIENSI),
        (Stage.IDENTIFIKASI, Stage.EKSEKUSI),
        (Stage.KOMUNIKASI_AWAL, Stage.KERJA_SAMA),
        (Stage.EKSEKUSI, Stage.KERJA_SAMA),
        (Stage.EKSEKUSI, Stage.TIDAK_BERMINAT),
        (Stage.DORMAN, Stage.MAINTENANCE),
        (Stage.TIDAK_BERMINAT, Stage.DORMAN),
    ],
)
def test_undeclared_move_is_refused_even_with_evidence(from_stage: str, to_stage: str) -> None:
    inst = _at(from_stage)
    # Evidence of everything: it does not open a move that is not declared.
    _follow_up(inst)
    _event(inst)
    got = _refused(inst, to_stage, NOTE)
    assert got == (
        f"Belum bisa pindah ke {Stage(to_stage).label}: "
        f"Dari tahap {Stage(from_stage).label} tidak bisa langsung ke {Stage(to_stage).label}."
    )


def test_unknown_and_same_stage_are_refused() -> None:
    inst = _at(Stage.KOMUNIKASI_AWAL)
    assert _refused(inst, "MENANG") == "Belum bisa pindah ke MENANG: Tahap tidak dikenal."
    assert (
        _refused(inst, Stage.KOMUNIKASI_AWAL)
        == "Belum bisa pindah ke Komunikasi awal: Lembaga sudah berada di tahap ini."
    )


# --- The finer points of each rule ----------------------------------------------------------------


def test_first_contact_must_be_done_not_planned() -> None:
    inst = _at(Stage.IDENTIFIKASI)
    f.activity(
        inst, ActivityKind.KOMUNIKASI_AWAL, status=ActivityStatus.PLANNED, starts_at=timezone.now() + timedelta(days=1)
    )
    assert _refused(inst, Stage.KOMUNIKASI_AWAL).endswith(_COMM_MISSING)
    # A done follow-up communication counts as a first contact too.
    f.activity(inst, ActivityKind.KOMUNIKASI_LANJUTAN)
    _move(inst, Stage.KOMUNIKASI_AWAL)
    assert inst.stage == Stage.KOMUNIKASI_AWAL


def test_audience_must_be_done_and_attended_by_the_branch_head() -> None:
    inst = _at(Stage.KOMUNIKASI_AWAL)
    _audience(inst, status=ActivityStatus.PLANNED, starts_at=timezone.now() + timedelta(days=2))
    assert _refused(inst, Stage.AUDIENSI) == (
        "Belum bisa pindah ke Audiensi: Belum ada audiensi yang selesai dengan lembaga ini."
    )
    # Done, but the Pinca was not there (a sales member was).
    f.activity(inst, ActivityKind.AUDIENSI, participants=[f.user("sales.c080101.1")])
    assert _refused(inst, Stage.AUDIENSI) == (
        "Belum bisa pindah ke Audiensi: Audiensi yang tercatat belum dihadiri Pemimpin Cabang."
    )
    _audience(inst)
    _move(inst, Stage.AUDIENSI)
    assert inst.stage == Stage.AUDIENSI


def test_audience_recorded_by_the_branch_head_counts_as_attended() -> None:
    inst = _at(Stage.KOMUNIKASI_AWAL)
    f.activity(inst, ActivityKind.AUDIENSI, actor=_pinca())
    _move(inst, Stage.AUDIENSI)
    assert inst.stage == Stage.AUDIENSI


def test_cooperation_needs_follow_up_after_the_latest_audience() -> None:
    inst = _at(Stage.AUDIENSI)
    now = timezone.now()
    _audience(inst, starts_at=now - timedelta(days=5))
    f.activity(inst, ActivityKind.KOMUNIKASI_LANJUTAN, starts_at=now - timedelta(days=4))
    _audience(inst, starts_at=now - timedelta(days=3))
    missing = "Belum bisa pindah ke Kerja sama: Belum ada komunikasi lanjutan yang selesai setelah audiensi."
    assert _refused(inst, Stage.KERJA_SAMA) == missing
    # Planned, or done but of another kind, does not count.
    f.activity(inst, ActivityKind.KOMUNIKASI_LANJUTAN, status=ActivityStatus.PLANNED, starts_at=now + timedelta(days=1))
    f.activity(inst, ActivityKind.KOMUNIKASI_AWAL, starts_at=now - timedelta(days=2))
    assert _refused(inst, Stage.KERJA_SAMA) == missing
    f.activity(inst, ActivityKind.KOMUNIKASI_LANJUTAN, starts_at=now - timedelta(days=1))
    _move(inst, Stage.KERJA_SAMA)
    assert inst.stage == Stage.KERJA_SAMA


def test_execution_needs_a_done_event_or_a_lead() -> None:
    missing = "Belum bisa pindah ke Eksekusi: Belum ada acara yang terlaksana atau prospek dari lembaga ini."
    by_event = _at(Stage.KERJA_SAMA)
    f.activity(
        by_event, ActivityKind.OPEN_BOOTH, status=ActivityStatus.PLANNED, starts_at=timezone.now() + timedelta(days=3)
    )
    f.activity(by_event, ActivityKind.KOMUNIKASI_LANJUTAN)  # not an event
    assert _refused(by_event, Stage.EKSEKUSI) == missing
    f.activity(by_event, ActivityKind.LITERASI, attendance=25)
    _move(by_event, Stage.EKSEKUSI)
    assert by_event.stage == Stage.EKSEKUSI

    by_lead = _at(Stage.KERJA_SAMA)
    assert _refused(by_lead, Stage.EKSEKUSI) == missing
    f.lead(by_lead)
    _move(by_lead, Stage.EKSEKUSI)
    assert by_lead.stage == Stage.EKSEKUSI


def test_maintenance_needs_an_active_plan_and_falls_back_only_after_it_ended() -> None:
    inst = _at(Stage.EKSEKUSI)
    today = timezone.localdate()
    plan = f.plan(inst, starts_on=today, today=today)
    _move(inst, Stage.MAINTENANCE)
    assert _refused(inst, Stage.EKSEKUSI) == (
        "Belum bisa pindah ke Eksekusi: Rencana maintenance masih aktif; akhiri dulu rencananya."
    )
    services.plan_end(actor=inst.me, plan=plan, reason="Kerja sama selesai")
    _move(inst, Stage.EKSEKUSI)
    assert inst.stage == Stage.EKSEKUSI
    # The ended plan no longer counts for MAINTENANCE.
    assert _refused(inst, Stage.MAINTENANCE) == (
        "Belum bisa pindah ke Maintenance: Belum ada rencana maintenance yang aktif untuk lembaga ini."
    )


@pytest.mark.parametrize("target", [Stage.TIDAK_BERMINAT, Stage.IDENTIFIKASI])
def test_a_written_reason_is_needed_for_not_interested_and_for_starting_over(target: str) -> None:
    inst = _at(Stage.KOMUNIKASI_AWAL if target == Stage.TIDAK_BERMINAT else Stage.DORMAN)
    label = Stage(target).label
    assert _refused(inst, target) == f"Belum bisa pindah ke {label}: Tuliskan alasannya."
    assert _refused(inst, target, "   ") == f"Belum bisa pindah ke {label}: Tuliskan alasannya."
    change = _move(inst, target, f"  {NOTE}  ")
    assert change.note == NOTE
    assert inst.stage == target


def test_dormant_only_after_ninety_quiet_days() -> None:
    now = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        inst = f.set_stage(f.institution_for(ME), Stage.KOMUNIKASI_AWAL, now - timedelta(days=150))
        f.activity(inst, ActivityKind.KOMUNIKASI_AWAL, starts_at=now - timedelta(days=200))
        f.activity(inst, ActivityKind.KUNJUNGAN_MAINTENANCE, starts_at=now - timedelta(days=DORMANT_AFTER_DAYS - 1))
        # A planned activity does not keep it awake.
        f.activity(inst, ActivityKind.AUDIENSI, status=ActivityStatus.PLANNED, starts_at=now + timedelta(days=5))
        assert _refused(inst, Stage.DORMAN) == (
            "Belum bisa pindah ke Dorman: Masih ada aktivitas yang selesai dalam 90 hari terakhir."
        )
    # Two days later the latest done activity is 91 days old.
    with time_machine.travel(now + timedelta(days=2), tick=False):
        _move(inst, Stage.DORMAN)
        assert inst.stage == Stage.DORMAN


def test_reactivation_needs_communication_after_becoming_dormant() -> None:
    now = timezone.now()
    inst = f.institution_for(ME)
    f.activity(inst, ActivityKind.KOMUNIKASI_AWAL, starts_at=now - timedelta(days=150))
    f.set_stage(inst, Stage.DORMAN, now - timedelta(days=10))
    f.activity(inst, ActivityKind.KOMUNIKASI_LANJUTAN, starts_at=now - timedelta(days=11))
    f.activity(inst, ActivityKind.KOMUNIKASI_AWAL, status=ActivityStatus.PLANNED, starts_at=now + timedelta(days=1))
    assert _refused(inst, Stage.KOMUNIKASI_AWAL) == (
        "Belum bisa pindah ke Komunikasi awal: Belum ada komunikasi yang selesai sejak lembaga ini dorman."
    )
    f.activity(inst, ActivityKind.KOMUNIKASI_AWAL, starts_at=now - timedelta(days=1))
    _move(inst, Stage.KOMUNIKASI_AWAL)
    assert inst.stage == Stage.KOMUNIKASI_AWAL


# --- Who may move ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "username", ["me.c080101.2", "sales.c080101.1", "pinca.c080102", "kry.c080101", "agen.c080101"]
)
def test_who_may_not_move(username: str) -> None:
    inst = _at(Stage.IDENTIFIKASI)
    _first_contact(inst)
    with pytest.raises(PermissionDenied):
        _move(inst, Stage.KOMUNIKASI_AWAL, actor=f.user(username))
    inst.refresh_from_db()
    assert inst.stage == Stage.IDENTIFIKASI
    assert not StageChange.objects.filter(institution=inst).exists()
    assert not AuditEvent.objects.filter(action="institution.stage", object_id=str(inst.pk)).exists()


@pytest.mark.parametrize("username", [ME, "pinca.c080101", "dba.a0801"])
def test_who_may_move(username: str) -> None:
    inst = _at(Stage.IDENTIFIKASI)
    _first_contact(inst)
    change = _move(inst, Stage.KOMUNIKASI_AWAL, actor=f.user(username))
    assert change.by_id == f.user(username).pk
    assert AuditEvent.objects.get(action="institution.stage", object_id=str(inst.pk)).actor_username == username


# --- Stage history and time in each stage ---------------------------------------------------------


def test_a_move_records_who_when_and_the_evidence_accepted() -> None:
    t0 = datetime(2026, 2, 2, 1, 0, tzinfo=UTC)
    with time_machine.travel(t0, tick=False) as clock:
        inst = f.institution_for(ME)
        clock.move_to(t0 + timedelta(days=4, hours=2))
        _first_contact(inst)
        change = _move(inst, Stage.KOMUNIKASI_AWAL)
        moved_at = timezone.now()
    assert change.at == moved_at
    assert change.by == inst.me
    assert change.evidence == "Komunikasi awal yang selesai"
    inst.refresh_from_db()
    assert inst.stage_since == moved_at

    rows = stage_history(inst, now=moved_at + timedelta(days=6, hours=23))
    assert [(r["stage"], r["days"], r["current"]) for r in rows] == [
        (Stage.IDENTIFIKASI, 4, False),
        (Stage.KOMUNIKASI_AWAL, 6, True),
    ]
    assert rows[0]["at"] == inst.created_at
    assert rows[1]["by"] == inst.me and rows[1]["from_label"] == "Identifikasi"


def test_days_in_each_stage_add_up_over_repeated_visits() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    inst = f.institution_for(ME)
    Institution.objects.filter(pk=inst.pk).update(created_at=t0)
    inst.refresh_from_db()
    me = inst.me
    for from_stage, to_stage, day in [
        (Stage.IDENTIFIKASI, Stage.KOMUNIKASI_AWAL, 10),
        (Stage.KOMUNIKASI_AWAL, Stage.DORMAN, 15),
        (Stage.DORMAN, Stage.KOMUNIKASI_AWAL, 115),
        (Stage.KOMUNIKASI_AWAL, Stage.AUDIENSI, 118),
    ]:
        StageChange.objects.create(
            institution=inst, from_stage=from_stage, to_stage=to_stage, at=t0 + timedelta(days=day), by=me
        )
    now = t0 + timedelta(days=130, hours=12)
    rows = stage_history(inst, now=now)
    assert [(r["stage"], r["days"]) for r in rows] == [
        (Stage.IDENTIFIKASI, 10),
        (Stage.KOMUNIKASI_AWAL, 5),
        (Stage.DORMAN, 100),
        (Stage.KOMUNIKASI_AWAL, 3),
        (Stage.AUDIENSI, 12),
    ]
    assert [r["current"] for r in rows] == [False, False, False, False, True]
    assert days_in_stage(inst, now=now) == {
        Stage.IDENTIFIKASI: 10,
        Stage.KOMUNIKASI_AWAL: 8,
        Stage.DORMAN: 100,
        Stage.AUDIENSI: 12,
    }


def test_history_of_an_institution_never_moved() -> None:
    inst = f.institution_for(ME)
    now = inst.created_at + timedelta(days=3, hours=5)
    rows = stage_history(inst, now=now)
    assert [(r["stage"], r["days"], r["current"], r["by"]) for r in rows] == [(Stage.IDENTIFIKASI, 3, True, None)]
    assert days_in_stage(inst, now=now) == {Stage.IDENTIFIKASI: 3}


def test_dormant_needs_ninety_days_in_the_stage_and_no_active_plan() -> None:
    """Quiet means quiet for the whole period: not an institution that just
    arrived in its stage, nor one whose maintenance visits are still planned."""
    fresh = _at(Stage.IDENTIFIKASI)
    assert _refused(fresh, Stage.DORMAN) == (
        "Belum bisa pindah ke Dorman: Lembaga baru 1 hari di tahap ini; "
        f"dorman berarti tanpa kegiatan selama {DORMANT_AFTER_DAYS} hari."
    )
    kept = _at(Stage.MAINTENANCE)
    _active_plan(kept)
    _long_in_stage(kept)
    assert _refused(kept, Stage.DORMAN) == (
        "Belum bisa pindah ke Dorman: Rencana maintenance masih aktif; akhiri dulu rencananya."
    )


def test_a_revived_institution_needs_fresh_evidence() -> None:
    """Back from DORMAN, the audience and follow-up of the engagement that went
    quiet do not count again: the path is walked anew."""
    inst = _at(Stage.KOMUNIKASI_AWAL)
    long_ago = timezone.now() - timedelta(days=400)
    _audience(inst, starts_at=long_ago)
    f.activity(inst, ActivityKind.KOMUNIKASI_LANJUTAN, starts_at=long_ago + timedelta(days=5))
    _long_in_stage(inst)
    _move(inst, Stage.DORMAN)
    f.activity(inst, ActivityKind.KOMUNIKASI_AWAL, starts_at=timezone.now() + timedelta(minutes=1))
    _move(inst, Stage.KOMUNIKASI_AWAL)
    assert _refused(inst, Stage.AUDIENSI) == (
        "Belum bisa pindah ke Audiensi: Belum ada audiensi yang selesai dengan lembaga ini."
    )
    _audience(inst, starts_at=timezone.now() + timedelta(minutes=2))
    _move(inst, Stage.AUDIENSI)
    assert inst.stage == Stage.AUDIENSI
