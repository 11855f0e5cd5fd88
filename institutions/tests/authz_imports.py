"""Authorisation-matrix entries for the import and export pages
(collected by tests/test_authz_matrix.py).

Import pages need ``institutions.import`` (Pinca, DBA, Wilayah, Pusat, ME:
others 403). A job is personal: the in-scope case uses a job of the user
themself, the out-of-scope case a job of someone else, which answers 404.
Confirm and cancel are asked of a finished job, so they change nothing.
"""

from __future__ import annotations

from typing import Any

from tests.authz import Endpoint

IMPORTERS = {"PINCA", "DBA", "WILAYAH", "PUSAT", "ME"}
OTHER_OWNER = "pinca.c080102"  # owns the jobs used for the out-of-scope case


def importer(role: str, in_scope: bool) -> int:
    return 200 if role in IMPORTERS else 403


def job_page(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404  # someone else's job: not found, before any role check
    return 200 if role in IMPORTERS else 403


def job_action(role: str, in_scope: bool) -> int:
    if not in_scope:
        return 404
    return 302 if role in IMPORTERS else 403


def exporter(role: str, in_scope: bool) -> int:
    return 403 if role == "AGEN" else 200


def _job(ctx: dict[str, Any], status: str) -> int:
    """A job of the user when the target is their own unit, else someone else's."""
    from institutions.models import ImportJob
    from org.models import User

    a = ctx["assignment"]
    mine = a is not None and ctx["target"].pk == a.unit_id
    owner = a.user if mine else User.objects.get(username=OTHER_OWNER)
    job = ImportJob.objects.create(
        created_by=owner,
        unit=a.unit if mine else ctx["target"],
        role=a.role if mine else "PINCA",
        original_name="lembaga.xlsx",
        sha256="0" * 64,
        status=status,
        total_rows=3,
        processed_rows=3,
        valid_rows=2,
        error_rows=1,
        report=[
            {"line": 3, "column": "Jenis", "value": "?", "reason": "Jenis lembaga tidak dikenal.", "kind": "error"}
        ],
    )
    return job.pk


ENDPOINTS: list[Endpoint] = [
    Endpoint("institutions:export", "GET", lambda c: "/lembaga/ekspor/", exporter),
    Endpoint("institutions:import-start", "GET", lambda c: "/lembaga/impor/", importer),
    Endpoint("institutions:import-template", "GET", lambda c: "/lembaga/impor/templat/", importer),
    Endpoint(
        "institutions:import-detail",
        "GET",
        lambda c: f"/lembaga/impor/{_job(c, 'VALIDATED')}/",
        job_page,
        uses_object=True,
    ),
    Endpoint(
        "institutions:import-progress",
        "GET",
        lambda c: f"/lembaga/impor/{_job(c, 'VALIDATING')}/progres/",
        job_page,
        uses_object=True,
    ),
    Endpoint(
        "institutions:import-report",
        "GET",
        lambda c: f"/lembaga/impor/{_job(c, 'VALIDATED')}/laporan/",
        job_page,
        uses_object=True,
    ),
    Endpoint(
        "institutions:import-confirm",
        "POST",
        lambda c: f"/lembaga/impor/{_job(c, 'DONE')}/tulis/",
        job_action,
        uses_object=True,
    ),
    Endpoint(
        "institutions:import-cancel",
        "POST",
        lambda c: f"/lembaga/impor/{_job(c, 'DONE')}/batal/",
        job_action,
        uses_object=True,
    ),
]
