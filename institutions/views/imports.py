"""Import and export pages (docs/IMPORT.md). Thin: the work is in
``institutions.imports``; access is asked of the policy (``has_perm``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError
from institutions import imports
from institutions.forms import bound_filter_form
from institutions.models import ImportJob, ImportStatus
from institutions.selectors import import_jobs_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RECENT_JOBS = 10


def _require_import(request: HttpRequest) -> None:
    if not request.user.has_perm("institutions.import"):
        raise PermissionDenied


def _job(request: HttpRequest, pk: int) -> ImportJob:
    """The user's own job (imports are personal work); anyone else's is 404,
    answered before the role check as everywhere else."""
    try:
        job = import_jobs_for(request.user).get(pk=pk)
    except ImportJob.DoesNotExist:
        raise Http404 from None
    _require_import(request)
    return job


def _limits() -> dict[str, Any]:
    return {
        "max_mb": settings.IMPORT_MAX_UPLOAD_BYTES // (1024 * 1024),
        "max_rows": settings.IMPORT_MAX_ROWS,
        "background_from": settings.IMPORT_BACKGROUND_FROM_ROWS,
    }


@login_required
@require_http_methods(["GET", "POST"])
def import_start(request: HttpRequest) -> HttpResponse:
    _require_import(request)
    error = ""
    if request.method == "POST":
        # Refuse an oversized body before Django spools it to disk (64 KB for the form's other parts).
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        too_big = length > settings.IMPORT_MAX_UPLOAD_BYTES + 64 * 1024
        upload = None if too_big else request.FILES.get("file")
        if too_big:
            error = _("Berkas terlalu besar: paling besar %(limit)s MB.") % {"limit": _limits()["max_mb"]}
        elif upload is None:
            error = _("Pilih berkas .xlsx atau .csv untuk diunggah.")
        else:
            try:
                job = imports.import_upload(
                    actor=request.user, name=upload.name or "", size=upload.size or 0, chunks=upload.chunks()
                )
            except DomainError as exc:
                error = str(exc.message)
            else:
                return HttpResponseRedirect(reverse("institutions:import-detail", args=[job.pk]))
    context = {"error": error, "jobs": list(import_jobs_for(request.user)[:RECENT_JOBS]), **_limits()}
    return render(request, "institutions/import_start.html", context, status=400 if error else 200)


@login_required
@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    _require_import(request)
    if request.GET.get("format") == "csv":
        response = HttpResponse(imports.template_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="templat-impor-lembaga.csv"'
        return response
    response = HttpResponse(imports.template_xlsx(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="templat-impor-lembaga.xlsx"'
    return response


def _detail_context(request: HttpRequest, job: ImportJob) -> dict[str, Any]:
    errors = imports.errors_of(job)
    return {
        "job": job,
        "progress": imports.progress_of(job),
        "problems": errors[: imports.REPORT_SHOWN],
        "problem_count": len(errors),
        "can_confirm": job.status == ImportStatus.VALIDATED and job.valid_rows > 0,
        "can_cancel": job.status in (ImportStatus.PENDING, ImportStatus.VALIDATING, ImportStatus.VALIDATED),
        "written": (
            list(imports.written_institutions(request.user, job)[:20]) if job.status == ImportStatus.DONE else []
        ),
        **_limits(),
    }


@login_required
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    return render(request, "institutions/import_detail.html", _detail_context(request, job))


@login_required
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress partial that the detail page polls; once the job has
    finished running, htmx is told to reload the whole page."""
    job = _job(request, pk)
    response = render(
        request, "institutions/partials/_import_progress.html", {"job": job, "progress": imports.progress_of(job)}
    )
    if not job.is_running and getattr(request, "htmx", False):
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_GET
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    response = HttpResponse(imports.report_csv(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="laporan-impor-{job.pk}.csv"'
    return response


@login_required
@require_POST
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    try:
        job = imports.import_confirm(actor=request.user, job=job)
    except DomainError as exc:
        messages.info(request, str(exc.message))
    else:
        if job.status == ImportStatus.DONE:
            messages.success(
                request,
                _("%(n)s lembaga ditulis ke daftar.") % {"n": job.written_rows},
            )
        elif job.status == ImportStatus.FAILED:
            messages.error(request, job.message or _("Penulisan gagal; tidak ada yang ditulis."))
    return HttpResponseRedirect(reverse("institutions:import-detail", args=[job.pk]))


@login_required
@require_POST
def import_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    try:
        imports.import_cancel(actor=request.user, job=job)
    except DomainError as exc:
        messages.info(request, str(exc.message))
    else:
        messages.success(request, _("Impor dibatalkan."))
    return HttpResponseRedirect(reverse("institutions:import-detail", args=[job.pk]))


@login_required
@require_GET
def export_xlsx(request: HttpRequest) -> HttpResponseBase:
    if not request.user.has_perm("institutions.export"):
        raise PermissionDenied
    filters = bound_filter_form(request.GET).filters()
    try:
        out, _count = imports.institutions_export(actor=request.user, filters=filters)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        query = request.GET.urlencode()
        return HttpResponseRedirect(reverse("institutions:list") + (f"?{query}" if query else ""))
    filename = f"lembaga-{timezone.localdate():%Y%m%d}.xlsx"
    return FileResponse(out, as_attachment=True, filename=filename, content_type=XLSX)
