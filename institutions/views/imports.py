"""Import and export pages — being written (placeholders answer 404)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def _todo(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    raise Http404


export_xlsx = import_start = import_template = import_detail = _todo
import_progress = import_report = import_confirm = import_cancel = _todo
