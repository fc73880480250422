"""Watchdogs over worn devices: alerts for what a device did *not* report.

A fix or an event raises its alert when it arrives (``tracking.alerting``); silence cannot.
``device_silence_check`` (every 5 minutes) raises ``message_gap`` when a worn device has
not reported for the first of its rule's tiers (default 30 min, 2 h, 24 h) and raises the
same alert's priority as each further tier passes; the device's next report clears it.
This is also the answer to "no exit when a device dies inside a zone": the dead device is
an alert of its own.

``charger_check`` (every 30 minutes) raises ``charger_not_connected`` when a worn device has
not been on charge for the rule's hours. Devices tell us about charging in two ways:
charger connected / disconnected events (stored as ``DeviceEventRecord``), or only a
"charging" flag in their status reports (GT06), which moves ``Device.charging`` but leaves no
record of when. For the latter the check records the flag's change as a charger event
(``raw_code="charging flag"``) when it sees one, so that "last on charge" has a time for
every protocol; such an event is only as precise as the check's interval.

``gps_fix_check`` (every 5 minutes) raises ``gps_lost`` when a worn device keeps reporting
but has stored no valid fix for the rule's minutes.

All judge silence by ``Device.last_seen_at`` (when we last received anything from it), not
by fix time: a device that reports without a GPS fix is not silent.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from ontrack.alerts.models import OPEN_STATUSES, Alert, AlertKind, AlertRuleSetting, Priority
from ontrack.alerts.rules import DEFAULT_RULES, rules_for_participants
from ontrack.alerts.services import alert_clear, alert_escalate, alert_raise
from ontrack.tracking.models import DeviceAssignment, DeviceEventRecord
from ontrack.tracking.protocols.records import EventKind

logger = logging.getLogger(__name__)

CHARGER_FLAG = "charging flag"
_CHARGER_EVENTS = (EventKind.CHARGER_CONNECTED, EventKind.CHARGER_DISCONNECTED)


@dataclass(frozen=True, slots=True)
class _Worn:
    device_id: int
    participant_id: int
    started_at: dt.datetime
    last_seen_at: dt.datetime | None


def _source(device_id: int) -> str:
    return f"device:{device_id}"


def _open_alerts(kind: str) -> list[Alert]:
    return list(Alert.objects.filter(kind=kind, status__in=OPEN_STATUSES, device_id__isnull=False))


def _clear_unworn(kind: str, worn: set[tuple[int, int]], now: dt.datetime) -> int:
    """A device taken back (or moved to someone else) no longer speaks for its old wearer:
    close their alerts about it."""
    cleared = 0
    for alert in _open_alerts(kind):
        if alert.device_id is not None and (alert.participant_id, alert.device_id) not in worn:
            cleared += alert_clear(
                participant_id=alert.participant_id,
                kind=kind,
                source=alert.source,
                cleared_at=now,
            )
    return cleared


def _smallest_first_tier() -> int:
    """The shortest silence any rule calls a gap, so that the check reads only devices
    silent at least that long."""
    firsts = [min(DEFAULT_RULES[AlertKind.MESSAGE_GAP].gap_tiers_minutes)]
    for tiers in AlertRuleSetting.objects.filter(
        kind=AlertKind.MESSAGE_GAP, gap_tiers_minutes__isnull=False
    ).values_list("gap_tiers_minutes", flat=True):
        if tiers:
            firsts.append(min(int(t) for t in tiers))
    return min(firsts)


def device_silence_check(*, now: dt.datetime | None = None) -> int:
    """Raise or escalate ``message_gap`` for every worn device silent past a tier of its
    wearer's rule; clear the alerts of devices that reported again or were taken back.
    Returns how many alerts were raised or escalated."""
    now = now or timezone.now()
    worn_pairs = set(
        DeviceAssignment.objects.filter(ended_at__isnull=True).values_list(
            "participant_id", "device_id"
        )
    )
    _clear_unworn(AlertKind.MESSAGE_GAP, worn_pairs, now)

    last_seen = dict(
        DeviceAssignment.objects.filter(ended_at__isnull=True).values_list(
            "device_id", "device__last_seen_at"
        )
    )
    for alert in _open_alerts(AlertKind.MESSAGE_GAP):
        seen = last_seen.get(alert.device_id or 0)
        since = alert.details.get("silent_since")
        if seen is not None and isinstance(since, str) and seen > dt.datetime.fromisoformat(since):
            alert_clear(
                participant_id=alert.participant_id,
                kind=AlertKind.MESSAGE_GAP,
                source=alert.source,
                cleared_at=max(seen, alert.occurred_at),
            )

    horizon = now - dt.timedelta(minutes=_smallest_first_tier())
    silent = [
        _Worn(*row)
        for row in DeviceAssignment.objects.filter(ended_at__isnull=True, started_at__lte=horizon)
        .filter(Q(device__last_seen_at__isnull=True) | Q(device__last_seen_at__lte=horizon))
        .values_list("device_id", "participant_id", "started_at", "device__last_seen_at")
    ]
    if not silent:
        return 0
    rules = rules_for_participants(AlertKind.MESSAGE_GAP, [w.participant_id for w in silent])
    open_by_source = {(a.participant_id, a.source): a for a in _open_alerts(AlertKind.MESSAGE_GAP)}
    changed = 0
    for worn in silent:
        rule = rules.get(worn.participant_id)
        if rule is None or not rule.enabled or not rule.gap_tiers_minutes:
            continue
        silent_since = max(worn.started_at, worn.last_seen_at or worn.started_at)
        silent_minutes = (now - silent_since).total_seconds() / 60
        crossed = [t for t in rule.gap_tiers_minutes if silent_minutes >= t]
        if not crossed:
            continue
        tier = crossed[-1]
        priority = min(rule.priority + len(crossed) - 1, Priority.CRITICAL)
        details: dict[str, object] = {
            "tier_minutes": tier,
            "silent_since": silent_since.isoformat(),
        }
        source = _source(worn.device_id)
        existing = open_by_source.get((worn.participant_id, source))
        if existing is None:
            raised = alert_raise(
                participant_id=worn.participant_id,
                kind=AlertKind.MESSAGE_GAP,
                source=source,
                occurred_at=silent_since + dt.timedelta(minutes=rule.gap_tiers_minutes[0]),
                details=details,
                device_id=worn.device_id,
                min_priority=priority,
                now=now,
            )
            if raised is not None:
                changed += 1
                logger.info(
                    "message gap raised device=%s participant=%s tier_minutes=%s",
                    worn.device_id,
                    worn.participant_id,
                    tier,
                )
        elif existing.details.get("tier_minutes", 0) < tier:
            escalated = alert_escalate(
                alert_id=existing.pk,
                priority=priority,
                note=f"no report for {tier} minutes",
                details=details,
                now=now,
            )
            if escalated is not None:
                changed += 1
    return changed


def _record_flag_changes(
    rows: list[tuple[int, int, bool | None, dt.datetime | None, str | None, dt.datetime | None]],
    now: dt.datetime,
) -> dict[int, dt.datetime]:
    """Turn a change of the charging flag that no charger event reported into one. Returns
    the time recorded per device."""
    records = []
    for device_id, participant_id, charging, last_fix, last_kind, last_time in rows:
        if charging is None or charging == (last_kind == EventKind.CHARGER_CONNECTED):
            continue
        at = min(last_fix or now, now)
        if last_time is not None and at <= last_time:
            at = now
        kind = EventKind.CHARGER_CONNECTED if charging else EventKind.CHARGER_DISCONNECTED
        records.append(
            DeviceEventRecord(
                device_id=device_id,
                participant_id=participant_id,
                time=at,
                kind=str(kind),
                raw_code=CHARGER_FLAG,
                received_at=now,
            )
        )
    DeviceEventRecord.objects.bulk_create(records)
    return {record.device_id: record.time for record in records}


def charger_check(*, now: dt.datetime | None = None) -> int:
    """Raise ``charger_not_connected`` for every worn device off charge for its wearer's
    rule's hours; clear it for devices on charge or taken back. A device that has never said
    anything about charging (no flag, no event) is not judged. Returns how many alerts were
    raised."""
    now = now or timezone.now()
    latest = DeviceEventRecord.objects.filter(
        device_id=OuterRef("device_id"), kind__in=[str(k) for k in _CHARGER_EVENTS]
    ).order_by("-time", "-id")
    assignments = DeviceAssignment.objects.filter(ended_at__isnull=True).annotate(
        last_kind=Subquery(latest.values("kind")[:1]),
        last_time=Subquery(latest.values("time")[:1]),
    )
    rows = list(
        assignments.values_list(
            "device_id",
            "participant_id",
            "device__charging",
            "device__last_fix_time",
            "last_kind",
            "last_time",
            "started_at",
        )
    )
    _clear_unworn(AlertKind.CHARGER_NOT_CONNECTED, {(r[1], r[0]) for r in rows}, now)
    recorded = _record_flag_changes([r[:6] for r in rows], now)
    open_alerts = {
        (a.participant_id, a.source) for a in _open_alerts(AlertKind.CHARGER_NOT_CONNECTED)
    }
    rules = rules_for_participants(AlertKind.CHARGER_NOT_CONNECTED, [r[1] for r in rows])
    raised = 0
    for device_id, participant_id, charging, _fix, _kind, last_time, started_at in rows:
        source = _source(device_id)
        is_open = (participant_id, source) in open_alerts
        if charging:
            if is_open:
                alert_clear(
                    participant_id=participant_id,
                    kind=AlertKind.CHARGER_NOT_CONNECTED,
                    source=source,
                    cleared_at=now,
                )
            continue
        last_event = recorded.get(device_id, last_time)
        rule = rules.get(participant_id)
        if is_open or (last_event is None and charging is None):
            continue
        if rule is None or not rule.enabled or rule.charger_hours is None:
            continue
        last_on_charge = max(last_event or started_at, started_at)
        due = last_on_charge + dt.timedelta(hours=rule.charger_hours)
        if now < due:
            continue
        alert = alert_raise(
            participant_id=participant_id,
            kind=AlertKind.CHARGER_NOT_CONNECTED,
            source=source,
            occurred_at=due,
            details={"last_charged_at": last_on_charge.isoformat(), "hours": rule.charger_hours},
            device_id=device_id,
            now=now,
        )
        if alert is not None:
            raised += 1
            logger.info(
                "charger alert raised device=%s participant=%s hours=%s",
                device_id,
                participant_id,
                rule.charger_hours,
            )
    return raised


def gps_fix_check(*, now: dt.datetime | None = None) -> int:
    """Raise ``gps_lost`` for every worn device that keeps reporting but has stored no
    valid fix for its wearer's rule's minutes (``no_fix_minutes``, default 30): the device
    is alive (not a message gap) but cannot say where it is, and most devices never send a
    "GPS lost" alarm of their own. The condition began when the minutes ran out after the
    last fix (or the fitting); the rule's grace then applies as for any alert. Open GPS-lost
    alerts of devices that stored a fix since (usually already cleared by that fix, in
    ``tracking.alerting``) or that were taken back are cleared. Returns how many were
    raised."""
    now = now or timezone.now()
    rows = list(
        DeviceAssignment.objects.filter(ended_at__isnull=True).values_list(
            "device_id",
            "participant_id",
            "started_at",
            "device__last_seen_at",
            "device__last_fix_time",
        )
    )
    _clear_unworn(AlertKind.GPS_LOST, {(r[1], r[0]) for r in rows}, now)
    last_fix = {device_id: fix_time for device_id, _p, _s, _seen, fix_time in rows}
    open_alerts: dict[tuple[int, str], Alert] = {}
    for alert in _open_alerts(AlertKind.GPS_LOST):
        fixed = last_fix.get(alert.device_id or 0)
        if fixed is not None and fixed > alert.occurred_at:
            alert_clear(
                participant_id=alert.participant_id,
                kind=AlertKind.GPS_LOST,
                source=alert.source,
                cleared_at=fixed,
                now=now,
            )
        else:
            open_alerts[(alert.participant_id, alert.source)] = alert
    rules = rules_for_participants(AlertKind.GPS_LOST, [r[1] for r in rows])
    raised = 0
    for device_id, participant_id, started_at, seen, fix_time in rows:
        rule = rules.get(participant_id)
        if rule is None or not rule.enabled or not rule.no_fix_minutes or seen is None:
            continue
        source = _source(device_id)
        if (participant_id, source) in open_alerts:
            continue
        since = max(fix_time or started_at, started_at)
        lost_at = since + dt.timedelta(minutes=rule.no_fix_minutes)
        if seen < lost_at or now < lost_at:
            continue  # a fix within the minutes, or no report since they ran out
        lost = alert_raise(
            participant_id=participant_id,
            kind=AlertKind.GPS_LOST,
            source=source,
            occurred_at=lost_at,
            details={"last_fix_at": since.isoformat(), "minutes": rule.no_fix_minutes},
            device_id=device_id,
            now=now,
        )
        if lost is not None:
            raised += 1
            logger.info(
                "gps lost raised device=%s participant=%s minutes=%s",
                device_id,
                participant_id,
                rule.no_fix_minutes,
            )
    return raised
