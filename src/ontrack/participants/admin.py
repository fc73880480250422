"""The admin shows participants read-only: changes go through the console and the API so
that every one of them is checked and recorded by ``participants.services``."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ontrack.participants.models import Participant, ParticipantEvent, SupervisionPlan


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Participant)
class ParticipantAdmin(ReadOnlyAdmin):
    list_display = ["case_number", "family_name", "given_name", "status", "level", "office"]
    list_filter = ["status", "level", "office", "preferred_language"]
    search_fields = ["case_number", "family_name", "given_name"]


@admin.register(SupervisionPlan)
class SupervisionPlanAdmin(ReadOnlyAdmin):
    list_display = ["participant", "level", "effective_from", "effective_to", "review_date"]


@admin.register(ParticipantEvent)
class ParticipantEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "participant", "kind", "summary", "actor"]
    list_filter = ["kind"]
