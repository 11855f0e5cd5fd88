"""Authorisation-matrix entries for this part of the institutions module
(collected by tests/test_authz_matrix.py): the REST API under
``/api/v1/institutions/``.

The rules encoded here (org/access.py): everyone with a role lists and reads
what is in their scope; PUSAT, WILAYAH, DBA, PINCA and ME register institutions
(a branch outside the caller's scope is an unknown id: 400); the same roles
manage contacts and move an institution through the pipeline (the ME only on
institutions assigned to them); AGEN, KARYAWAN and MITRA do not read contacts.
Out of scope is 404 before any role check.

``PATCH_ENDPOINTS`` (updates) run in the shared matrix too, and again in
institutions/tests/test_api.py.
"""

from __future__ import annotations

from typing import Any

from tests.authz import Endpoint, ok, scoped_ok

WRITERS = {"PUSAT", "WILAYAH", "DBA", "PINCA", "ME"}
NO_CONTACT_READ = {"AGEN", "KARYAWAN", "MITRA"}


def create_rule(role: str, in_scope: bool) -> int:
    if role not in WRITERS:
        return 403
    return 201 if in_scope else 400


def change_rule(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 200 if role in WRITERS else 403


def contacts_read_rule(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 403 if role in NO_CONTACT_READ else 200


def contacts_write_rule(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 201 if role in WRITERS else 403


STAGE_MOVERS = WRITERS  # institutions.move_stage: managers in scope, the ME on their own


def stage_rule(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 200 if role in STAGE_MOVERS else 403


def _stage_body(c: dict[str, Any]) -> dict[str, Any]:
    """A move the institution's evidence already allows (with a note, for the
    moves that need one), so the answer is the permission, not the evidence."""
    from institutions.pipeline import allowed_targets, check_move

    inst = _institution(c)
    note = f"Uji matriks oleh {c['username']}."
    if inst is None:
        return {"to_stage": "TIDAK_BERMINAT", "note": note}
    targets = allowed_targets(inst.stage)
    ready = [t for t in targets if not check_move(inst, t, note)]
    return {"to_stage": (ready or list(targets))[0], "note": note}


def _institution(c: dict[str, Any]) -> Any:
    """The context's institution; the all-seeing roles act from a unit kerja that
    owns none, so they get the first one of branch C080101 (in their scope)."""
    if c.get("institution") is not None:
        return c["institution"]
    from institutions.models import Institution
    from org.models import UnitKind

    if c["target"].kind in (UnitKind.UNIT_KERJA, UnitKind.PUSAT):
        return Institution.objects.live().filter(branch__code="C080101").order_by("id").first()
    return None


def _inst_pk(c: dict[str, Any]) -> int:
    inst = _institution(c)
    return inst.pk if inst is not None else 0  # none yet: a 404 names the missing demo data


def _create_body(c: dict[str, Any]) -> dict[str, Any]:
    """A valid new institution in the first branch under the target (C080101 when
    the target is a unit kerja), so in scope it is created and out of scope the
    branch id is unknown to the caller."""
    from org.models import OrgUnit, UnitKind

    target = c["target"]
    branch = OrgUnit.objects.filter(kind=UnitKind.CABANG, path__startswith=target.path).order_by(
        "path"
    ).first() or OrgUnit.objects.get(code="C080101")
    return {
        "name": f"Koperasi Karyawan Uji Matriks {c['username']}",
        "type": "KOPERASI",
        "province_code": "31",
        "regency_code": "31.71",
        "member_count": 120,
        "potential_value": 250000000,
        "branch": branch.pk,
        "confirm_distinct": True,
    }


def _contact_body(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "Budi Santoso",
        "position": "Kepala Bagian SDM",
        "phone": "0812-3456-7890",
        "email": "budi.santoso@example.co.id",
        "purpose": "Koordinasi kerja sama dan kegiatan dengan lembaga",
        "lawful_basis": "KEPENTINGAN_SAH",
    }


ENDPOINTS: list[Endpoint] = [
    Endpoint("institution-list", "GET", lambda c: "/api/v1/institutions/", ok, anonymous=401),
    Endpoint(
        "institution-list",
        "POST",
        lambda c: "/api/v1/institutions/",
        create_rule,
        data=_create_body,
        anonymous=401,
        uses_object=True,
        json=True,
    ),
    Endpoint(
        "institution-detail",
        "GET",
        lambda c: f"/api/v1/institutions/{_inst_pk(c)}/",
        scoped_ok,
        anonymous=401,
        uses_object=True,
    ),
    Endpoint(
        "institution-contacts",
        "GET",
        lambda c: f"/api/v1/institutions/{_inst_pk(c)}/contacts/",
        contacts_read_rule,
        anonymous=401,
        uses_object=True,
    ),
    Endpoint(
        "institution-contacts",
        "POST",
        lambda c: f"/api/v1/institutions/{_inst_pk(c)}/contacts/",
        contacts_write_rule,
        data=_contact_body,
        anonymous=401,
        uses_object=True,
        json=True,
    ),
    Endpoint(
        "institution-stage",
        "POST",
        lambda c: f"/api/v1/institutions/{_inst_pk(c)}/stage/",
        stage_rule,
        data=_stage_body,
        anonymous=401,
        uses_object=True,
        json=True,
    ),
]

PATCH_ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "institution-detail",
        "PATCH",
        lambda c: f"/api/v1/institutions/{_inst_pk(c)}/",
        change_rule,
        data=lambda c: {"notes": f"Diperbarui oleh {c['username']} lewat API."},
        anonymous=401,
        uses_object=True,
        json=True,
    ),
]
