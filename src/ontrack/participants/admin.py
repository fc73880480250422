"""The admin shows participants read-only: changes go through the console and the API so
that every one of them is checked and recorded by ``participants.services``. Reading them
here is reading them anywhere: every list and page of a person's data is scoped like the
console and passes the gate, so it is in the access log."""

from typing import Any, ClassVar

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from ontrack.accounts.web import staff_user
from ontrack.participants.gate import participant_read, participants_listed
from ontrack.participants.models import Participant, ParticipantEvent, SupervisionPlan
from ontrack.participants.queries import participants_visible_to


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PersonDataAdmin(ReadOnlyAdmin):
    """A read-only admin of rows about a participant (``participant_field`` names the
    foreign key; empty for Participant itself). The list shows only the people the staff
    member may see and is logged as one LIST row; a row's page passes the gate for its
    person (404 out of scope). Rows about nobody (an unworn device's command) stay listed."""

    participant_field: ClassVar[str] = "participant"

    def _participant_id(self, row: Model) -> int | None:
        if not self.participant_field:
            return int(row.pk)
        value = getattr(row, f"{self.participant_field}_id")
        return int(value) if value is not None else None

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        rows = super().get_queryset(request)
        visible = participants_visible_to(staff_user(request))
        if not self.participant_field:
            return rows.filter(pk__in=visible.values("pk"))
        about = Q(**{f"{self.participant_field}__in": visible.values("pk")})
        return rows.filter(about | Q(**{f"{self.participant_field}__isnull": True}))

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            participants_listed(
                request,
                [self._participant_id(row) for row in changelist.result_list],
                what=f"admin {self.model._meta.verbose_name_plural} list",
            )
        return response

    def _read(self, request: HttpRequest, object_id: str, page: str) -> None:
        """The row's person through the gate; a row out of scope is a missing row (404)."""
        row = self.get_object(request, unquote(object_id))
        if row is None:
            raise Http404(f"No such {self.model._meta.verbose_name}.")
        participant_id = self._participant_id(row)
        if participant_id is not None:
            participant_read(
                request, participant_id, what=f"admin {self.model._meta.verbose_name} {page}"
            )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        self._read(request, object_id, "page")
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._read(request, object_id, "history")
        return super().history_view(request, object_id, extra_context)


@admin.register(Participant)
class ParticipantAdmin(PersonDataAdmin):
    participant_field = ""
    list_display = ["case_number", "family_name", "given_name", "status", "level", "office"]
    list_filter = ["status", "level", "office", "preferred_language"]
    search_fields = ["case_number", "family_name", "given_name"]


@admin.register(SupervisionPlan)
class SupervisionPlanAdmin(PersonDataAdmin):
    list_display = ["participant", "level", "effective_from", "effective_to", "review_date"]


@admin.register(ParticipantEvent)
class ParticipantEventAdmin(PersonDataAdmin):
    list_display = ["at", "participant", "kind", "summary", "actor"]
    list_filter = ["kind"]
