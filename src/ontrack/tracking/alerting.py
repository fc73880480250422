"""Device events into alerts: tracking's hand-off callback for the alerts layer.

Each normalised event either raises an alert for the wearer or clears one: a charger
connected clears "low battery" and "charger not connected", GPS regained clears "GPS lost".
Levels repeated in every fix are judged too: the reported battery percentage raises and
clears low and critical battery against the rule's thresholds, the charging flag clears
them, and a stored (so valid) fix clears "GPS lost" (raised by the device, or by
``tracking.watchdogs.gps_fix_check`` for a device that reports without a fix).
The condition's source is the device, so the same strap cut reported by every frame until it
is fixed stays one alert. Events of devices worn by nobody (in stock, being fitted) raise
nothing. Any report at all (a fix or an event) from a worn device clears its "no report"
alert raised by ``tracking.watchdogs.device_silence_check``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

from django.db import connection
from django.utils import timezone

from ontrack.alerts.models import OPEN_STATUSES, Alert, AlertKind, AlertRuleSetting, AlertStatus
from ontrack.alerts.rules import BATTERY_CLEAR_MARGIN_PCT, DEFAULT_RULES, rules_for_participants
from ontrack.alerts.services import alert_clear, alert_raise, alerts_promote_held
from ontrack.idlists import ids_clause
from ontrack.tracking.handoff import DeviceLevel, StoredBatch, StoredEvent
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


class OpenAlert(NamedTuple):
    """What the batch's clears and battery checks need of an open alert."""

    participant_id: int
    device_id: int | None
    kind: str
    source: str
    occurred_at: dt.datetime


BATTERY_KINDS = (AlertKind.CRITICAL_BATTERY, AlertKind.LOW_BATTERY)
# The kinds a batch's reports and levels may clear or hold against: read once per batch.
WATCHED_KINDS = (
    AlertKind.MESSAGE_GAP,
    AlertKind.GPS_LOST,
    *BATTERY_KINDS,
    AlertKind.CHARGER_NOT_CONNECTED,
)


def _as_utc(value: Any) -> dt.datetime:
    """A datetime column read raw: text on SQLite (naive UTC), aware on PostgreSQL."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def watched_alerts(participant_ids: set[int]) -> tuple[list[OpenAlert], int]:
    """The (rare) open alerts of ``WATCHED_KINDS`` for a batch's wearers, and the battery
    level above which no level can raise or clear anything (``_battery_scan_pct``), in one
    statement: the one-row maximum over the rule settings, left-joined to the alerts, so it
    comes back even when no alert is open. Every batch runs this, so it is raw SQL with the
    ids as one parameter."""
    if not participant_ids:
        return [], 0
    where, params = ids_clause("a.participant_id", sorted(participant_ids))
    kinds = ", ".join(["%s"] * len(WATCHED_KINDS))
    statuses = ", ".join(["%s"] * len(OPEN_STATUSES))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.top, a.participant_id, a.device_id, a.kind, a.source, a.occurred_at "  # noqa: S608
            f"FROM (SELECT MAX(battery_pct) AS top FROM {AlertRuleSetting._meta.db_table} "
            "WHERE kind IN (%s, %s) AND battery_pct IS NOT NULL) s "
            f"LEFT JOIN {Alert._meta.db_table} a ON {where} AND a.kind IN ({kinds}) "
            f"AND a.status IN ({statuses})",
            [*BATTERY_KINDS, *params, *WATCHED_KINDS, *OPEN_STATUSES],
        )
        rows = cursor.fetchall()
    alerts = [
        OpenAlert(pid, device_id, kind, source, _as_utc(occurred_at))
        for _top, pid, device_id, kind, source, occurred_at in rows
        if pid is not None
    ]
    return alerts, _battery_scan_pct(rows[0][0])


def reports_clear_message_gaps(batch: StoredBatch, open_alerts: Sequence[OpenAlert]) -> int:
    """A worn device that reported is not silent: clear its open message-gap alert, as of
    its latest report in the batch; and one that stored a fix (fixes are stored only when
    valid) has GPS again: clear its open GPS-lost alert as of that fix. ``open_alerts``:
    the batch's open alerts (``watched_alerts``), of which this needs those two kinds."""
    latest: dict[tuple[int, int | None], dt.datetime] = {}
    latest_fix: dict[tuple[int, int | None], dt.datetime] = {}
    for fix in batch.fixes:
        if fix.participant_id is None:
            continue
        key: tuple[int, int | None] = (fix.participant_id, fix.device_id)
        if key not in latest_fix or fix.time > latest_fix[key]:
            latest_fix[key] = fix.time
    latest.update(latest_fix)
    for event in batch.events:
        if event.participant_id is None:
            continue
        key = (event.participant_id, event.device_id)
        if key not in latest or event.time > latest[key]:
            latest[key] = event.time
    if not latest:
        return 0
    kinds = (AlertKind.MESSAGE_GAP, AlertKind.GPS_LOST)
    cleared = 0
    for alert in open_alerts:
        if alert.kind not in kinds:
            continue
        key = (alert.participant_id, alert.device_id)
        reported = (latest if alert.kind == AlertKind.MESSAGE_GAP else latest_fix).get(key)
        if reported is None:
            continue
        if alert.kind == AlertKind.GPS_LOST and reported <= alert.occurred_at:
            continue  # a fix from before GPS was lost (a late report) says nothing
        cleared += alert_clear(
            participant_id=alert.participant_id,
            kind=alert.kind,
            source=alert.source,
            cleared_at=max(reported, alert.occurred_at),
        )
    return cleared


