"""Deleting positions and device events older than the retention policy allows.

On PostgreSQL whole day partitions are dropped (instant, no table bloat, no lock held over
the rows the gateway is inserting); only the rows of the cut-off day itself and any in the
default partition are deleted row by row. On SQLite rows are deleted a few devices at a
time, each chunk in its own short transaction, so the gateway's writes are never held up
for long behind one huge delete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ontrack.tracking import partitions
from ontrack.tracking.models import (
    Device,
    DeviceAssignment,
    DeviceCommand,
    DeviceEventRecord,
    Position,
)

DEVICES_PER_CHUNK = 50
EVENTS_PER_CHUNK = 5_000


def positions_purge(older_than: dt.timedelta, *, now: dt.datetime | None = None) -> int:
    """Delete every position whose fix time is more than ``older_than`` ago; returns how many."""
    return positions_purge_before((now or timezone.now()) - older_than)


def positions_purge_before(cutoff: dt.datetime) -> int:
    """Delete every position with a fix time before ``cutoff`` (the retention registry's
    purge for the "positions" kind); returns how many."""
    removed = 0
    if partitions.is_partitioned():
        _dropped, removed = partitions.positions_drop_partitions_before(
            cutoff.astimezone(dt.UTC).date()
        )
    device_ids = list(Device.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(device_ids), DEVICES_PER_CHUNK):
        chunk = device_ids[start : start + DEVICES_PER_CHUNK]
        marks = ", ".join(["%s"] * len(chunk))
        with transaction.atomic(), connection.cursor() as cursor:
            # The primary key (device_id, time) makes each of these a range delete.
            cursor.execute(
                f'DELETE FROM tracking_position WHERE device_id IN ({marks}) AND "time" < %s',  # noqa: S608
                [*chunk, _db_time(cutoff)],
            )
            removed += max(cursor.rowcount, 0)
    return removed


def device_events_purge(older_than: dt.timedelta, *, now: dt.datetime | None = None) -> int:
    """Delete device events older than ``older_than``, a chunk at a time; returns how many."""
    return device_events_purge_before((now or timezone.now()) - older_than)


def device_events_purge_before(cutoff: dt.datetime) -> int:
    """Delete device events before ``cutoff``, a chunk at a time; returns how many."""
    removed = 0
    while True:
        ids = list(
            DeviceEventRecord.objects.filter(time__lt=cutoff)
            .order_by()
            .values_list("pk", flat=True)[:EVENTS_PER_CHUNK]
        )
        if not ids:
            return removed
        with transaction.atomic():
            removed += DeviceEventRecord.objects.filter(pk__in=ids).delete()[0]


def _db_time(value: dt.datetime) -> Any:
    field = DeviceEventRecord._meta.get_field("time")
    return field.get_db_prep_value(value, connection)


def closed_cases_tracking_purge(participant_ids: Sequence[int]) -> int:
    """Positions, device events and location commands of cases being removed (registered
    with ``participants.retention``, which runs it before deleting the participants, while
    their device assignments still say which device they wore when).

    Positions have no index on the participant, so they are found through each assignment:
    the device and the time from its start (the primary key's range), taking those stored
    for the participant or for no one within the assignment (what the record's track shows,
    ``queries.participant_positions``) and any stored for the participant after it ended.
    Device events and commands are indexed by participant and go by it and by the same
    windows. Returns how many rows went."""
    removed = 0
    ids = list(participant_ids)
    assignments = DeviceAssignment.objects.filter(participant_id__in=ids).values_list(
        "participant_id", "device_id", "started_at", "ended_at"
    )
    for participant_id, device_id, started_at, ended_at in assignments:
        theirs = Q(participant_id=participant_id)
        unclaimed = Q(participant_id__isnull=True)
        if ended_at is not None:
            unclaimed &= Q(time__lt=ended_at)
        in_window = Q(device_id=device_id, time__gte=started_at) & (theirs | unclaimed)
        removed += Position.objects.filter(in_window).delete()[0]
        removed += DeviceEventRecord.objects.filter(in_window).delete()[0]
    removed += DeviceEventRecord.objects.filter(participant_id__in=ids).delete()[0]
    removed += DeviceCommand.objects.filter(participant_id__in=ids).delete()[0]
    return removed
