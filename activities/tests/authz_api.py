"""Authorisation-matrix entries for the activities REST API (collected by
tests/test_authz_matrix.py): ``/api/v1/activities/``, ``/events/``,
``/maintenance-plans/`` and ``/leads/``.

The rules encoded here (org/access.py):

* everyone with a role lists; each list is scoped (Agen sees no activities,
  events or plans; Agen, Karyawan and Mitra get no leads);
* an object outside the caller's scope is 404 before any role check, and so is
  an activity or plan for the Agen (nothing of it is visible to them);
* only the ME and the Pinca record work (activities, events, plans, leads): any
  other role is refused (403) before the body is read; an institution outside
  the caller's scope is an unknown id (400);
* the ME changes only their own records, the Pinca those of their branch; the
  others read (DBA and above, Auditor, Admin, Mitra, Sales, Karyawan) and are
  refused writes (403);
* a lead in scope is refused (403) to Agen, Karyawan and Mitra; a sales member
  updates the status of the leads handed to them.

The in-scope object of each role is its own work first (``_context`` orders the
user's own rows first; the lead PATCH and the plan POST pick their own below).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Case, IntegerField, Q, When
from django.utils import timezone

from tests.authz import Endpoint, ok

RECORDERS = {"PINCA", "ME"}
NO_ACTIVITIES = {"AGEN"}
NO_LEADS = {"AGEN", "KARYAWAN", "MITRA"}
LEAD_UPDATERS = {"PINCA", "ME", "SALES"}
# The smallest JPEG header the evidence check recognises.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64


def create_rule(role: str, in_scope: bool) -> int:
    if role not in RECORDERS:
        return 403
    return 201 if in_scope else 400


def read_rule(role: str, in_scope: bool) -> int:
    if not in_scope or role in NO_ACTIVITIES:
        return 404
    return 200


def change_rule(role: str, in_scope: bool) -> int:
    if not in_scope or role in NO_ACTIVITIES:
        return 404
    return 200 if role in RECORDERS else 403


def evidence_rule(role: str, in_scope: bool) -> int:
    status = change_rule(role, in_scope)
    return 201 if status == 200 else status


def lead_read_rule(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 403 if role in NO_LEADS else 200


def lead_update_rule(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 200 if role in LEAD_UPDATERS else 403


# --- What each request acts on ------------------------------------------------------------------


def _pk(obj: Any) -> int:
    return obj.pk if obj is not None else 0  # missing demo data: a 404 names it


def _under_target(qs: Any, c: dict[str, Any]) -> Any:
    from org.models import UnitKind

    target = c["target"]
    if target.kind in (UnitKind.PUSAT, UnitKind.UNIT_KERJA):  # head-office roles see every branch
        return qs
    return qs.filter(branch__path__startswith=target.path)


def _own_first(*own: Q) -> Any:
    mine = Q()
    for q in own:
        mine |= q
    return Case(When(mine, then=0), default=1, output_field=IntegerField())


def _me_of(inst: Any) -> int | None:
    """The institution's ME, else an ME posted to its branch (the Pinca names one)."""
    from org.models import Placement

    if inst is None:
        return None
    if inst.me_id:
        return int(inst.me_id)
    placement = Placement.objects.filter(branch_id=inst.branch_id, valid_to__isnull=True).order_by("id").first()
    return placement.user_id if placement else None


def _sales_of(inst: Any) -> list[int]:
    from org.models import Role, RoleAssignment

    if inst is None:
        return []
    ids = (
        RoleAssignment.objects.active()
        .filter(unit_id=inst.branch_id, role=Role.SALES)
        .values_list("user_id", flat=True)
    )
    return sorted(ids)[:1]


def _tomorrow(days: int = 1) -> str:
    return (timezone.now() + timedelta(days=days)).replace(microsecond=0).isoformat()


def _activity_body(c: dict[str, Any]) -> dict[str, Any]:
    inst = c["institution"]
    return {
        "kind": "KOMUNIKASI_AWAL",
        "starts_at": _tomorrow(),
        "institution": _pk(inst),
        "me": _me_of(inst),
        "place": "Kantor lembaga",
        "title": f"Perkenalan oleh {c['username']}",
    }


def _event_body(c: dict[str, Any]) -> dict[str, Any]:
    inst = c["institution"]
    return {
        "kind": "SOSIALISASI",
        "starts_at": _tomorrow(3),
        "institution": _pk(inst),
        "me": _me_of(inst),
        "place": "Aula lembaga",
        "title": "Sosialisasi Tabungan Emas",
        "products": ["TABUNGAN_EMAS", "CICIL_EMAS"],
        "attendance": 80,
        "participants": _sales_of(inst),
    }


def _evidence_body(c: dict[str, Any]) -> dict[str, Any]:
    return {"evidence": SimpleUploadedFile("bukti-matriks.jpg", JPEG, content_type="image/jpeg")}


def _plan_institution(c: dict[str, Any]) -> Any:
    """An executed institution without an active plan under the target (the
    user's own first); the context's institution when there is none."""
    from activities.models import PlanStatus
    from institutions.models import Institution, Stage

    user_id = c["assignment"].user_id if c.get("assignment") else None
    qs = (
        _under_target(Institution.objects.live(), c)
        .filter(stage__in=(Stage.EKSEKUSI, Stage.MAINTENANCE))
        .exclude(maintenance_plans__status=PlanStatus.ACTIVE)
    )
    inst = qs.order_by(_own_first(Q(me_id=user_id)), "id").first()
    return inst or c["institution"]


