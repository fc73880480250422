"""The admin shows devices, their assignments and their events read-only: devices are
registered in the console and every change of their lifecycle goes through
``tracking.services.devices``, which checks the actor's permission and records it on the
participant's timeline. Positions are not here: they are the high-volume table. Assignments,
events and commands are about their wearer, so they are read through the gate like the
participant's own admin pages (``PersonDataAdmin``)."""

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from ontrack.accounts.web import staff_user
from ontrack.participants.admin import PersonDataAdmin
from ontrack.tracking.models import Device, DeviceAssignment, DeviceCommand, DeviceEventRecord
from ontrack.tracking.queries import device_wearers, devices_visible_to


@admin.register(Device)
class DeviceAdmin(PersonDataAdmin):
    """A device's page shows its last position, which is its wearer's location: seen
    exactly as the wearer is (``devices_visible_to``) and logged about them."""

    list_display = ["identifier", "kind", "protocol", "status", "office", "last_seen_at"]
    list_filter = ["status", "kind", "protocol", "office"]
    list_select_related = ["office"]
    search_fields = ["identifier"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Device]:
        return devices_visible_to(staff_user(request)).select_related("office")

    def _participant_id(self, row: Model) -> int | None:
        return device_wearers([int(row.pk)]).get(int(row.pk))


@admin.register(DeviceAssignment)
class DeviceAssignmentAdmin(PersonDataAdmin):
    list_display = ["device", "participant", "started_at", "ended_at", "end_reason"]
    list_select_related = ["device", "participant"]
    search_fields = ["device__identifier", "participant__case_number"]


@admin.register(DeviceEventRecord)
class DeviceEventRecordAdmin(PersonDataAdmin):
    list_display = ["time", "device", "participant", "kind", "raw_code"]
    list_filter = ["kind"]
    list_select_related = ["device", "participant"]
    search_fields = ["device__identifier"]
    show_full_result_count = False


@admin.register(DeviceCommand)
class DeviceCommandAdmin(PersonDataAdmin):
    list_display = ["requested_at", "device", "text", "status", "requested_by", "answered_at"]
    list_filter = ["status"]
    list_select_related = ["device", "requested_by"]
    search_fields = ["device__identifier"]
