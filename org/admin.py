"""Read-only admin: every write goes through org.services (and the audit trail)."""

from typing import Any

from django.contrib import admin

from org.models import OrgUnit, Placement, RoleAssignment, User


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(OrgUnit)
class OrgUnitAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "kind", "path")
    list_filter = ("kind",)
    search_fields = ("code", "name")


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ("username", "first_name", "last_name", "is_active", "is_demo")
    search_fields = ("username", "first_name", "last_name")
    exclude = ("password",)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ReadOnlyAdmin):
    list_display = ("user", "role", "unit", "valid_from", "valid_to")
    list_filter = ("role",)
    raw_id_fields = ("user", "unit")


@admin.register(Placement)
class PlacementAdmin(ReadOnlyAdmin):
    list_display = ("user", "branch", "valid_from", "valid_to")
    raw_id_fields = ("user", "branch", "decided_by")
