from typing import Any

from django.contrib import admin

from control.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only."""

    list_display = ("seq", "created_at", "actor_username", "role", "unit_code", "action", "object_type", "object_id")
    list_filter = ("action", "role")
    search_fields = ("actor_username", "object_id", "action")

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
