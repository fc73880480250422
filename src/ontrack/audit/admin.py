from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from ontrack.audit.models import AccessLogEntry, RetentionPolicy, RetentionRun
from ontrack.audit.retention import retention_days_validate
from ontrack.audit.services import retention_policy_set


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(admin.ModelAdmin[AccessLogEntry]):
    """Read-only: nobody edits or deletes the access log through the admin."""

    list_display = [
        "at",
        "username",
        "reader_participant_id",
        "action",
        "participant_id",
        "participant_ids",
        "what",
        "ip_address",
    ]
    list_filter = ["action"]
    search_fields = ["username", "what", "=participant_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


class RetentionPolicyForm(forms.ModelForm[RetentionPolicy]):
    class Meta:
        model = RetentionPolicy
        fields = ["kind", "days"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "kind" in cleaned and "days" in cleaned:
            retention_days_validate(cleaned["kind"], cleaned["days"])
        return cleaned


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin[RetentionPolicy]):
    form = RetentionPolicyForm
    list_display = ["kind", "days", "changed_by", "changed_at"]
    readonly_fields = ["changed_by", "changed_at"]

    def save_model(
        self, request: HttpRequest, obj: RetentionPolicy, form: Any, change: bool
    ) -> None:
        """Through the service, so the ceiling and the role check apply here too."""
        retention_policy_set(user=request.user, kind=obj.kind, days=obj.days)


@admin.register(RetentionRun)
class RetentionRunAdmin(admin.ModelAdmin[RetentionRun]):
    """Read-only: the record of what the purge removed."""

    list_display = ["ran_at", "kind", "days", "cutoff", "removed", "error"]
    list_filter = ["kind"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
