"""Authorisation-matrix entries for the closings pages (collected by
tests/test_authz_matrix.py). The rules come from org/access.py:

* ``sales.view``: every role but Agen reads closings (list, a closing, a
  branch's attribution); out of scope answers 404 before the role's 403;
* ``sales.ingest``: Admin, Pusat, Wilayah, DBA and Pinca upload;
* a batch is read by its creator, Admin and Auditor; anyone else gets 404.

The objects are made on the fly under the case's target unit and rolled back
with the test: a BtoC digital closing (valid in any branch) through
``sales.ingest``, and a batch sent by the user when they may send one (else by
the integration, ``actor=None``).
"""

from __future__ import annotations

from typing import Any

from tests.authz import Endpoint

INGESTERS = {"ADMIN", "PUSAT", "WILAYAH", "DBA", "PINCA"}
BATCH_READERS = {"ADMIN", "AUDITOR"}


def readers(role: str, in_scope: bool) -> int:
    return 403 if role == "AGEN" else 200


def scoped_readers(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 403 if role == "AGEN" else 200


def ingesters(role: str, in_scope: bool) -> int:
    return 200 if role in INGESTERS else 403


def batch_readers(role: str, in_scope: bool) -> int:
    if role in BATCH_READERS or (in_scope and role in INGESTERS):
        return 200
    return 404


def _branch(c: dict[str, Any]) -> Any:
    """A branch under the case's target (the target itself when it is one)."""
    from org.models import OrgUnit, UnitKind

    target = c["target"]
    if target.kind == UnitKind.CABANG:
        return target
    if target.kind in (UnitKind.PUSAT, UnitKind.UNIT_KERJA):
        return c["branch"] or OrgUnit.objects.filter(kind=UnitKind.CABANG).order_by("id").first()
    return OrgUnit.objects.filter(kind=UnitKind.CABANG, path__startswith=target.path).order_by("id").first()


def _closing(c: dict[str, Any]) -> Any:
    if "_closing" not in c:
        from django.utils import timezone

        from sales.ingest import ingest
        from sales.models import Closing

        branch = _branch(c)
        external_id = f"MATRIX-{branch.code}"
        row = {
            "external_id": external_id,
            "closed_on": timezone.localdate().isoformat(),
            "branch": branch.code,
            "product": "GADAI_KCA",
            "amount": "1000000",
            "scheme": "BTOC",
            "channel": "DIGITAL",
            "initiator_kind": "DIGITAL",
        }
        out = ingest(actor=None, source="MANUAL", rows=[row])
        assert not out.problems, out.problems
        c["_closing"] = Closing.objects.get(source="MANUAL", external_id=external_id)
    return c["_closing"]


def _batch(c: dict[str, Any]) -> Any:
    """In scope: a batch the user sent (when they may send one); else one the integration sent."""
    if "_batch" not in c:
        from org.models import User
        from sales.ingest import ingest

        user = User.objects.filter(username=c["username"]).first()  # none for the anonymous case
        own = user is not None and c["target"].pk == c["assignment"].unit_id and user.has_perm("sales.ingest")
        c["_batch"] = ingest(actor=user if own else None, source="MANUAL", rows=[], via="upload").batch
    return c["_batch"]


ENDPOINTS: list[Endpoint] = [
    Endpoint("sales:closings", "GET", lambda c: "/penjualan/?scheme=BTOC", readers),
    Endpoint(
        "sales:closing-detail", "GET", lambda c: f"/penjualan/{_closing(c).pk}/", scoped_readers, uses_object=True
    ),
    Endpoint("sales:upload", "GET", lambda c: "/penjualan/unggah/", ingesters),
    Endpoint("sales:upload-template", "GET", lambda c: "/penjualan/unggah/templat/", ingesters),
    Endpoint("sales:batch", "GET", lambda c: f"/penjualan/batch/{_batch(c).pk}/", batch_readers, uses_object=True),
    Endpoint(
        "sales:batch-report",
        "GET",
        lambda c: f"/penjualan/batch/{_batch(c).pk}/laporan/",
        batch_readers,
        uses_object=True,
    ),
    Endpoint(
        "sales:attribution",
        "GET",
        lambda c: f"/penjualan/cabang/{_branch(c).pk}/atribusi/",
        scoped_readers,
        uses_object=True,
    ),
]
