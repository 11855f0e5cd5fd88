from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core.models import Notification
from core.notify import mark_read
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


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    """The user's own notifications, newest first; a POST marks them all read."""
    if request.method == "POST":
        n = mark_read(actor=request.user)
        if n:
            messages.success(
                request,
                ngettext("%(n)s notifikasi ditandai sudah dibaca.", "%(n)s notifikasi ditandai sudah dibaca.", n)
                % {"n": n},
            )
        return redirect("notifications")
    user: Any = request.user  # a logged-in User here (login_required)
    qs = Notification.objects.filter(user=user).order_by("-created_at", "-id")
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(request, "core/notifications.html", {"page": page, "query": ""})


def _local_target(url: str) -> str | None:
    """``url`` when it stays on this site (a path such as ``/aktivitas/…``), else None."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return None
    return url if url_has_allowed_host_and_scheme(url, allowed_hosts=None) else None


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read and follow its link (only a local one). Only
    the user's own: another user's id answers 404 like a missing one."""
    note = get_object_or_404(Notification, pk=pk, user=request.user)
    mark_read(actor=request.user, ids=[note.pk])
    return redirect(_local_target(note.url) or "notifications")
