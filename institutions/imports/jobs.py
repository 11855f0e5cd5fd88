"""The import job: upload, validate, confirm, write, cancel (the services and
the tasks ``core.tasks.enqueue`` runs), and what the pages show of a job.

Nothing is written until the user confirms. Writing re-checks every row and
inserts the valid new ones in one transaction with one audit event.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Field, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from control import audit
from core import tasks
from core.errors import DomainError
from institutions import scoring
from institutions.imports.files import inspect_upload
from institutions.imports.rows import (
    REPORT_MAX_ENTRIES,
    Outcome,
    _drop_cache,
    _existing,
    _save_cache,
    _save_raw_cache,
    check_file,
)
from institutions.models import ImportJob, ImportStatus, Institution, Ownership
from institutions.services import owner_ids
from org.access import active_assignment, visible_institutions
from org.models import OrgUnit, Role, RoleAssignment, User

REPORT_SHOWN = 50


class _Stopped(Exception):
    """The job was cancelled (or taken over) while a task worked on it."""


# --- The job: upload, validate, confirm, write, cancel ------------------------------------------------


def _require_import(actor: Any) -> RoleAssignment:
    a = active_assignment(actor)
    if a is None or not actor.has_perm("institutions.import"):
        raise PermissionDenied
    return a


def _acting_assignment(job: ImportJob) -> tuple[Any, RoleAssignment]:
    """The importer, acting in the role the file was uploaded under."""
    actor = User.objects.get(pk=job.created_by_id)
    a = active_assignment(actor)
    if a is None or a.role != job.role or a.unit_id != job.unit_id:
        raise DomainError(
            _("Impor ini diunggah dengan peran %(role)s di %(unit)s; ganti ke peran itu untuk melanjutkan.")
            % {"role": Role(job.role).label, "unit": job.unit.name}
        )
    return actor, a


def _run(job: ImportJob, task: str, rows: int) -> None:
    if rows < settings.IMPORT_BACKGROUND_FROM_ROWS:
        from django.utils.module_loading import import_string

        import_string(task)(job.pk)
    else:
        tasks.enqueue(task, job.pk)


def import_upload(*, actor: Any, name: str, size: int, chunks: Iterable[bytes]) -> ImportJob:
    """Check the file and create its job; validation starts at once (inline
    below IMPORT_BACKGROUND_FROM_ROWS rows, else in the background)."""
    a = _require_import(actor)
    inspected = inspect_upload(name, size, chunks)
    job = ImportJob(
        created_by=actor,
        unit=a.unit,
        role=a.role,
        original_name=PurePath(name.replace("\\", "/")).name[:255],
        sha256=inspected.sha256,
        total_rows=inspected.total_rows,
    )
    # The stored name is ours: an uploaded name never becomes a path.
    job.file.save(f"{uuid.uuid4().hex}.{inspected.kind}", ContentFile(inspected.data), save=False)
    job.save()
    _save_raw_cache(job, inspected.rows)
    _run(job, "institutions.imports.jobs.import_validate", inspected.total_rows)
    job.refresh_from_db()
    return job


def _progress(job_pk: int, status: str) -> Callable[[int], None]:
    def report(n: int) -> None:
        if not ImportJob.objects.filter(pk=job_pk, status=status).update(processed_rows=n, updated_at=timezone.now()):
            raise _Stopped

    return report


def _fail(job_pk: int, status: str, message: Any) -> None:
    ImportJob.objects.filter(pk=job_pk, status=status).update(
        status=ImportStatus.FAILED, message=str(message)[:255], finished_at=timezone.now(), updated_at=timezone.now()
    )


def _language(job: ImportJob) -> str:
    # The report is written in the importer's language (a background thread has none active).
    return job.created_by.language or translation.get_language() or settings.LANGUAGE_CODE


def import_validate(job_pk: int) -> None:
    """Task: validate a PENDING (or interrupted VALIDATING) job into its report.
    A job with nothing to write ends DONE at once."""
    claimed = ImportJob.objects.filter(pk=job_pk, status__in=[ImportStatus.PENDING, ImportStatus.VALIDATING]).update(
        status=ImportStatus.VALIDATING, processed_rows=0, updated_at=timezone.now()
    )
    if not claimed:
        return
    job = ImportJob.objects.select_related("created_by", "unit").get(pk=job_pk)
    with translation.override(_language(job)):
        try:
            actor, a = _acting_assignment(job)
            outcome = check_file(job, actor, a, _progress(job_pk, ImportStatus.VALIDATING))
        except _Stopped:
            return
        except DomainError as exc:
            _fail(job_pk, ImportStatus.VALIDATING, exc.message)
            return
        except Exception:
            _fail(job_pk, ImportStatus.VALIDATING, _("Pemeriksaan gagal karena kesalahan sistem."))
            raise
        done = not outcome.valid
        message = ""
        if done:
            message = (
                _("Tidak ada baris baru untuk ditulis: semua baris sudah terdaftar.")
                if not outcome.error_rows
                else _("Tidak ada baris yang bisa ditulis; perbaiki berkas lalu unggah lagi.")
            )
        finished = ImportJob.objects.filter(pk=job_pk, status=ImportStatus.VALIDATING).update(
            status=ImportStatus.DONE if done else ImportStatus.VALIDATED,
            total_rows=outcome.total,
            processed_rows=outcome.total,
            valid_rows=len(outcome.valid),
            error_rows=outcome.error_rows,
            existing_rows=outcome.existing_rows,
            report=outcome.report,
            message=message,
            finished_at=timezone.now() if done else None,
            updated_at=timezone.now(),
        )
        if finished and not done:
            _save_cache(job, outcome.rows)


def import_confirm(*, actor: Any, job: ImportJob) -> ImportJob:
    """Write the job's valid rows. Only a VALIDATED job is taken (the row is
    locked), so a double click or a retry writes nothing more."""
    _require_import(actor)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.created_by_id != actor.pk:
            raise PermissionDenied
        if job.status != ImportStatus.VALIDATED:
            raise DomainError(_("Impor ini sudah diproses (%(status)s).") % {"status": job.get_status_display()})
        job.status, job.processed_rows = ImportStatus.WRITING, 0
        job.save(update_fields=["status", "processed_rows", "updated_at"])
    _run(job, "institutions.imports.jobs.import_write", job.valid_rows)
    job.refresh_from_db()
    return job


def import_cancel(*, actor: Any, job: ImportJob) -> ImportJob:
    _require_import(actor)
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.created_by_id != actor.pk:
            raise PermissionDenied
        if job.status not in (ImportStatus.PENDING, ImportStatus.VALIDATING, ImportStatus.VALIDATED):
            raise DomainError(
                _("Impor ini tidak bisa dibatalkan lagi (%(status)s).") % {"status": job.get_status_display()}
            )
        job.status, job.finished_at = ImportStatus.CANCELLED, timezone.now()
        job.message = _("Dibatalkan; tidak ada yang ditulis.")
        job.save(update_fields=["status", "finished_at", "message", "updated_at"])
    _drop_cache(job)
    return job


def import_write(job_pk: int) -> None:
    """Task: re-check a WRITING job's rows and insert the valid new ones in one transaction."""
    job = ImportJob.objects.select_related("created_by", "unit").get(pk=job_pk)
    if job.status != ImportStatus.WRITING:
        return
    with translation.override(_language(job)):
        try:
            actor, a = _acting_assignment(job)
            outcome = check_file(job, actor, a, _progress(job_pk, ImportStatus.WRITING), similar=False, existing=False)
            _write(job_pk, actor, outcome)
        except _Stopped:
            return
        except DomainError as exc:
            _fail(job_pk, ImportStatus.WRITING, exc.message)
        except IntegrityError:
            _fail(job_pk, ImportStatus.WRITING, _("Data berubah saat menulis; tidak ada yang ditulis. Coba lagi."))
        except Exception:
            _fail(job_pk, ImportStatus.WRITING, _("Penulisan gagal karena kesalahan sistem; tidak ada yang ditulis."))
            raise
        finally:
            _drop_cache(job)  # the job has ended either way


