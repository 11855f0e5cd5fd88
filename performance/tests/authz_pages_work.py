"""Authorisation-matrix entries for the ME work pages of the performance module
(tasks and placement; collected by tests/test_authz_matrix.py). The rules come
from org/access.py:

* tasks are read by every role but Agen, Karyawan, Sales and Mitra, in scope
  (an ME: only their own); the list answers 403 to the roles that read none,
  a task outside what the user reads answers 404;
* ``performance.assign_task``: only the branch's own Pinca (the branch is
  ``?cabang=``; out of scope 404, anyone else 403);
* ``performance.update_task``: the branch's Pinca or the task's ME;
* ``performance.view_placement``: DBA, Wilayah, Pusat, Auditor, Admin in scope;
  ``performance.apply_placement``: the area's own DBA, Wilayah/Pusat in scope.
  An area is outside every branch role's scope (404).

The task is made on the fly in the case's branch (given to the user when they
are an ME placed there), and rolled back with the test; the placement POST
applies the first move of the area's fresh recommendation, confirmed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.authz import Endpoint

TASK_BLIND = {"AGEN", "KARYAWAN", "SALES", "MITRA"}
PLACEMENT_VIEWERS = {"DBA", "WILAYAH", "PUSAT", "AUDITOR", "ADMIN"}
PLACEMENT_APPLIERS = {"DBA", "WILAYAH", "PUSAT"}
AREA_BLIND = {"PINCA", "ME", "SALES", "KARYAWAN", "AGEN"}


def task_readers(role: str, in_scope: bool) -> int:
    return 403 if role in TASK_BLIND else 200


def assigners(ok_status: int) -> Any:
    def _expect(role: str, in_scope: bool) -> int:
        if not in_scope:
            return 404
        return ok_status if role == "PINCA" else 403

    return _expect


def task_viewers(role: str, in_scope: bool) -> int:
    return 200 if in_scope and role not in TASK_BLIND else 404


def task_updaters(role: str, in_scope: bool) -> int:
    if not in_scope or role in TASK_BLIND:
        return 404
    return 302 if role in ("PINCA", "ME") else 403


def placement_viewers(role: str, in_scope: bool) -> int:
    if not in_scope or role in AREA_BLIND:
        return 404
    return 200 if role in PLACEMENT_VIEWERS else 403


def placement_appliers(role: str, in_scope: bool) -> int:
    if not in_scope or role in AREA_BLIND:
        return 404
    return 302 if role in PLACEMENT_APPLIERS else 403


def _branch(c: dict[str, Any]) -> Any:
    """A branch under the case's target (the target itself when it is one)."""
    from org.models import OrgUnit, UnitKind

    target = c["target"]
    if target.kind == UnitKind.CABANG:
        return target
    if target.kind in (UnitKind.PUSAT, UnitKind.UNIT_KERJA):
        return c["branch"] or OrgUnit.objects.filter(kind=UnitKind.CABANG).order_by("id").first()
    return OrgUnit.objects.filter(kind=UnitKind.CABANG, path__startswith=target.path).order_by("id").first()


def _area(c: dict[str, Any]) -> Any:
    from org.models import OrgUnit, UnitKind

    target = c["target"]
    if target.kind == UnitKind.AREA:
        return target
    if target.kind == UnitKind.CABANG:
        return target.parent
    if target.kind == UnitKind.WILAYAH:
        return OrgUnit.objects.filter(kind=UnitKind.AREA, parent=target).order_by("code").first()
    return OrgUnit.objects.filter(kind=UnitKind.AREA).order_by("code").first()


def _me_of(c: dict[str, Any]) -> Any:
    from performance.selectors import current_mes

    mes = current_mes(_branch(c))
    own = [u for u in mes if u.username == c["username"]]
    assert mes, f"the matrix needs an ME placed at {_branch(c).code}"
    return (own or mes)[0]


def _task(c: dict[str, Any]) -> Any:
    if "_task" not in c:
        from django.utils import timezone

        from performance.services import task_assign

        c["_task"] = task_assign(
            actor=None,
            me=_me_of(c),
            objective="Matriks: audiensi",
            due_on=timezone.localdate() + dt.timedelta(days=7),
        )
    return c["_task"]


def _new_task(c: dict[str, Any]) -> dict[str, Any]:
    from django.utils import timezone

    return {
        "cabang": _branch(c).pk,
        "me": _me_of(c).pk,
        "objective": "Matriks: tugas baru",
        "due_on": (timezone.localdate() + dt.timedelta(days=7)).isoformat(),
    }


def _apply(c: dict[str, Any]) -> dict[str, Any]:
    from django.utils import timezone

    from performance.placement import recommend

    # Out-of-scope and refused cases answer before the moves are read; an area
    # without a recommended move posts none (the allowed cases' area A0801 has one).
    rec = recommend(_area(c))
    return {
        "moves": [rec.moves[0].me.pk] if rec.moves else [],
        "valid_from": timezone.localdate().isoformat(),
        "reason": "Matriks",
        "confirm": "1",
    }


ENDPOINTS: list[Endpoint] = [
    Endpoint("performance:tasks", "GET", lambda c: "/kinerja/tugas/", task_readers),
    Endpoint(
        "performance:task-create",
        "GET",
        lambda c: f"/kinerja/tugas/baru/?cabang={_branch(c).pk}",
        assigners(200),
        uses_object=True,
    ),
    Endpoint(
        "performance:task-create",
        "POST",
        lambda c: "/kinerja/tugas/baru/",
        assigners(302),
        data=_new_task,
        uses_object=True,
    ),
    Endpoint("performance:task", "GET", lambda c: f"/kinerja/tugas/{_task(c).pk}/", task_viewers, uses_object=True),
    Endpoint(
        "performance:task",
        "POST",
        lambda c: f"/kinerja/tugas/{_task(c).pk}/",
        task_updaters,
        data=lambda c: {"status": "IN_PROGRESS", "progress_note": "Sudah dihubungi."},
        uses_object=True,
    ),
    Endpoint(
        "performance:placement",
        "GET",
        lambda c: f"/kinerja/penempatan/{_area(c).pk}/",
        placement_viewers,
        uses_object=True,
    ),
    Endpoint(
        "performance:placement-apply",
        "POST",
        lambda c: f"/kinerja/penempatan/{_area(c).pk}/terapkan/",
        placement_appliers,
        data=_apply,
        uses_object=True,
    ),
]
