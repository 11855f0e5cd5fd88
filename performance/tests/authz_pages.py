"""Authorisation-matrix entries for the performance dashboards and the ME
scorecard (collected by tests/test_authz_matrix.py). The rules come from
org/access.py:

* ``performance.view`` / ``performance.view_unit``: Pusat, Wilayah, DBA, Pinca,
  Auditor, Admin and Mitra read the dashboards of the units in their scope;
  out of scope answers 404 before the role's 403 (ME, Sales, Karyawan, Agen);
* "Kinerja" (``home``) sends a reader to their unit's dashboard and an ME to
  their own scorecard; the other roles get 403;
* ``get_me_for_user``: a scorecard opens for the MEs placed in scope (an ME:
  only their own); Sales, Karyawan, Agen and Mitra see none (404);
* ``performance.evaluate_me``: only the Pinca of the ME's branch evaluates (302),
  the other readers in scope get 403.
"""

from __future__ import annotations

from typing import Any

from tests.authz import Endpoint

READERS = {"PUSAT", "WILAYAH", "DBA", "PINCA", "AUDITOR", "ADMIN", "MITRA"}
NO_SCORECARDS = {"SALES", "KARYAWAN", "AGEN", "MITRA"}


def home_rule(role: str, in_scope: bool) -> int:
    return 302 if role in READERS or role == "ME" else 403


def unit_rule(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 200 if role in READERS else 403


def scorecard_rule(role: str, in_scope: bool) -> int:
    if not in_scope or role in NO_SCORECARDS:
        return 404
    return 200


def evaluate_rule(role: str, in_scope: bool) -> int:
    if not in_scope or role in NO_SCORECARDS:
        return 404
    return 302 if role == "PINCA" else 403


def _dashboard_unit(c: dict[str, Any]) -> Any:
    """The case's target, or the Pusat root for a head-office work unit (no dashboard of its own)."""
    from org.models import OrgUnit, UnitKind

    target = c["target"]
    if target.kind == UnitKind.UNIT_KERJA:
        return OrgUnit.objects.get(parent__isnull=True)
    return target


def _me(c: dict[str, Any]) -> Any:
    """An ME placed now under the case's target: the user themselves first (an ME's own scorecard)."""
    from django.db.models import Case, IntegerField, When

    from org.models import Placement, UnitKind

    target = c["target"]
    user_id = c["assignment"].user_id if c["assignment"] else None
    placed = Placement.objects.filter(valid_to__isnull=True)
    if target.kind not in (UnitKind.PUSAT, UnitKind.UNIT_KERJA):
        placed = placed.filter(branch__path__startswith=target.path)
    placement = placed.order_by(
        Case(When(user_id=user_id, then=0), default=1, output_field=IntegerField()), "id"
    ).first()
    assert placement is not None, f"demo data: an ME placed under {target.code}"
    return placement.user


def _evaluation(c: dict[str, Any]) -> dict[str, Any]:
    from django.utils import timezone

    from performance.periods import Period

    return {"period": Period.of(timezone.localdate()).code, "rating": "4", "notes": "Matriks: evaluasi bulanan."}


ENDPOINTS: list[Endpoint] = [
    Endpoint("performance:home", "GET", lambda c: "/kinerja/", home_rule),
    Endpoint(
        "performance:unit", "GET", lambda c: f"/kinerja/unit/{_dashboard_unit(c).pk}/", unit_rule, uses_object=True
    ),
    Endpoint(
        "performance:unit-xlsx",
        "GET",
        lambda c: f"/kinerja/unit/{_dashboard_unit(c).pk}/xlsx/",
        unit_rule,
        uses_object=True,
    ),
    Endpoint("performance:me", "GET", lambda c: f"/kinerja/me/{_me(c).pk}/", scorecard_rule, uses_object=True),
    Endpoint(
        "performance:me-evaluate",
        "POST",
        lambda c: f"/kinerja/me/{_me(c).pk}/evaluasi/",
        evaluate_rule,
        data=_evaluation,
        uses_object=True,
    ),
]
