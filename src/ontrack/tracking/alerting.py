"""Device events into alerts: tracking's hand-off callback for the alerts layer.

Each normalised event either raises an alert for the wearer or clears one: a charger
connected clears "low battery" and "charger not connected", GPS regained clears "GPS lost".
The condition's source is the device, so the same strap cut reported by every frame until it
is fixed stays one alert. Events of devices worn by nobody (in stock, being fitted) raise
nothing. Any report at all (a fix or an event) from a worn device clears its "no report"
alert raised by ``tracking.watchdogs.device_silence_check``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils import timezone

from ontrack.alerts.models import OPEN_STATUSES, Alert, AlertKind, AlertStatus
from ontrack.alerts.services import alert_clear, alert_raise, alerts_promote_held
from ontrack.tracking.handoff import StoredBatch, StoredEvent
from ontrack.tracking.protocols.records import EventKind

RAISES: dict[str, str] = {
    EventKind.TAMPER: AlertKind.STRAP_TAMPER,
    EventKind.DEVICE_REMOVED: AlertKind.DEVICE_REMOVAL,
    EventKind.SOS: AlertKind.SOS,
    EventKind.LOW_BATTERY: AlertKind.LOW_BATTERY,
    EventKind.CRITICAL_BATTERY: AlertKind.CRITICAL_BATTERY,
    EventKind.GPS_LOST: AlertKind.GPS_LOST,
}

# Fix times may run this far ahead of the clock (the future filter's default allows less).
PROMOTE_SLACK = dt.timedelta(minutes=10)

CLEARS: dict[str, tuple[str, ...]] = {
    EventKind.CHARGER_CONNECTED: (
        AlertKind.LOW_BATTERY,
        AlertKind.CRITICAL_BATTERY,
        AlertKind.CHARGER_NOT_CONNECTED,
    ),
    EventKind.GPS_REGAINED: (AlertKind.GPS_LOST,),
}


def device_events_to_alerts(events: Sequence[StoredEvent]) -> int:
    """Raise or clear for each event of a worn device, in time order; returns how many
    events touched an alert."""
    touched = 0
    for event in sorted(events, key=lambda e: e.time):
        if event.participant_id is None:
            continue
        source = f"device:{event.device_id}"
        if event.kind in RAISES:
            alert_raise(
                participant_id=event.participant_id,
                kind=RAISES[event.kind],
                source=source,
                occurred_at=event.time,
                device_id=event.device_id,
                details={"event": event.kind, "raw_code": event.raw_code},
            )
            touched += 1
        for kind in CLEARS.get(event.kind, ()):
            alert_clear(
                participant_id=event.participant_id,
                kind=kind,
                source=source,
                cleared_at=event.time,
            )
            touched += 1
    return touched


def reports_clear_message_gaps(batch: StoredBatch) -> int:
    """A worn device that reported is not silent: clear its open message-gap alert, as of
    its latest report in the batch. One query per batch finds the (rare) open ones."""
    latest: dict[tuple[int, int | None], dt.datetime] = {}
    reports = [(f.participant_id, f.device_id, f.time) for f in batch.fixes]
    reports += [(e.participant_id, e.device_id, e.time) for e in batch.events]
    for participant_id, device_id, time in reports:
        if participant_id is None:
            continue
        key = (participant_id, device_id)
        if key not in latest or time > latest[key]:
            latest[key] = time
    if not latest:
        return 0
    open_gaps = Alert.objects.filter(
        participant_id__in={participant_id for participant_id, _ in latest},
        kind=AlertKind.MESSAGE_GAP,
        status__in=OPEN_STATUSES,
    ).values_list("participant_id", "device_id", "source", "occurred_at")
    cleared = 0
    for wearer_id, alert_device_id, source, occurred_at in open_gaps:
        reported = latest.get((wearer_id, alert_device_id))
        if reported is None:
            continue
        cleared += alert_clear(
            participant_id=wearer_id,
            kind=AlertKind.MESSAGE_GAP,
            source=source,
            cleared_at=max(reported, occurred_at),
        )
    return cleared


def reports_promote_held(batch: StoredBatch) -> int:
    """Each wearer's latest report in the batch is condition time for their pending alerts:
    one whose grace ended before it, and that nothing in the batch cleared, held past grace
    (``alerts.services`` explains why grace is judged this way, not by the wall clock).

    Only pending alerts whose grace ends by now (plus the future filter's slack) can be
    proved so, and they are rare: one indexed read, and the batch is walked only if any."""
    horizon = timezone.now() + PROMOTE_SLACK
    waiting = set(
        Alert.objects.filter(status=AlertStatus.PENDING, visible_at__lte=horizon).values_list(
            "participant_id", flat=True
        )
    )
    if not waiting:
        return 0
    latest: dict[int, dt.datetime] = {}
    reports = [(f.participant_id, f.time) for f in batch.fixes if f.participant_id in waiting]
    reports += [(e.participant_id, e.time) for e in batch.events if e.participant_id in waiting]
    for pid, time in reports:
        if pid is not None and (pid not in latest or time > latest[pid]):
            latest[pid] = time
    return alerts_promote_held(reported=latest)


def batch_alerts(batch: StoredBatch) -> None:
    """The hand-off callback registered in ``TrackingConfig.ready``, after the zone engine's:
    raises and clears first, so that the promotion by later reports sees every clear."""
    device_events_to_alerts(batch.events)
    reports_clear_message_gaps(batch)
    reports_promote_held(batch)