def _insert(institutions: list[Institution], now: Any) -> None:
    """Insert the new rows: ``COPY`` on PostgreSQL (the values go as they are,
    without Django preparing each of 27 fields of 10,000 rows), ``bulk_create``
    elsewhere. Same rows either way; the ids are read back by ``import_job``."""
    if connection.vendor != "postgresql":
        Institution.objects.bulk_create(institutions, batch_size=500)
        return
    fields = [f for f in Institution._meta.concrete_fields if not f.primary_key]
    for inst in institutions:
        inst.created_at = inst.updated_at = now
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(Institution._meta.db_table)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for inst in institutions:
            copy.write_row([getattr(inst, f.attname) for f in fields])


@transaction.atomic
def _write(job_pk: int, actor: Any, outcome: Outcome) -> None:
    job = ImportJob.objects.select_for_update().get(pk=job_pk)
    if job.status != ImportStatus.WRITING:
        return
    rows = outcome.valid
    # Imports into the same branches queue here, so each one's re-check below
    # sees what the other wrote (SQLite's IMMEDIATE transactions already serialise).
    list(OrgUnit.objects.select_for_update().filter(pk__in={r.branch.pk for r in rows if r.branch}).order_by("pk"))
    npwps, pairs = _existing({r.values["npwp"] for r in rows if r.values["npwp"]}, {r.pair for r in rows if r.pair})
    fresh = [r for r in rows if r.values["npwp"] not in npwps and r.pair not in pairs]
    # The similar names the user saw before confirming stay in the report, for the rows written.
    written_lines = {r.line for r in fresh}
    outcome.add_warnings([p for p in job.report if p.get("kind") == "warning" and p["line"] in written_lines])
    now = timezone.now()
    owners: dict[int, tuple[int, int]] = {}
    institutions = []
    # Ids rather than objects, and the score computed from the row: ten thousand
    # model instances are built here, and related-object setters are slow.
    for r in fresh:
        branch, v = r.branch, r.values
        assert branch is not None
        if branch.pk not in owners:
            owners[branch.pk] = owner_ids(branch)
        score = scoring.compute(
            member_count=v["member_count"],
            type=v["type"],
            potential_value=v["potential_value"],
            latitude=v["latitude"],
            longitude=v["longitude"],
            regency_code=v["regency_code"],
            branch=branch,
        )
        institutions.append(
            Institution(
                name=v["name"],
                name_key=v["name_key"],
                type=v["type"],
                sector=v["sector"],
                address=v["address"],
                province_code=v["province_code"],
                regency_code=v["regency_code"],
                latitude=v["latitude"],
                longitude=v["longitude"],
                npwp=v["npwp"],
                member_count=v["member_count"],
                potential_value=v["potential_value"],
                potential_basis=v["potential_basis"],
                status=v["status"],
                notes=v["notes"],
                branch_id=branch.pk,
                area_id=owners[branch.pk][0],
                region_id=owners[branch.pk][1],
                me_id=r.me.pk if r.me is not None else None,
                created_by_id=actor.pk,
                import_job_id=job.pk,
                stage_since=now,
                score=score.total,
                distance_km=Decimal(str(score.distance_km)) if score.distance_km is not None else None,
            )
        )
    _insert(institutions, now)
    _open_ownerships(job.pk, now, actor.pk)
    ids = list(Institution.objects.filter(import_job_id=job.pk).order_by("pk").values_list("pk", flat=True))
    audit.record(
        actor=actor,
        action="institution.import",
        obj=job,
        after={
            "file": job.original_name,
            "sha256": job.sha256,
            "written": len(ids),
            "already_registered": outcome.existing_rows + len(rows) - len(fresh),
            "similar_names": sum(1 for p in outcome.report if p["kind"] == "warning"),
            "ids": ids if len(ids) <= 1000 else None,
            "id_min": min(ids) if ids else None,
            "id_max": max(ids) if ids else None,
            "ids_sha256": hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest(),
        },
    )
    job.status = ImportStatus.DONE
    job.total_rows = job.processed_rows = outcome.total
    job.valid_rows = len(rows)
    job.error_rows = outcome.error_rows
    job.existing_rows = outcome.existing_rows + len(rows) - len(fresh)
    job.written_rows = len(ids)
    job.report = outcome.report
    job.finished_at = now
    job.message = ""
    job.save()


