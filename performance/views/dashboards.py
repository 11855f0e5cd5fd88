"""Stub: replaced by the pages helper."""

from django.http import Http404


def _stub(*args, **kwargs):
    raise Http404


home = unit_dashboard = unit_dashboard_xlsx = me_scorecard = me_evaluate = _stub
