"""Authorisation-matrix entries for the ME's day, the activity pages, calendars,
the branch's day and the pipeline board (collected by tests/test_authz_matrix.py).

The rules come from org/access.py: the ME records on what is assigned to them
and the Pinca on their branch (``activities.create``/``create_for``/``change``);
Agen see no activities at all (their scope holds none: 404); the branch's day is
for the Pinca and the levels above (``activities.monitor``); stage moves follow
``institutions.move_stage`` (managers in scope, the ME on their own)."""

from __future__ import annotations

from tests.authz import Endpoint, ok

RECORDERS = {"PINCA", "ME"}
MONITORS = {"PINCA", "DBA", "WILAYAH", "PUSAT", "AUDITOR", "ADMIN", "MITRA"}
STAGE_MOVERS = {"PINCA", "DBA", "WILAYAH", "PUSAT", "ME"}


def today(role: str, in_scope: bool) -> int:
    return 200 if role in {"ME", "SALES"} else 302  # the Pinca goes to the branch's day, others to the calendar


def recorders(role: str, in_scope: bool) -> int:
    return 200 if role in RECORDERS else 403


def recorder_on_object(role: str, in_scope: bool) -> int:
    if role not in RECORDERS:
        return 403
    return 200 if in_scope else 404


def activity_reader(role: str, in_scope: bool) -> int:
    if role == "AGEN" or not in_scope:
        return 404
    return 200


def activity_writer(ok_status: int):  # type: ignore[no-untyped-def]
    def expect(role: str, in_scope: bool) -> int:
        if role == "AGEN" or not in_scope:
            return 404
        return ok_status if role in RECORDERS else 403

    return expect


def calendar(role: str, in_scope: bool) -> int:
    return 403 if role == "AGEN" else 200


def monitor(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 200 if role in MONITORS else 403


def board(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 403 if role == "AGEN" else 200


def stage_mover(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 302 if role in STAGE_MOVERS else 403


def _act(c: dict) -> int:
    return c["activity"].pk


ENDPOINTS: list[Endpoint] = [
    Endpoint("activities:today", "GET", lambda c: "/aktivitas/hari-ini/", today),
    Endpoint("activities:log", "GET", lambda c: "/aktivitas/catat/", recorders),
    Endpoint(
        "activities:log",
        "GET",
        lambda c: f"/aktivitas/catat/?institution={c['institution'].pk}",
        recorder_on_object,
        uses_object=True,
    ),
    Endpoint("activities:institution-lookup", "GET", lambda c: "/aktivitas/pilih-lembaga/?q=a", ok),
    Endpoint("activities:detail", "GET", lambda c: f"/aktivitas/{_act(c)}/", activity_reader, uses_object=True),
    Endpoint("activities:edit", "GET", lambda c: f"/aktivitas/{_act(c)}/ubah/", activity_writer(200), uses_object=True),
    # No file sent: the service refuses it and the page redirects back with the message.
    Endpoint(
        "activities:evidence-add",
        "POST",
        lambda c: f"/aktivitas/{_act(c)}/bukti/",
        activity_writer(302),
        uses_object=True,
    ),
    Endpoint(
        "activities:evidence-file",
        "GET",
        lambda c: f"/aktivitas/{_act(c)}/bukti/{c['evidence'].pk}/",
        activity_reader,
        uses_object=True,
    ),
    Endpoint("activities:calendar", "GET", lambda c: "/aktivitas/kalender/?view=month", calendar),
    Endpoint(
        "activities:calendar",
        "GET",
        lambda c: f"/aktivitas/kalender/?branch={c['branch'].pk}",
        lambda role, in_scope: 403 if role == "AGEN" else (200 if in_scope else 404),
        uses_object=True,
    ),
    Endpoint(
        "activities:branch-day",
        "GET",
        lambda c: f"/aktivitas/cabang/{c['branch'].pk}/harian/",
        monitor,
        uses_object=True,
    ),
    Endpoint(
        "activities:pipeline", "GET", lambda c: f"/aktivitas/cabang/{c['branch'].pk}/pipeline/", board, uses_object=True
    ),
    # TIDAK_BERMINAT without a reason: refused by the rule, so nothing changes; the page redirects with the message.
    Endpoint(
        "activities:stage-move",
        "POST",
        lambda c: f"/aktivitas/lembaga/{c['institution'].pk}/tahap/",
        stage_mover,
        data=lambda c: {"to_stage": "TIDAK_BERMINAT"},
        uses_object=True,
    ),
]