def _plan_body(c: dict[str, Any]) -> dict[str, Any]:
    inst = _plan_institution(c)
    return {
        "institution": _pk(inst),
        "me": _me_of(inst),
        "frequency": "MONTHLY",
        "starts_on": (timezone.localdate() + timedelta(days=1)).isoformat(),
        "grace_days": 7,
    }


def _lead_body(c: dict[str, Any]) -> dict[str, Any]:
    inst = c["institution"]
    return {
        "institution": _pk(inst),
        "me": _me_of(inst),
        "name": "Siti Rahmawati",
        "phone": "0812-1111-2233",
        "product": "TABUNGAN_EMAS",
        "purpose": "Menghubungi calon nasabah yang berminat Tabungan Emas",
        "lawful_basis": "PERSETUJUAN",
    }


def _open_lead(c: dict[str, Any]) -> Any:
    """An open lead under the target: one the user collected or was handed first."""
    from activities.models import OPEN_LEAD_STATUSES, Lead

    user_id = c["assignment"].user_id if c.get("assignment") else None
    qs = _under_target(Lead.objects.filter(status__in=OPEN_LEAD_STATUSES), c)
    return qs.order_by(_own_first(Q(me_id=user_id), Q(assigned_to_id=user_id)), "id").first()


def _lead_status_body(c: dict[str, Any]) -> dict[str, Any]:
    from activities.services import lead_transitions

    lead = _open_lead(c)
    nxt = lead_transitions(lead.status)[0] if lead is not None else "DIHUBUNGI"
    return {"status": nxt, "note": f"Ditindaklanjuti oleh {c['username']}."}


ENDPOINTS: list[Endpoint] = [
    # Activities
    Endpoint("activity-list", "GET", lambda c: "/api/v1/activities/", ok, anonymous=401),
    Endpoint(
        "activity-list",
        "POST",
        lambda c: "/api/v1/activities/",
        create_rule,
        data=_activity_body,
        anonymous=401,
        uses_object=True,
        json=True,
    ),
    Endpoint(
        "activity-detail",
        "GET",
        lambda c: f"/api/v1/activities/{_pk(c['activity'])}/",
        read_rule,
        anonymous=401,
        uses_object=True,
    ),
    Endpoint(
        "activity-detail",
        "PATCH",
        lambda c: f"/api/v1/activities/{_pk(c['activity'])}/",
        change_rule,
        data=lambda c: {"outcome": f"Hasil diperbarui oleh {c['username']} lewat API.", "next_step": "Tindak lanjut"},
        anonymous=401,
        uses_object=True,
        json=True,
    ),
    Endpoint(
        "activity-evidence",
        "POST",
        lambda c: f"/api/v1/activities/{_pk(c['activity'])}/evidence/",
        evidence_rule,
        data=_evidence_body,
        anonymous=401,
        uses_object=True,
    ),
    # Events
    Endpoint("event-list", "GET", lambda c: "/api/v1/events/", ok, anonymous=401),
    Endpoint(
        "event-list",
        "POST",
        lambda c: "/api/v1/events/",
        create_rule,
        data=_event_body,
        anonymous=401,
        uses_object=True,
        json=True,
    ),
    Endpoint(
        "event-detail",
        "GET",
        lambda c: f"/api/v1/events/{_pk(c['event'])}/",
        read_rule,
        anonymous=401,
        uses_object=True,
    ),
    # Maintenance plans
    Endpoint("maintenance-plan-list", "GET", lambda c: "/api/v1/maintenance-plans/", ok, anonymous=401),
    Endpoint(
        "maintenance-plan-list",
        "POST",
        lambda c: "/api/v1/maintenance-plans/",
        create_rule,
        data=_plan_body,
        anonymous=401,
        uses_object=True,
        json=True,
    ),
    Endpoint(
        "maintenance-plan-detail",
        "GET",
        lambda c: f"/api/v1/maintenance-plans/{_pk(c['plan'])}/",
        read_rule,
        anonymous=401,
        uses_object=True,
    ),
    Endpoint(
        "maintenance-plan-end",
        "POST",
        lambda c: f"/api/v1/maintenance-plans/{_pk(c['plan'])}/end/",
        change_rule,
        data=lambda c: {"reason": f"Kerja sama selesai (uji matriks {c['username']})."},
        anonymous=401,
        uses_object=True,
        json=True,
    ),
    # Leads
    Endpoint("lead-list", "GET", lambda c: "/api/v1/leads/", ok, anonymous=401),
    Endpoint(
        "lead-list",
        "POST",
        lambda c: "/api/v1/leads/",
        create_rule,
        data=_lead_body,
        anonymous=401,
        uses_object=True,
        json=True,
    ),
    Endpoint(
        "lead-detail",
        "GET",
        lambda c: f"/api/v1/leads/{_pk(c['lead'])}/",
        lead_read_rule,
        anonymous=401,
        uses_object=True,
    ),
    Endpoint(
        "lead-detail",
        "PATCH",
        lambda c: f"/api/v1/leads/{_pk(_open_lead(c))}/",
        lead_update_rule,
        data=_lead_status_body,
        anonymous=401,
        uses_object=True,
        json=True,
    ),
]
