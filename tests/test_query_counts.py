"""List pages make a fixed number of queries whatever their length."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from control import audit
from org.models import OrgUnit, RoleAssignment, UnitKind, User

pytestmark = pytest.mark.django_db


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def _grow(parent_code: str, n: int) -> None:
    """Add n branches (each with a person) under an area, bypassing nothing that a list reads."""
    parent = OrgUnit.objects.get(code=parent_code)
    units = [
        OrgUnit(
            kind=UnitKind.CABANG,
            code=f"X{parent_code}{i:03d}",
            name=f"Cabang X{i}",
            parent=parent,
            path=f"{parent.path}X{parent_code}{i:03d}/",
            depth=parent.depth + 1,
        )
        for i in range(n)
    ]
    OrgUnit.objects.bulk_create(units)
    users = User.objects.bulk_create([User(username=f"x.{parent_code}.{i}") for i in range(n)])
    created = OrgUnit.objects.filter(code__startswith=f"X{parent_code}").order_by("code")
    RoleAssignment.objects.bulk_create(
        [
            RoleAssignment(user=u, role="SALES", unit=c, valid_from="2024-01-01")
            for u, c in zip(users, created, strict=True)
        ]
    )


@pytest.mark.parametrize(
    ("username", "url_for"),
    [
        ("dba.a0801", lambda: "/"),
        ("dba.a0801", lambda: "/unit/"),
        ("dba.a0801", lambda: f"/unit/{OrgUnit.objects.get(code='A0801').pk}/"),
        ("dba.a0801", lambda: f"/unit/{OrgUnit.objects.get(code='A0801').pk}/anak/"),
        ("dba.a0801", lambda: "/api/v1/org-units/?page_size=500"),
        ("admin", lambda: "/api/v1/org-units/?page_size=500"),
    ],
)
def test_org_pages_do_not_grow_with_rows(client_for: Any, username: str, url_for: Any) -> None:
    client = client_for(username)
    small = _queries(client, url_for())
    _grow("A0801", 40)
    assert _queries(client, url_for()) == small


def test_audit_list_does_not_grow_with_rows(client_for: Any, get_user: Any) -> None:
    client = client_for("auditor")
    small = _queries(client, "/kontrol/audit/")
    with transaction.atomic():
        for i in range(60):
            audit.record(actor=get_user("admin"), action="test.fill", object_id=i)
    assert _queries(client, "/kontrol/audit/") == small
