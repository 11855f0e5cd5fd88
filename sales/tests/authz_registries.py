"""Authorisation-matrix entries of the channel-registry pages (collected by
tests/test_authz_matrix.py): the five lists and their create forms.

The rules encoded here (org/access.py):

* every role but Agen reads the lists of its scope (``sales.view``); Agen 403;
* the create form (``?institution=<id>``) answers 404 for an institution outside
  the caller's scope, 403 for a role that does not manage registries in scope
  (only Pinca, DBA, Wilayah, Pusat and Admin do: ``sales.manage_registry``),
  and a valid POST adds the entry and redirects to the list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.authz import Endpoint

MANAGERS = {"PINCA", "DBA", "WILAYAH", "PUSAT", "ADMIN"}


def read_rule(role: str, in_scope: bool) -> int:
    return 403 if role == "AGEN" else 200


def form_rule(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 200 if role in MANAGERS else 403


def post_rule(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 302 if role in MANAGERS else 403


def _inst(c: dict[str, Any]) -> int:
    return c["institution"].pk if c["institution"] is not None else 0  # missing demo data: a 404 names it


def free_of_point_reward(c: dict[str, Any]) -> int:
    """An institution of the context's branch without a Club Point Reward
    membership (one per institution; the demo data gives some of them one)."""
    from institutions.models import Institution

    if c["institution"] is None:
        return 0
    inst = (
        Institution.objects.live()
        .filter(branch_id=c["institution"].branch_id, point_reward__isnull=True)
        .order_by("id")
        .first()
    )
    return inst.pk if inst is not None else 0


# (list name, list path, create name, create path, a valid POST body)
PAGES: list[tuple[str, str, str, str, dict[str, Any]]] = [
    ("agents", "agen/", "agent-create", "agen/baru/?institution=", {"code": "MTX-AG1", "name": "Agen Matriks"}),
    (
        "corporate-agents",
        "agen-badan-usaha/",
        "corporate-agent-create",
        "agen-badan-usaha/baru/?institution=",
        {"code": "MTX-AB1"},
    ),
    (
        "fleet",
        "fleet/",
        "fleet-create",
        "fleet/baru/?institution=",
        {"name": "Fleet Matriks", "fleet_size": 40, "vehicles_financed": 5},
    ),
    (
        "point-reward",
        "point-reward/",
        "point-reward-create",
        "point-reward/baru/?institution=",
        {"member_code": "MTX-PR1", "points_earned": 100, "points_redeemed": 10},
    ),
    ("pmp", "pmp/", "pmp-create", "pmp/baru/?institution=", {"reference": "MTX-PMP1", "ceiling": 50000000}),
]


def _pick(path: str) -> Any:
    return free_of_point_reward if path.startswith("point-reward") else _inst


def _fixed(path: str) -> Callable[[dict[str, Any]], str]:
    return lambda c: f"/penjualan/{path}"


def _with_institution(path: str) -> Callable[[dict[str, Any]], str]:
    pick = _pick(path)
    return lambda c: f"/penjualan/{path}{pick(c)}"


def _body(body: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda c: dict(body)


def _endpoints() -> list[Endpoint]:
    out: list[Endpoint] = []
    for list_name, list_path, create_name, create_path, body in PAGES:
        out.append(Endpoint(f"sales:{list_name}", "GET", _fixed(list_path), read_rule))
        out.append(
            Endpoint(
                f"sales:{create_name}",
                "GET",
                _with_institution(create_path),
                form_rule,
                uses_object=True,
            )
        )
        out.append(
            Endpoint(
                f"sales:{create_name}",
                "POST",
                _with_institution(create_path),
                post_rule,
                data=_body(body),
                uses_object=True,
            )
        )
    return out


ENDPOINTS: list[Endpoint] = _endpoints()