def _open_ownerships(job_pk: int, valid_from: datetime, changed_by: int) -> None:
    """The first ownership row of every institution the job wrote, in one
    INSERT … SELECT (a third of the write time when built as ten thousand models)."""
    inst, own = Institution._meta, Ownership._meta
    qn = connection.ops.quote_name

    def col(meta: Any, name: str) -> str:
        field = meta.get_field(name)
        assert isinstance(field, Field)
        return qn(field.column)

    columns = ", ".join(
        col(own, f) for f in ("institution", "branch", "me", "valid_from", "valid_to", "changed_by", "reason")
    )
    select = ", ".join(col(inst, f) for f in ("id", "branch", "me"))
    job_column = col(inst, "import_job")
    sql = (
        f"INSERT INTO {qn(own.db_table)} ({columns}) "  # noqa: S608 - names from model metadata, values as parameters
        f"SELECT {select}, %s, NULL, %s, '' FROM {qn(inst.db_table)} WHERE {job_column} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datetimefield_value(valid_from), changed_by, job_pk])


# --- What the pages show ---------------------------------------------------------------------------


def progress_of(job: ImportJob) -> int:
    """Percent for the bar. While writing, the visible part is the re-check
    (the insert is one transaction: no one can see it halfway)."""
    if job.status == ImportStatus.WRITING:
        return min(99, round(100 * job.processed_rows / max(job.total_rows, 1)))
    return job.progress_percent


def errors_of(job: ImportJob) -> list[dict[str, Any]]:
    return [p for p in job.report if p.get("kind", "error") == "error"]


def written_institutions(user: Any, job: ImportJob) -> QuerySet[Institution]:
    return visible_institutions(user).filter(import_job=job).select_related("branch").order_by("name", "id")


def _safe_cell(value: str) -> str:
    # A spreadsheet would run a value that starts like a formula (CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def report_csv(job: ImportJob) -> str:
    """Every report entry; the last column tells an error (not written) from a
    row already registered (skipped) and a warning (written; check it)."""
    kinds = {"error": _("kesalahan"), "existing": _("sudah terdaftar"), "warning": _("peringatan")}
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([_("baris"), _("kolom"), _("nilai"), _("alasan"), _("jenis")])
    for p in job.report:
        kind = kinds.get(p.get("kind", "error"), kinds["error"])
        w.writerow([p["line"], p["column"], _safe_cell(p["value"]), _safe_cell(p["reason"]), kind])
    if len(job.report) >= REPORT_MAX_ENTRIES:
        w.writerow(["", "", "", _("Laporan dipotong pada %(n)s masalah.") % {"n": REPORT_MAX_ENTRIES}, ""])
    return "\ufeff" + out.getvalue()  # the BOM makes Excel read UTF-8
