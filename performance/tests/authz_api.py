"""Authorisation-matrix entries of the performance REST API (collected by
tests/test_authz_matrix.py): targets, achievement, placements, tasks and ME
evaluations.

The rules encoded here (org/access.py; anonymous calls answer 401):

* targets: every role lists the targets it may read (200; who reads no
  performance sees only targets set for themselves). Setting them: who reads
  no performance (ME, Sales, Karyawan, Agen) is refused before the body is
  read (403); a unit outside the caller's scope is the same 400 as a missing
  one; in scope only the level above sets it (a branch's target: its area's
  DBA, 200), the others 403;
* achievement of a unit: the performance readers in scope 200, the others 403;
  outside the scope 404. Of an ME: who may open the ME's scorecard
  (``visible_mes``) 200, everyone else 404;
* placements (list, recommendation): DBA, Wilayah, Pusat, Auditor, Admin
  (``performance.view_placement``) 200, an area outside their scope 404, other
  roles 403. Applying moves: the area's DBA and Wilayah/Pusat (with a reason)
  201, Auditor and Admin 403, an area outside the scope 400 (an id in a body);
* tasks: listed by every role but Agen, Karyawan, Sales and Mitra (403); one
  task is 404 for them and outside the scope; created only by a branch head for
  their own branch's ME (201; an ME of another branch is a 400 id), 403 for
  every other role; updated by the branch head or the task's ME (200), 403 for
  the levels above in scope;
* evaluations: every role lists what it may read (200); written only by the
  branch head (201; an ME of another branch 400), 403 for the others.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from tests.authz import Endpoint

READERS = {"PUSAT", "WILAYAH", "DBA", "PINCA", "AUDITOR", "ADMIN", "MITRA"}
TASK_EXCLUDED = {"AGEN", "KARYAWAN", "SALES", "MITRA"}
PLACEMENT_VIEWERS = {"DBA", "WILAYAH", "PUSAT", "AUDITOR", "ADMIN"}
PLACERS = {"DBA", "WILAYAH", "PUSAT"}


def _ok(role: str, in_scope: bool) -> int:
    return 200


def target_set_rule(role: str, in_scope: bool) -> int:
    if role not in READERS:
        return 403
    if not in_scope:
        return 400
    return 200 if role == "DBA" else 403


def unit_achievement_rule(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 200 if role in READERS else 403


def me_achievement_rule(role: str, in_scope: bool) -> int:
    return 200 if in_scope and role not in TASK_EXCLUDED else 404


def placement_rule(role: str, in_scope: bool) -> int:
    return 200 if role in PLACEMENT_VIEWERS else 403


def area_placement_rule(role: str, in_scope: bool) -> int:
    if role not in PLACEMENT_VIEWERS:
        return 403
    return 200 if in_scope else 404


def apply_rule(role: str, in_scope: bool) -> int:
    if role not in PLACEMENT_VIEWERS:
        return 403
    if not in_scope:
        return 400
    return 201 if role in PLACERS else 403


def task_list_rule(role: str, in_scope: bool) -> int:
    return 403 if role in TASK_EXCLUDED else 200


def task_detail_rule(role: str, in_scope: bool) -> int:
    return 404 if role in TASK_EXCLUDED or not in_scope else 200


def task_update_rule(role: str, in_scope: bool) -> int:
    if role in TASK_EXCLUDED or not in_scope:
        return 404
    return 200 if role in ("PINCA", "ME") else 403


def branch_head_write_rule(role: str, in_scope: bool) -> int:
    if role != "PINCA":
        return 403
    return 201 if in_scope else 400


# --- Context helpers: objects under the context's branch, made on the fly -------------------------


def _branch(c: dict[str, Any]) -> Any:
    branch = c["branch"]
    assert branch is not None, "the matrix context has no branch"
    return branch


def _me_at(c: dict[str, Any]) -> Any:
    """An ME placed now at the context's branch: the user themselves when they are one."""
    from org.models import Placement

    placed = Placement.objects.filter(branch=_branch(c), valid_to__isnull=True).select_related("user")
    own = placed.filter(user__username=c["username"]).first()
    chosen = own or placed.order_by("user_id").first()
    assert chosen is not None, "no ME placed at the matrix branch"
    return chosen.user


