from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from core.navigation import nav_for
from org.access import active_assignment, active_assignments


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the base layout needs: the active role, the others to switch to, the nav."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    active = active_assignment(user)
    return {
        "active_assignment": active,
        "my_assignments": list(active_assignments(user)),
        "nav_items": nav_for(user, request.path),
    }


def notifications(request: HttpRequest) -> dict[str, Any]:
    """The header's unread count: one COUNT, run only when a template reads it
    (htmx partials do not), and none for anonymous visitors."""
    from django.utils.functional import SimpleLazyObject

    from core.notify import unread_count

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": SimpleLazyObject(lambda: unread_count(user))}
