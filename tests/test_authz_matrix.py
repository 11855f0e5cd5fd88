"""The authorisation matrix: every role × in-scope / out-of-scope object × every
view and endpoint. A new URL that is not listed here fails
``test_every_endpoint_is_in_the_matrix``.

Expected answers: out-of-scope objects 404, forbidden actions 403, anonymous
pages redirect to login (302) and anonymous API calls 401.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from activities.tests.authz_api import ENDPOINTS as ACTIVITY_API
from activities.tests.authz_leads import ENDPOINTS as ACTIVITY_LEADS
from activities.tests.authz_maintenance import ENDPOINTS as ACTIVITY_MAINTENANCE
from activities.tests.authz_work import ENDPOINTS as ACTIVITY_WORK
from conftest import DEMO_PASSWORD
from core.tests.test_notifications import matrix_note_path
from institutions.tests.authz_api import ENDPOINTS as INSTITUTION_API
from institutions.tests.authz_api import PATCH_ENDPOINTS as INSTITUTION_API_PATCH
from institutions.tests.authz_imports import ENDPOINTS as INSTITUTION_IMPORTS
from institutions.tests.authz_pages import ENDPOINTS as INSTITUTION_PAGES
from org.models import OrgUnit, RoleAssignment, UnitKind
from performance.tests.authz_api import ENDPOINTS as PERFORMANCE_API
from performance.tests.authz_pages import ENDPOINTS as PERFORMANCE_PAGES
from performance.tests.authz_pages_targets import ENDPOINTS as PERFORMANCE_TARGETS
from performance.tests.authz_pages_work import ENDPOINTS as PERFORMANCE_WORK
from sales.tests.authz_api import ENDPOINTS as SALES_API
from sales.tests.authz_pages import ENDPOINTS as SALES_PAGES
from sales.tests.authz_registries import ENDPOINTS as SALES_REGISTRIES
from tests.authz import MOVES_UNITS, ROLES, SEES_AUDIT, Endpoint, audit_only, move_rule, ok, redirect, scoped_ok  # noqa: F401


def _move_target(ctx: dict[str, Any]) -> dict[str, Any]:
    # A valid new parent for the target unit: another unit of its parent's kind.
    target: OrgUnit = ctx["target"]
    if target.parent is None:
        return {"new_parent": ""}
    other = OrgUnit.objects.filter(kind=target.parent.kind).exclude(pk=target.parent_id).first()
    return {"new_parent": other.pk if other else ""}


ENDPOINTS: list[Endpoint] = [
    Endpoint("home", "GET", lambda c: "/", ok),
    Endpoint("login", "GET", lambda c: "/akun/masuk/", redirect, anonymous=200),
    Endpoint("logout", "POST", lambda c: "/akun/keluar/", redirect, anonymous=302),
    Endpoint("password-change", "GET", lambda c: "/akun/sandi/", ok),
    Endpoint(
        "switch-role", "POST", lambda c: "/akun/peran/", redirect, data=lambda c: {"assignment": c["assignment"].pk}
    ),
    Endpoint(
        "set-language", "POST", lambda c: "/akun/bahasa/", redirect, data=lambda c: {"language": "en"}, anonymous=302
    ),
    Endpoint("org:unit-tree", "GET", lambda c: "/unit/", ok),
    Endpoint("org:unit-detail", "GET", lambda c: f"/unit/{c['target'].pk}/", scoped_ok, uses_object=True),
    Endpoint("org:unit-children", "GET", lambda c: f"/unit/{c['target'].pk}/anak/", scoped_ok, uses_object=True),
    Endpoint(
        "org:unit-move",
        "POST",
        lambda c: f"/unit/{c['target'].pk}/pindah/",
        move_rule,
        data=_move_target,
        uses_object=True,
    ),
    Endpoint("control:audit-list", "GET", lambda c: "/kontrol/audit/", audit_only),
    Endpoint("healthz", "GET", lambda c: "/healthz", ok, anonymous=200),
    Endpoint("notifications", "GET", lambda c: "/notifikasi/", ok),
    Endpoint("notification-read", "POST", matrix_note_path, lambda r, s: 302 if s else 404, uses_object=True),
    Endpoint(
        "api-token",
        "POST",
        lambda c: "/api/v1/auth/token/",
        ok,
        data=lambda c: {"username": c["username"], "password": DEMO_PASSWORD},
        anonymous=200,
        json=True,
    ),
    Endpoint("api-me", "GET", lambda c: "/api/v1/me/", ok, anonymous=401),
    Endpoint("org-unit-list", "GET", lambda c: "/api/v1/org-units/", ok, anonymous=401),
    Endpoint(
        "org-unit-detail",
        "GET",
        lambda c: f"/api/v1/org-units/{c['target'].pk}/",
        scoped_ok,
        anonymous=401,
        uses_object=True,
    ),
    Endpoint("api-schema", "GET", lambda c: "/api/schema/", ok, anonymous=401),
    Endpoint("api-docs", "GET", lambda c: "/api/docs/", ok, anonymous=401),
    # Django's admin: only staff accounts (created by an operator) get in; no demo role is staff.
    Endpoint("admin:index", "GET", lambda c: "/admin/", redirect, anonymous=302),
]


# Each module lists its own endpoints beside its tests (same Endpoint shape).
ENDPOINTS += INSTITUTION_PAGES + INSTITUTION_IMPORTS + INSTITUTION_API + INSTITUTION_API_PATCH
ENDPOINTS += ACTIVITY_WORK + ACTIVITY_LEADS + ACTIVITY_MAINTENANCE + ACTIVITY_API
ENDPOINTS += SALES_PAGES + SALES_REGISTRIES + SALES_API
ENDPOINTS += PERFORMANCE_PAGES + PERFORMANCE_TARGETS + PERFORMANCE_WORK + PERFORMANCE_API


# The smallest valid PNG: an evidence file for the matrix's activity, stored in
# the test's private MEDIA_ROOT and rolled back with the test.
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _evidence_for(activity: Any) -> Any:
    if activity is None:
        return None
    from django.core.files.uploadedfile import SimpleUploadedFile

    from activities.services import evidence_add

    return evidence_add(
        actor=None, activity=activity, files=[SimpleUploadedFile("bukti.png", PNG_1PX, content_type="image/png")]
    )[0]


def _context(username: str, assignment: Any, target: OrgUnit) -> dict[str, Any]:
    """What an endpoint may need: the user, the target unit, an institution under
    it (one assigned to the user first, so an ME's own work is the in-scope
    case), that institution's first live contact, and another institution in
    the same branch (for merges)."""
    from django.db.models import Case, IntegerField, When

    from institutions.models import Institution

    user_id = assignment.user_id if assignment else None
    institutions = Institution.objects.live()
    if target.kind not in (UnitKind.PUSAT, UnitKind.UNIT_KERJA):  # head-office roles see every branch's
        institutions = institutions.filter(branch__path__startswith=target.path)
    institutions = institutions.order_by(
        Case(When(me_id=user_id, then=0), default=1, output_field=IntegerField()), "id"
    )
    inst = institutions.select_related("branch").first()
    contact = inst.contacts.filter(erased_at__isnull=True).order_by("id").first() if inst else None
    sibling = (
        Institution.objects.live().filter(branch_id=inst.branch_id).exclude(pk=inst.pk).order_by("id").first()
        if inst
        else None
    )
    # The ME's work under the target (activities app), the user's own first.
    from activities.models import Activity, Lead, MaintenancePlan

    def _owned(model: Any, **extra: Any) -> Any:
        qs = model.objects.filter(**extra)
        if target.kind not in (UnitKind.PUSAT, UnitKind.UNIT_KERJA):
            qs = qs.filter(branch__path__startswith=target.path)
        return qs.order_by(Case(When(me_id=user_id, then=0), default=1, output_field=IntegerField()), "id").first()

    activity = _owned(Activity)
    return {
        "username": username,
        "assignment": assignment,
        "target": target,
        "institution": inst,
        "contact": contact,
        "sibling": sibling,
        "activity": activity,
        "evidence": _evidence_for(activity),
        "event": _owned(Activity, kind__in=["SOSIALISASI", "LITERASI", "OPEN_BOOTH"]),
        "lead": _owned(Lead),
        "plan": _owned(MaintenancePlan, status="ACTIVE"),
        "branch": inst.branch if inst else None,
    }


def _cases() -> list[Any]:
    cases = []
    for role, (_username, _own, other) in ROLES.items():
        for ep in ENDPOINTS:
            cases.append(pytest.param(role, ep, True, id=f"{role}-{ep.method}-{ep.name}-in"))
            if ep.uses_object and other is not None:
                cases.append(pytest.param(role, ep, False, id=f"{role}-{ep.method}-{ep.name}-out"))
    return cases


def _request(client: Client, ep: Endpoint, ctx: dict[str, Any]) -> Any:
    path = ep.path(ctx)
    data = ep.data(ctx) if ep.data else {}
    if ep.method == "GET":
        return client.get(path)
    if ep.method == "PATCH":
        return client.patch(path, data, content_type="application/json")
    if ep.json:
        return client.post(path, data, content_type="application/json")
    return client.post(path, data)


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "ep", "in_scope"), _cases())
def test_matrix(role: str, ep: Endpoint, in_scope: bool) -> None:
    from org.models import User

    username, own_code, other_code = ROLES[role]
    user = User.objects.get(username=username)
    assignment = RoleAssignment.objects.get(user=user, role=role)
    target_code = own_code if in_scope else other_code
    assert target_code is not None
    ctx = _context(username, assignment, OrgUnit.objects.get(code=target_code))
    client = Client()
    client.force_login(user)
    response = _request(client, ep, ctx)
    expected = ep.expect(role, in_scope)
    assert response.status_code == expected, f"{role} {ep.method} {ep.path(ctx)}: {response.status_code} != {expected}"


@pytest.mark.django_db
@pytest.mark.parametrize("ep", ENDPOINTS, ids=[f"{e.method}-{e.name}" for e in ENDPOINTS])
def test_matrix_anonymous(ep: Endpoint) -> None:
    ctx = _context("nobody", RoleAssignment.objects.first(), OrgUnit.objects.get(code="C080101"))
    response = _request(Client(), ep, ctx)
    expected = 400 if ep.name == "api-token" else ep.anonymous  # wrong credentials
    assert response.status_code == expected


@pytest.mark.django_db
def test_out_of_scope_answers_the_same_as_missing(client_for: Any) -> None:
    """A 404 for another branch's unit must not differ from a unit that does not exist."""
    c = client_for("me.c080101.1")
    other = OrgUnit.objects.get(code="C100101")
    missing = c.get("/unit/999999/")
    hidden = c.get(f"/unit/{other.pk}/")
    assert hidden.status_code == missing.status_code == 404
    assert other.name.encode() not in hidden.content


def _url_names(resolver: URLResolver, prefix: str = "") -> set[str]:
    names: set[str] = set()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = f"{prefix}{p.namespace}:" if p.namespace else prefix
            if p.namespace == "admin":
                names.add("admin:index")
                continue
            names |= _url_names(p, ns)
        elif isinstance(p, URLPattern) and p.name:
            names.add(prefix + p.name)
    return names


def test_every_endpoint_is_in_the_matrix() -> None:
    listed = {e.name for e in ENDPOINTS}
    # DRF's format-suffix duplicates of router views resolve to the same views.
    existing = {n for n in _url_names(get_resolver()) if not n.endswith("-format")}
    missing = existing - listed
    assert not missing, f"endpoints missing from the authorisation matrix: {sorted(missing)}"
    assert not listed - existing, f"matrix lists endpoints that no longer exist: {sorted(listed - existing)}"
