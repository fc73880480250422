from django.contrib import admin

from ontrack.audit.models import AccessLogEntry


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(admin.ModelAdmin[AccessLogEntry]):
    """Read-only: nobody edits or deletes the access log through the admin."""

    list_display = ["at", "username", "action", "participant_id", "what", "ip_address"]
    list_filter = ["action"]
    search_fields = ["username", "what", "=participant_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
