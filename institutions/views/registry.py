"""Registry pages — being written."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def _todo(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    raise Http404


institution_list = institution_create = similar_check = regency_options = potential = branch_ranking = _todo
institution_detail = institution_edit = institution_reassign = institution_merge = _todo
contact_create = contact_reveal = contact_restrict = contact_erase = _todo
