"""Authorisation-matrix entries for the events and leads pages (collected by
tests/test_authz_matrix.py). The rules come from org/access.py:

* leads are personal data: not for Agen, Karyawan or Mitra (their list pages
  answer 403, a lead of their branch 403, anything out of scope 404);
* create_lead: the Pinca of the branch, or the ME on an institution assigned to them;
* assign_lead and erase_lead: the Pinca of the branch, or the ME who collected it;
* update_lead (status): those, and the sales member it was handed to;
* events: everyone who sees activities (not Agen).

The lead each case acts on is chosen to make the rule's in-scope case real: the
ME's own lead, the lead handed to the sales member, an open one (so a status
move and a hand-off are possible). Demo data has such leads; when it does not,
one is recorded through the services (the test's transaction drops it).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from tests.authz import Endpoint

NO_LEADS = {"AGEN", "KARYAWAN", "MITRA"}
LEAD_CREATORS = {"PINCA", "ME"}
LEAD_OWNERS = {"PINCA", "ME"}  # assign and erase
LEAD_UPDATERS = {"PINCA", "ME", "SALES"}


def lead_readers(role: str, in_scope: bool) -> int:
    return 403 if role in NO_LEADS else 200


def event_readers(role: str, in_scope: bool) -> int:
    return 403 if role == "AGEN" else 200


def creators(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 200 if role in LEAD_CREATORS else 403


def scoped_lead_readers(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 403 if role in NO_LEADS else 200


def _writers(allowed: set[str]) -> Any:
    def expect(role: str, in_scope: bool) -> int:
        if not in_scope:
            return 404
        return 302 if role in allowed else 403

    return expect


def _lead(c: dict[str, Any]) -> Any:
    """An open lead under the target for this case (cached in the context)."""
    if "_lead" in c:
        return c["_lead"]
    from activities.models import OPEN_LEAD_STATUSES, Lead
    from org.models import Role, UnitKind

    target = c["target"]
    a = c["assignment"]
    qs = Lead.objects.filter(status__in=OPEN_LEAD_STATUSES, erased_at__isnull=True, anonymised_at__isnull=True)
    if target.kind not in (UnitKind.PUSAT, UnitKind.UNIT_KERJA):
        qs = qs.filter(branch__path__startswith=target.path)
    own_case = a is not None and a.unit_id == target.pk
    wants: Q = Q()
    if own_case and a.role == Role.ME:
        wants = Q(me_id=a.user_id)
    elif own_case and a.role == Role.SALES:
        wants = Q(assigned_to_id=a.user_id)
    lead = qs.filter(wants).select_related("branch").order_by("id").first()
    if lead is None:
        lead = _record_lead(c, own_case)
    c["_lead"] = lead
    return lead


def _record_lead(c: dict[str, Any], own_case: bool) -> Any:
    from activities import services
    from activities.selectors import mes_of_branch
    from institutions.models import Institution
    from org.models import Role, User

    a = c["assignment"]
    inst = c["institution"]
    me = None
    if own_case and a.role == Role.ME:
        inst = Institution.objects.live().filter(me_id=a.user_id).order_by("id").first() or inst
        me = User.objects.get(pk=a.user_id)
    assert inst is not None, f"no institution under {c['target'].code}"
    if me is None:
        me = inst.me or next(iter(mes_of_branch(inst.branch)), None)
    lead, _created = services.lead_create(
        actor=None,
        institution=inst,
        me=me,
        name="Calon Nasabah Matriks",
        phone="081234567890",
        product="TABUNGAN_EMAS",
        purpose="Uji matriks otorisasi",
        lawful_basis="PERSETUJUAN",
    )
    if own_case and a.role == Role.SALES:
        lead = services.lead_assign(actor=None, lead=lead, assignee=User.objects.get(pk=a.user_id))
    return lead


def _lead_path(suffix: str = "") -> Any:
    return lambda c: f"/aktivitas/prospek/{_lead(c).pk}/{suffix}"


def _assign_data(c: dict[str, Any]) -> dict[str, Any]:
    from activities.selectors import sales_of_branch

    lead = _lead(c)
    sales = sales_of_branch(lead.branch_id)
    return {"assigned_to": sales[0].pk if sales else "", "due_on": ""}


def _status_data(c: dict[str, Any]) -> dict[str, Any]:
    from activities.services import lead_transitions

    nexts = lead_transitions(_lead(c).status)
    return {"status": nexts[0] if nexts else "", "note": ""}


def _create_path(c: dict[str, Any]) -> str:
    return f"/aktivitas/prospek/baru/?institution={c['institution'].pk}"


ENDPOINTS: list[Endpoint] = [
    Endpoint("activities:events", "GET", lambda c: "/aktivitas/acara/?when=past", event_readers),
    Endpoint("activities:leads", "GET", lambda c: "/aktivitas/prospek/?status=open&assigned=all", lead_readers),
    Endpoint("activities:conversion", "GET", lambda c: "/aktivitas/prospek/konversi/?by=branch", lead_readers),
    Endpoint("activities:lead-create", "GET", _create_path, creators, uses_object=True),
    Endpoint("activities:lead-detail", "GET", _lead_path(), scoped_lead_readers, uses_object=True),
    Endpoint(
        "activities:lead-assign",
        "POST",
        _lead_path("serahkan/"),
        _writers(LEAD_OWNERS),
        data=_assign_data,
        uses_object=True,
    ),
    Endpoint(
        "activities:lead-status",
        "POST",
        _lead_path("status/"),
        _writers(LEAD_UPDATERS),
        data=_status_data,
        uses_object=True,
    ),
    Endpoint(
        "activities:lead-erase",
        "POST",
        _lead_path("hapus/"),
        _writers(LEAD_OWNERS),
        data=lambda c: {"reason": "Permintaan subjek data No. 1/PDP"},
        uses_object=True,
    ),
    Endpoint(
        "activities:lead-restrict",
        "POST",
        _lead_path("batasi/"),
        _writers(LEAD_OWNERS),
        data=lambda c: {"reason": "Permintaan subjek data No. 2/PDP"},
        uses_object=True,
    ),
]
