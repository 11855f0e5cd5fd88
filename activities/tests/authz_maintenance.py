"""Authorisation-matrix entries for the maintenance-plan pages (collected by
tests/test_authz_matrix.py). The rules come from org/access.py: a plan is
made and changed by the Pinca of its branch or the ME responsible for it
(``activities.plan_maintenance`` / ``activities.change_plan``); only the Pinca
hands it to another ME; everybody in scope but an agent reads plans.

The demo network has no plans, so the in-scope and out-of-scope plan is made
here when the context has none (for the ME, one of their own)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.authz import Endpoint

PLANNERS = {"PINCA", "ME"}


def readers(role: str, in_scope: bool) -> int:
    return 403 if role == "AGEN" else 200


def plan_readers(role: str, in_scope: bool) -> int:
    # Plans are invisible to agents: 404 like one outside the scope.
    return 200 if in_scope and role != "AGEN" else 404


def planners(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 200 if role in PLANNERS else 403


def plan_changers(role: str, in_scope: bool) -> int:
    if not in_scope or role == "AGEN":
        return 404
    return 302 if role in PLANNERS else 403


def plan_reassigners(role: str, in_scope: bool) -> int:
    if not in_scope or role == "AGEN":
        return 404
    return 302 if role == "PINCA" else 403


def _make_plan(c: dict[str, Any]) -> Any:
    """An active plan under the target unit, on an institution of the user's own
    first (the ME case), made by the system through the service."""
    from django.db.models import Case, IntegerField, When
    from django.utils import timezone

    from activities import services
    from activities.models import PlanStatus
    from institutions.models import Institution, Stage
    from org.models import UnitKind

    target = c["target"]
    user_id = c["assignment"].user_id if c["assignment"] else None
    qs = Institution.objects.live().filter(me__isnull=False).exclude(maintenance_plans__status=PlanStatus.ACTIVE)
    if target.kind not in (UnitKind.PUSAT, UnitKind.UNIT_KERJA):
        qs = qs.filter(branch__path__startswith=target.path)
    inst = qs.order_by(Case(When(me_id=user_id, then=0), default=1, output_field=IntegerField()), "id").first()
    assert inst is not None, f"no institution with an ME under {target.code}"
    Institution.objects.filter(pk=inst.pk).update(stage=Stage.EKSEKUSI)
    inst.refresh_from_db()
    today = timezone.localdate()
    return services.plan_create(
        actor=None, institution=inst, me=inst.me, starts_on=today - timedelta(days=45), today=today
    )


def _plan(c: dict[str, Any]) -> Any:
    if "_plan" not in c:
        plan = c["plan"]
        a = c["assignment"]
        if plan is None or (a is not None and a.role == "ME" and plan.me_id != a.user_id):
            plan = _make_plan(c)
        c["_plan"] = plan
    return c["_plan"]


def _other_me(c: dict[str, Any]) -> dict[str, Any]:
    from activities import selectors

    plan = _plan(c)
    mes = selectors.mes_of_branch(plan.branch)
    other = next((m for m in mes if m.pk != plan.me_id), plan.me)
    return {"me": other.pk}


ENDPOINTS: list[Endpoint] = [
    Endpoint("activities:plans", "GET", lambda c: "/aktivitas/maintenance/", readers),
    Endpoint(
        "activities:plan-create",
        "GET",
        lambda c: f"/aktivitas/maintenance/baru/?institution={c['institution'].pk}",
        planners,
        uses_object=True,
    ),
    Endpoint(
        "activities:plan-detail",
        "GET",
        lambda c: f"/aktivitas/maintenance/{_plan(c).pk}/",
        plan_readers,
        uses_object=True,
    ),
    Endpoint(
        "activities:plan-end",
        "POST",
        lambda c: f"/aktivitas/maintenance/{_plan(c).pk}/akhiri/",
        plan_changers,
        data=lambda c: {"reason": "Kerja sama dihentikan lembaga"},
        uses_object=True,
    ),
    Endpoint(
        "activities:plan-reassign",
        "POST",
        lambda c: f"/aktivitas/maintenance/{_plan(c).pk}/alihkan/",
        plan_reassigners,
        data=_other_me,
        uses_object=True,
    ),
]
