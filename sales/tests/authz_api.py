"""Authorisation-matrix entries of the sales REST API (collected by
tests/test_authz_matrix.py): closings (list, one, the batch intake) and the
five channel registries (list and create).

The rules encoded here (org/access.py):

* anonymous calls answer 401;
* every role but Agen lists closings and registries of its scope (``sales.view``);
  Agen 403 on the lists, and a closing is 404 for them (nothing is visible);
  a closing outside the caller's scope is 404;
* the batch (``sales.ingest``) is for Admin, Pusat, Wilayah, DBA and Pinca (200,
  with a per-row problem for a branch outside their scope); others 403 before
  the body is read;
* registry create (``sales.manage_registry``) is for Pinca, DBA, Wilayah, Pusat
  and Admin: 201 in scope, 400 for an institution outside it (the same as one that
  does not exist); others 403 before the body is read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from sales.tests.authz_registries import free_of_point_reward
from tests.authz import Endpoint

VIEWERS_EXCLUDED = {"AGEN"}
INGESTERS = {"ADMIN", "PUSAT", "WILAYAH", "DBA", "PINCA"}
MANAGERS = {"PINCA", "DBA", "WILAYAH", "PUSAT", "ADMIN"}


def list_rule(role: str, in_scope: bool) -> int:
    return 403 if role in VIEWERS_EXCLUDED else 200


def detail_rule(role: str, in_scope: bool) -> int:
    return 404 if not in_scope or role in VIEWERS_EXCLUDED else 200


def batch_rule(role: str, in_scope: bool) -> int:
    return 200 if role in INGESTERS else 403


def create_rule(role: str, in_scope: bool) -> int:
    if role not in MANAGERS:
        return 403
    return 201 if in_scope else 400


def _row(c: dict[str, Any], external_id: str) -> dict[str, Any]:
    """A digital BtoC closing at the context's branch (no initiator to resolve)."""
    branch = c["branch"]
    return {
        "external_id": external_id,
        "closed_on": (timezone.localdate() - timedelta(days=1)).isoformat(),
        "branch": branch.code if branch is not None else "TIDAK-ADA",
        "product": "GADAI_KCA",
        "amount": "1500000",
        "scheme": "BTOC",
        "channel": "DIGITAL",
        "initiator_kind": "DIGITAL",
    }


def _closing_path(c: dict[str, Any]) -> str:
    """A closing at the context's branch, made on the fly by the ingestion."""
    from sales.ingest import ingest
    from sales.models import Closing

    ingest(actor=None, source="CORE_GADAI", rows=[_row(c, "MTX-DETAIL")], via="api")
    closing = Closing.objects.filter(source="CORE_GADAI", external_id="MTX-DETAIL").first()
    return f"/api/v1/closings/{closing.pk if closing else 0}/"


def _batch(c: dict[str, Any]) -> dict[str, Any]:
    return {"source": "CORE_GADAI", "rows": [_row(c, "MTX-BATCH")]}


def _inst(c: dict[str, Any]) -> int:
    return c["institution"].pk if c["institution"] is not None else 0


REGISTRIES: list[tuple[str, str, Any]] = [
    ("agent", "agents", lambda c: {"code": "MTX-AG2", "name": "Agen API", "institution": _inst(c)}),
    ("corporate-agent", "corporate-agents", lambda c: {"code": "MTX-AB2", "institution": _inst(c)}),
    ("fleet-scheme", "fleet-schemes", lambda c: {"name": "Fleet API", "fleet_size": 10, "operator": _inst(c)}),
    ("point-reward", "point-rewards", lambda c: {"member_code": "MTX-PR2", "institution": free_of_point_reward(c)}),
    ("pmp-facility", "pmp-facilities", lambda c: {"reference": "MTX-PMP2", "ceiling": "1000000", "borrower": _inst(c)}),
]


def _api(prefix: str) -> Callable[[dict[str, Any]], str]:
    return lambda c: f"/api/v1/{prefix}/"


def _endpoints() -> list[Endpoint]:
    out = [
        Endpoint("closing-list", "GET", lambda c: "/api/v1/closings/", list_rule, anonymous=401),
        Endpoint("closing-detail", "GET", _closing_path, detail_rule, anonymous=401, uses_object=True),
        Endpoint(
            "closing-batch",
            "POST",
            lambda c: "/api/v1/closings/batch/",
            batch_rule,
            data=_batch,
            anonymous=401,
            uses_object=True,
            json=True,
        ),
        Endpoint(
            "closing-batch-noslash",
            "POST",
            lambda c: "/api/v1/closings/batch",
            batch_rule,
            data=_batch,
            anonymous=401,
            uses_object=True,
            json=True,
        ),
    ]
    for basename, prefix, body in REGISTRIES:
        out.append(Endpoint(f"{basename}-list", "GET", _api(prefix), list_rule, anonymous=401))
        out.append(
            Endpoint(
                f"{basename}-list",
                "POST",
                _api(prefix),
                create_rule,
                data=body,
                anonymous=401,
                uses_object=True,
                json=True,
            )
        )
    return out


ENDPOINTS: list[Endpoint] = _endpoints()
