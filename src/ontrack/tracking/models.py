"""Devices, who wore which device when, and what the devices reported.

Positions are the one high-volume table. They are written only by
``tracking.services.ingest.store_batch`` with raw ``executemany`` (no ORM object per position),
and another system's history by ``tracking.history_import`` in bulk. They are keyed by
``(device_id, time)`` so that a replayed frame cannot be stored twice, and on PostgreSQL
the table is partitioned by day (see migration 0002) so that retention drops
whole partitions instead of deleting rows under the gateway's feet.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ontrack.accounts.models import Office
from ontrack.participants.models import Participant


class DeviceKind(models.TextChoices):
    ANKLE = "ankle", "Ankle monitor"
    WRIST = "wrist", "Wrist monitor"
    PHONE = "phone", "Phone"


class Protocol(models.TextChoices):
    GT06 = "gt06", "GT06"
    TELTONIKA = "teltonika", "Teltonika Codec 8"
    OSMAND = "osmand", "OsmAnd / Traccar Client"
    MQTT = "mqtt", "MQTT JSON"
    H02 = "h02", "H02 (Sinotrack and clones)"
    WATCH = "watch", "Watch / 3G (SG, 3G, CS)"
    TK103 = "tk103", "TK103 / GPS103 (Coban and clones)"
    QUECLINK = "queclink", "Queclink @Track (GL300, GV300...)"
    MEITRACK = "meitrack", "Meitrack (MVT, T1, T333...)"
    SUNTECH = "suntech", "Suntech (ST300, ST600, ST910...)"


class DeviceStatus(models.TextChoices):
    IN_STOCK = "in_stock", "In stock"
    ASSIGNED = "assigned", "Assigned"
    # Worn by nobody any more (the plan no longer includes GPS) but not yet handed in: what
    # it reports is stored against the device only (``tracking.services.devices.plan_without_gps``).
    AWAITING_RETURN = "returning", "Awaiting return"
    LOST = "lost", "Lost"
    RETIRED = "retired", "Retired"


# The device lifecycle in one place: from each status, where it may go.
DEVICE_TRANSITIONS: dict[str, frozenset[str]] = {
    DeviceStatus.IN_STOCK: frozenset(
        {DeviceStatus.ASSIGNED, DeviceStatus.LOST, DeviceStatus.RETIRED}
    ),
    DeviceStatus.ASSIGNED: frozenset(
        {DeviceStatus.IN_STOCK, DeviceStatus.AWAITING_RETURN, DeviceStatus.LOST}
    ),
    DeviceStatus.AWAITING_RETURN: frozenset({DeviceStatus.IN_STOCK, DeviceStatus.LOST}),
    DeviceStatus.LOST: frozenset({DeviceStatus.IN_STOCK, DeviceStatus.RETIRED}),
    DeviceStatus.RETIRED: frozenset(),
}


class Device(models.Model):
    """A tracker. The ``last_*`` columns are denormalised from positions so that "where is
    every device now" is one indexed read, not a scan of the positions table."""

    identifier = models.CharField(max_length=40, unique=True, help_text="IMEI or app id.")
    kind = models.CharField(max_length=8, choices=DeviceKind.choices)
    protocol = models.CharField(max_length=12, choices=Protocol.choices)
    firmware = models.CharField(max_length=60, blank=True)
    status = models.CharField(
        max_length=10, choices=DeviceStatus.choices, default=DeviceStatus.IN_STOCK
    )
    office = models.ForeignKey(
        Office, null=True, blank=True, on_delete=models.PROTECT, related_name="devices"
    )
    time_offset_minutes = models.SmallIntegerField(
        default=0,
        help_text="Minutes the unit's clock is ahead of UTC (many GT06 units send GMT+8: 480).",
    )
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_fix_time = models.DateTimeField(null=True, blank=True)
    last_lat = models.FloatField(null=True, blank=True)
    last_lon = models.FloatField(null=True, blank=True)
    last_accuracy_m = models.FloatField(null=True, blank=True)
    battery_pct = models.SmallIntegerField(null=True, blank=True)
    charging = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["identifier"]
        indexes = [
            models.Index(fields=["status", "kind"]),
            models.Index(fields=["office", "status"]),
            models.Index(fields=["last_seen_at"]),
            # The live map's viewport: the devices whose last fix lies inside it.
            models.Index(fields=["last_lat", "last_lon"], name="device_last_position"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.identifier}"


class DeviceAssignment(models.Model):
    """Who wore this device from ``started_at`` until ``ended_at`` (open while worn)."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="assignments")
    # CASCADE: the assignment history is part of the case and goes with it when a closed
    # case's retention period ends (the device itself stays).
    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="device_assignments"
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    end_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["device"],
                condition=models.Q(ended_at__isnull=True),
                name="one_open_assignment_per_device",
            ),
            models.UniqueConstraint(
                fields=["participant"],
                condition=models.Q(ended_at__isnull=True),
                name="one_open_assignment_per_participant",
            ),
        ]
        indexes = [models.Index(fields=["participant", "started_at"])]

    def __str__(self) -> str:
        return f"{self.device_id} on {self.participant_id} from {self.started_at:%Y-%m-%d}"


class InvalidReason(models.TextChoices):
    """Why a stored fix is no position (``filters.invalid_reason``); empty when valid."""

    NO_FIX = "no_fix", "No GPS fix"
    FEW_SATELLITES = "few_satellites", "Too few satellites"
    DEVICE_MARKED_INVALID = "device_marked_invalid", "Marked invalid by the device"


class Position(models.Model):
    """One stored fix. The primary key is ``(device, time)``: a device is in one place at
    one instant, and on PostgreSQL the partition key (time) must be part of it. That key is
    also the only index: "a device's track between two times" is a range of it, and a
    participant's track is the tracks of the devices they wore, each within its assignment
    (``tracking.queries``). A second index on (participant, time) halved the insert rate on
    SQLite (every batch dirties one index page per device, twice), so there is none.

    The foreign keys carry no database constraint: checking them would cost every insert of
    the hot path, devices are never deleted (they retire), and retention must be able to
    drop positions of any participant without touching other tables.

    A report without a valid fix is stored too (``valid`` false, ``invalid_reason`` saying
    why; ``lat``/``lon`` empty when it carried no position at all): the device reported,
    and its track shows "No GPS fix" for that time. Zones, alert rules and "last known
    position" read valid rows only (``tracking.queries``). ``valid`` is kept beside the
    reason because it is what exports and filters ask; ``store_batch`` writes both.
    """

    pk = models.CompositePrimaryKey("device_id", "time")
    device = models.ForeignKey(
        Device, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    participant = models.ForeignKey(
        Participant,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    time = models.DateTimeField()
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    accuracy_m = models.FloatField(null=True, blank=True)
    speed_kmh = models.FloatField(null=True, blank=True)
    course = models.FloatField(null=True, blank=True)
    altitude_m = models.FloatField(null=True, blank=True)
    satellites = models.SmallIntegerField(null=True, blank=True)
    valid = models.BooleanField(default=True)
    invalid_reason = models.CharField(
        max_length=24, choices=InvalidReason.choices, blank=True, default=""
    )
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["time"]

    def __str__(self) -> str:
        where = f"{self.lat},{self.lon}" if self.valid else self.get_invalid_reason_display()
        return f"{self.device_id} at {self.time:%Y-%m-%d %H:%M:%S}: {where}"


class DeviceEventRecord(models.Model):
    """A device event as stored: normalised ``kind`` plus the vendor's ``raw_code``."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="events")
    participant = models.ForeignKey(
        Participant,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="device_events",
    )
    time = models.DateTimeField()
    kind = models.CharField(max_length=24)
    raw_code = models.CharField(max_length=60, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["time", "id"]
        indexes = [
            models.Index(fields=["device", "time"], name="device_event_device_time"),
            models.Index(fields=["participant", "time"], name="device_event_participant_time"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} {self.kind} at {self.time:%Y-%m-%d %H:%M:%S}"


class CommandStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for the device to be connected"
    SENT = "sent", "Sent, waiting for the answer"
    ANSWERED = "answered", "Answered"
    EXPIRED = "expired", "No answer in time"


class DeviceCommand(models.Model):
    """An on-demand request to a device ("where are you now?"), sent on its live connection.

    An officer queues it; whichever gateway process holds the device's connection claims it
    (``queued`` -> ``sent``) and writes it to the wire; the device's text reply and the next
    fix it reports after that are recorded here, and the console polls this row.
    """

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="commands")
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.CharField(max_length=60, help_text="What goes on the wire, e.g. WHERE#.")
    status = models.CharField(
        max_length=10, choices=CommandStatus.choices, default=CommandStatus.QUEUED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    response = models.TextField(blank=True)
    fix_time = models.DateTimeField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    accuracy_m = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["status", "device"], name="device_command_status")]

    def __str__(self) -> str:
        return f"{self.text} to {self.device_id} ({self.status})"


class DirectoryVersion(models.Model):
    """One row whose number goes up whenever a device is registered, retired, fitted or
    taken back. Each gateway reads it every couple of seconds (one indexed row) and reloads
    its device directory when it moved, so that a device fitted a moment ago reports for
    its new wearer at once instead of after the directory's periodic refresh."""

    version = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"device directory v{self.version}"