def _month() -> str:
    return timezone.localdate().strftime("%Y-%m")


def _task_path(c: dict[str, Any]) -> str:
    from performance.services import task_assign

    task = task_assign(
        actor=None, me=_me_at(c), objective="Tugas matriks", due_on=timezone.localdate() + timedelta(days=7)
    )
    return f"/api/v1/tasks/{task.pk}/"


def _target_body(c: dict[str, Any]) -> dict[str, Any]:
    return {"kpi": "leads", "period": _month(), "rows": [{"unit": _branch(c).pk, "value": 5}]}


def _apply_body(c: dict[str, Any]) -> dict[str, Any]:
    from org.models import OrgUnit, UnitKind

    branch = _branch(c)
    other = (
        OrgUnit.objects.filter(parent_id=branch.parent_id, kind=UnitKind.CABANG, is_active=True)
        .exclude(pk=branch.pk)
        .order_by("code")
        .first()
    )
    assert other is not None
    return {
        "area": branch.parent_id,
        "moves": [{"me": _me_at(c).pk, "branch": other.pk}],
        "reason": "Uji matriks otorisasi",
    }


def _task_body(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "me": _me_at(c).pk,
        "objective": "Kunjungi lembaga",
        "due_on": (timezone.localdate() + timedelta(days=7)).isoformat(),
    }


def _evaluation_body(c: dict[str, Any]) -> dict[str, Any]:
    return {"me": _me_at(c).pk, "period": _month(), "rating": 4, "notes": "Baik."}


def _api(path: str) -> Any:
    return lambda c: f"/api/v1/{path}"


ENDPOINTS: list[Endpoint] = [
    Endpoint("target-list", "GET", _api("targets/"), _ok, anonymous=401),
    Endpoint(
        "target-list",
        "POST",
        _api("targets/"),
        target_set_rule,
        data=_target_body,
        anonymous=401,
        uses_object=True,
        json=True,
    ),
    Endpoint(
        "achievement",
        "GET",
        lambda c: f"/api/v1/achievement/?unit={_branch(c).pk}&children=1",
        unit_achievement_rule,
        anonymous=401,
        uses_object=True,
    ),
    Endpoint(
        "achievement",
        "GET",
        lambda c: f"/api/v1/achievement/?me={_me_at(c).pk}",
        me_achievement_rule,
        anonymous=401,
        uses_object=True,
    ),
    Endpoint("placement-list", "GET", _api("placements/"), placement_rule, anonymous=401),
    Endpoint(
        "placement-list",
        "GET",
        lambda c: f"/api/v1/placements/?area={_branch(c).parent_id}",
        area_placement_rule,
        anonymous=401,
        uses_object=True,
    ),
    Endpoint(
        "placement-recommendation",
        "GET",
        lambda c: f"/api/v1/placements/recommendation/?area={_branch(c).parent_id}",
        area_placement_rule,
        anonymous=401,
        uses_object=True,
    ),
    Endpoint(
        "placement-apply",
        "POST",
        _api("placements/apply/"),
        apply_rule,
        data=_apply_body,
        anonymous=401,
        uses_object=True,
        json=True,
    ),
    Endpoint("task-list", "GET", _api("tasks/"), task_list_rule, anonymous=401),
    Endpoint(
        "task-list",
        "POST",
        _api("tasks/"),
        branch_head_write_rule,
        data=_task_body,
        anonymous=401,
        uses_object=True,
        json=True,
    ),
    Endpoint("task-detail", "GET", _task_path, task_detail_rule, anonymous=401, uses_object=True),
    Endpoint(
        "task-detail",
        "PATCH",
        _task_path,
        task_update_rule,
        data=lambda c: {"status": "IN_PROGRESS", "progress_note": "Sedang dikerjakan"},
        anonymous=401,
        uses_object=True,
        json=True,
    ),
    Endpoint("evaluation-list", "GET", _api("evaluations/"), _ok, anonymous=401),
    Endpoint(
        "evaluation-list",
        "POST",
        _api("evaluations/"),
        branch_head_write_rule,
        data=_evaluation_body,
        anonymous=401,
        uses_object=True,
        json=True,
    ),
]
