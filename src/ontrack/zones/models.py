"""Zones (geofences) and the per participant-zone state the engine keeps between batches."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ontrack.accounts.models import Office, Program
from ontrack.participants.models import Participant


class ZoneKind(models.TextChoices):
    INCLUSION = "inclusion", "Inclusion (must be inside)"
    EXCLUSION = "exclusion", "Exclusion (must stay out)"


class Side(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    INSIDE = "inside", "Inside"
    OUTSIDE = "outside", "Outside"


class Zone(models.Model):
    """A geofence. Either one participant's own (``participant`` set) or shared by a program
    or office (``participant`` empty, e.g. a courthouse) and attached to participants through
    ``attached``. ``geometry`` is GeoJSON (lon, lat): a Polygon, or
    ``{"type": "Circle", "center": [lon, lat], "radius_m": r}``; the bbox columns let a
    query find zones near a point without parsing JSON. ``schedule`` is a list of weekly
    intervals ``{"days": [0..6], "start": "HH:MM", "end": "HH:MM"}`` in the participant's
    local time (empty: always in force). ``version`` is bumped on every edit so the engine's
    prepared-geometry cache knows to rebuild."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="zones")
    office = models.ForeignKey(
        Office, on_delete=models.PROTECT, null=True, blank=True, related_name="zones"
    )
    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, null=True, blank=True, related_name="zones"
    )
    attached = models.ManyToManyField(Participant, blank=True, related_name="shared_zones")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=ZoneKind.choices)
    geometry = models.JSONField()
    min_lon = models.FloatField()
    min_lat = models.FloatField()
    max_lon = models.FloatField()
    max_lat = models.FloatField()
    buffer_m = models.FloatField(default=0.0)
    consecutive_fixes = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Wrong-side fixes in a row that make a violation when none is wholly on the "
        "wrong side (empty: the installation's setting).",
    )
    schedule = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(default=1)
    active_from = models.DateTimeField(null=True, blank=True)
    active_to = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "pk")
        indexes = [
            models.Index(fields=("min_lon", "min_lat", "max_lon", "max_lat")),
            # Covers the engine's per-batch read of (id, version, updated_at) by participant
            # (``services._zone_rows``): the row itself keeps them after the geometry JSON,
            # in SQLite's overflow pages (bench/RESULTS.md: 9.2 -> 2.8 us per fix).
            models.Index(
                fields=("participant", "version", "updated_at"), name="zone_participant_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def is_shared(self) -> bool:
        return self.participant_id is None


class ZoneState(models.Model):
    """The engine's memory for one (participant, zone): persisted when it changes so a
    restart resumes where it left off (no repeated 'entered', no forgotten violation).
    The time of the newest fix judged is kept once per participant, in ``ZoneClock``."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="states")
    side = models.CharField(max_length=8, choices=Side.choices, default=Side.UNKNOWN)
    since = models.DateTimeField(null=True, blank=True)
    consecutive_violations = models.PositiveIntegerField(default=0)
    violating = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("participant", "zone"), name="zone_state_unique")
        ]

    def __str__(self) -> str:
        return f"{self.participant_id}/{self.zone_id}: {self.side}"


class ZoneClock(models.Model):
    """The time of the newest fix the engine has judged for a participant: an older or
    repeated fix that arrives later is not judged again (it must not move a zone's state
    back). One row per participant, not per zone: it is what changes on nearly every batch,
    so the gateway locks and writes one row per person in a batch, not one per zone, and
    writes a zone's state only when something happened (bench/RESULTS.md, "The gateway's
    acknowledgements, and one zone clock per participant")."""

    participant = models.OneToOneField(
        Participant, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    last_fix_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.participant_id}: {self.last_fix_at.isoformat()}"


class ZoneSetVersion(models.Model):
    """One row (id 1) whose number database triggers change with every statement that writes
    a zone, attaches or detaches one, or sets a participant's time zone: whatever changes
    which zones are in force for someone, or how their schedules are read. The number is
    drawn at random, not counted up, so that a rolled-back transaction or a restored backup
    never shows a number a gateway has already seen for another state of the zones.

    The gateway's zone engine keeps each participant's compiled zones between batches
    (``services._Registry``) and reads this row once per batch: while it has not moved,
    participants it has checked since are not read again (reading every participant's zones
    for every batch was about a fifth of the zone engine's time, bench/RESULTS.md). Triggers,
    not the services, so that no path (the admin, a bulk update, a migration, raw SQL) can
    change a zone without the gateways noticing; migration 0006 creates them on SQLite and
    PostgreSQL, and ``tests/zones/test_zone_set_version.py`` checks they are still there."""

    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"zone set v{self.version}"
