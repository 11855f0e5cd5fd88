from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from org import selectors
from org.access import active_assignment

log = logging.getLogger(__name__)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Beranda: the user's part of the tree, seen from their active role."""
    assignment = active_assignment(request.user)
    roots = list(selectors.tree_roots(request.user))
    root = roots[0] if roots else None
    kind_counts = selectors.scope_kind_counts(request.user) if root else {}
    if root:
        kind_counts.pop(root.kind, None)  # "1 Kantor Cabang" tells a branch head nothing
    context = {
        "assignment": assignment,
        "root": root,
        "children": list(selectors.unit_children(request.user, root)) if root else [],
        "kind_counts": kind_counts,
    }
    return render(request, "core/home.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        log.exception("healthz: database check failed")
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
