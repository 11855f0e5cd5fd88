"""Stub: replaced by the pages helper."""

from django.http import Http404


def _stub(*args, **kwargs):
    raise Http404


kpi_list = target_home = target_edit = target_export = target_import = _stub
