from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

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
    """The user's own notifications, newest first; "read all" marks them read."""
    from django.core.paginator import Paginator
    from django.utils import timezone

    from core.models import Notification

    qs = Notification.objects.filter(user=request.user).order_by("-created_at", "-id")
    if request.method == "POST":
        qs.filter(read_at__isnull=True).update(read_at=timezone.now())
        return redirect("notifications")
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(request, "core/notifications.html", {"page": page})


@require_POST
@login_required
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read and follow its link (only the user's own: 404 otherwise)."""
    from django.utils import timezone
    from django.utils.http import url_has_allowed_host_and_scheme

    from core.models import Notification

    note = get_object_or_404(Notification, pk=pk, user=request.user)
    if note.read_at is None:
        Notification.objects.filter(pk=note.pk).update(read_at=timezone.now())
    target = note.url if note.url and url_has_allowed_host_and_scheme(note.url, allowed_hosts=None) else "/notifikasi/"
    return redirect(target)