def _battery_scan_pct(top_setting: int | None) -> int:
    """The highest level any rule calls low (the defaults, or ``top_setting``, the highest
    a program or participant set), plus the clearing margin: levels above it can neither
    raise nor clear anything, so nearly every batch stops there."""
    defaults = [DEFAULT_RULES[kind].battery_pct or 0 for kind in BATTERY_KINDS]
    return max(*defaults, top_setting or 0) + BATTERY_CLEAR_MARGIN_PCT


def levels_to_alerts(
    levels: Sequence[DeviceLevel], open_alerts: Sequence[OpenAlert], scan: int
) -> int:
    """Low and critical battery from the level the device reports in its fixes (most do not
    send a battery alarm of their own, or send it once), against the wearer's rule
    thresholds. A device on charge raises nothing; going on charge, or a level back above
    the threshold by ``BATTERY_CLEAR_MARGIN_PCT``, clears. The alert's source is the device,
    the same as for a battery alarm event, so the two are one alert. ``open_alerts`` and
    ``scan``: the batch's open alerts and battery scan level (``watched_alerts``). Returns
    how many alerts were raised or cleared."""
    worn = [lv for lv in levels if lv.participant_id is not None]
    if not worn:
        return 0
    battery_kinds = (*BATTERY_KINDS, AlertKind.CHARGER_NOT_CONNECTED)
    open_battery = {
        (a.participant_id, a.kind, a.source) for a in open_alerts if a.kind in battery_kinds
    }
    open_pids = {pid for pid, _kind, _source in open_battery}
    relevant = [
        lv
        for lv in worn
        if lv.participant_id in open_pids
        or (lv.battery_pct is not None and lv.battery_pct <= scan and not lv.charging)
    ]
    if not relevant:
        return 0
    pids = [lv.participant_id for lv in relevant if lv.participant_id is not None]
    rules = {kind: rules_for_participants(kind, pids) for kind in BATTERY_KINDS}
    touched = 0
    for lv in sorted(relevant, key=lambda level: level.time):
        pid = lv.participant_id
        if pid is None:
            continue
        source = f"device:{lv.device_id}"
        if lv.charging and (pid, AlertKind.CHARGER_NOT_CONNECTED, source) in open_battery:
            touched += alert_clear(
                participant_id=pid,
                kind=AlertKind.CHARGER_NOT_CONNECTED,
                source=source,
                cleared_at=lv.time,
            )
        for kind in BATTERY_KINDS:
            rule = rules[kind].get(pid)
            if rule is None or rule.battery_pct is None:
                continue
            if (pid, kind, source) in open_battery:
                recovered = (
                    lv.battery_pct is not None
                    and lv.battery_pct > rule.battery_pct + BATTERY_CLEAR_MARGIN_PCT
                )
                if lv.charging or recovered:
                    touched += alert_clear(
                        participant_id=pid, kind=kind, source=source, cleared_at=lv.time
                    )
            elif (
                rule.enabled
                and not lv.charging
                and lv.battery_pct is not None
                and lv.battery_pct <= rule.battery_pct
            ):
                alert = alert_raise(
                    participant_id=pid,
                    kind=kind,
                    source=source,
                    occurred_at=lv.time,
                    device_id=lv.device_id,
                    details={"battery_pct": lv.battery_pct, "threshold_pct": rule.battery_pct},
                )
                touched += alert is not None
    return touched


def reports_promote_held(batch: StoredBatch) -> int:
    """Each wearer's latest report in the batch is condition time for their pending alerts:
    one whose grace ended before it, and that nothing in the batch cleared, held past grace
    (``alerts.services`` explains why grace is judged this way, not by the wall clock).

    Only pending alerts whose grace ends by now (plus the future filter's slack) can be
    proved so, and they are rare: one narrow indexed read gives each waiting wearer's
    earliest end of grace, and only wearers whose latest report reaches it are handed to
    ``alerts_promote_held`` (none, in nearly every batch)."""
    horizon = timezone.now() + PROMOTE_SLACK
    waiting: dict[int, dt.datetime] = {}
    for pid, visible_at in Alert.objects.filter(
        status=AlertStatus.PENDING, visible_at__lte=horizon
    ).values_list("participant_id", "visible_at"):
        if pid not in waiting or visible_at < waiting[pid]:
            waiting[pid] = visible_at
    if not waiting:
        return 0
    latest: dict[int, dt.datetime] = {}
    reports = [(f.participant_id, f.time) for f in batch.fixes if f.participant_id in waiting]
    reports += [(e.participant_id, e.time) for e in batch.events if e.participant_id in waiting]
    for pid, time in reports:
        if pid is not None and (pid not in latest or time > latest[pid]):
            latest[pid] = time
    due = {pid: time for pid, time in latest.items() if time >= waiting[pid]}
    return alerts_promote_held(reported=due)


def batch_alerts(batch: StoredBatch) -> None:
    """The hand-off callback registered in ``TrackingConfig.ready``, after the zone engine's:
    raises and clears first, so that the promotion by later reports sees every clear. The
    open alerts that reports and levels act on are read once, after the events: the clears
    by reports touch message-gap and GPS-lost alerts only, which the levels do not read."""
    device_events_to_alerts(batch.events)
    reporting = {f.participant_id for f in batch.fixes}
    reporting.update(e.participant_id for e in batch.events)
    reporting.update(lv.participant_id for lv in batch.levels)
    open_alerts, scan = watched_alerts({pid for pid in reporting if pid is not None})
    reports_clear_message_gaps(batch, open_alerts)
    levels_to_alerts(batch.levels, open_alerts, scan)
    reports_promote_held(batch)
