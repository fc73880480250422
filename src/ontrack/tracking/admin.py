"""The admin shows devices, their assignments and their events read-only: devices are
registered in the console and every change of their lifecycle goes through
``tracking.services``, which checks the actor's permission and records it on the
participant's timeline. Positions are not here: they are the high-volume table."""

from django.contrib import admin

from ontrack.participants.admin import ReadOnlyAdmin
from ontrack.tracking.models import Device, DeviceAssignment, DeviceCommand, DeviceEventRecord


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    list_display = ["identifier", "kind", "protocol", "status", "office", "last_seen_at"]
    list_filter = ["status", "kind", "protocol", "office"]
    list_select_related = ["office"]
    search_fields = ["identifier"]


@admin.register(DeviceAssignment)
class DeviceAssignmentAdmin(ReadOnlyAdmin):
    list_display = ["device", "participant", "started_at", "ended_at", "end_reason"]
    list_select_related = ["device", "participant"]
    search_fields = ["device__identifier", "participant__case_number"]


@admin.register(DeviceEventRecord)
class DeviceEventRecordAdmin(ReadOnlyAdmin):
    list_display = ["time", "device", "participant", "kind", "raw_code"]
    list_filter = ["kind"]
    list_select_related = ["device", "participant"]
    search_fields = ["device__identifier"]
    show_full_result_count = False


@admin.register(DeviceCommand)
class DeviceCommandAdmin(ReadOnlyAdmin):
    list_display = ["requested_at", "device", "text", "status", "requested_by", "answered_at"]
    list_filter = ["status"]
    list_select_related = ["device", "requested_by"]
    search_fields = ["device__identifier"]
