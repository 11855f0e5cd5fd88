"""Stub: replaced by the pages helper."""

from django.http import Http404


def _stub(*args, **kwargs):
    raise Http404


placement_page = placement_apply = _stub
