"""Every write of the tracking app: storing what devices report, and the device lifecycle.

``store_batch`` is the hot path (DESIGN.md, "Hot path: a position"): the gateway calls it with
a batch of decoded records, at most every 100 ms. It filters fixes, writes positions and
device events with one ``executemany`` each, moves each device's "last seen / last fix"
forward, commits, and only then hands the batch to zones and alerts. A fix without a valid
position is stored marked invalid: it moves "last seen" (the device reported) but neither
"last fix" nor anything handed to zones and alerts. It raises
``django.db.DatabaseError`` when the database is away, having written nothing, so that the
gateway can spool the batch and replay it later.

The lifecycle functions (register, assign, unassign, swap, lost, retire) check the actor's
permission, write in one transaction, and record the change on the participant's timeline
through ``participants.services`` -- in that order, in one place.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ontrack.accounts.models import Office, Role, User
from ontrack.participants.models import EventKind as ParticipantEventKind
from ontrack.participants.models import Participant, Status
from ontrack.participants.queries import can_write_participant
from ontrack.participants.services import CaseChange, participant_event_record
from ontrack.schedule.models import TaskKind
from ontrack.schedule.services import task_open, task_source_done
from ontrack.tracking import filters, handoff, partitions
from ontrack.tracking.models import (
    DEVICE_TRANSITIONS,
    CommandStatus,
    Device,
    DeviceAssignment,
    DeviceCommand,
    DeviceKind,
    DeviceStatus,
    DirectoryVersion,
    Protocol,
)
from ontrack.tracking.protocols.records import DeviceEvent, EventKind, Fix
from ontrack.tracking.queries import device_current_wearer
from ontrack.tracking.retention import device_events_purge, positions_purge

__all__ = ["device_events_purge", "positions_purge"]  # retention lives in its own module

# --------------------------------------------------------------------------------------
# The gateway's view of the devices


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What the gateway needs to know about a device to store what it sends, without a
    query per frame."""

    id: int
    identifier: str
    kind: str
    protocol: str
    participant_id: int | None
    time_offset_minutes: int


def directory_changed() -> None:
    """Tell every gateway to reload its device directory (see ``DirectoryVersion``); call
    in the transaction of the change, so that the reload sees it."""
    now = timezone.now()
    if not DirectoryVersion.objects.filter(pk=1).update(version=F("version") + 1, changed_at=now):
        DirectoryVersion.objects.get_or_create(pk=1, defaults={"version": 1, "changed_at": now})


def directory_version() -> int:
    version: int | None = (
        DirectoryVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    )
    return version or 0


def device_directory() -> dict[str, DeviceInfo]:
    """Identifier -> info for every device that may report (all but retired ones), with the
    participant who wears it now. Two queries, whatever the fleet size; the gateway reloads
    it periodically."""
    wearer = dict(
        DeviceAssignment.objects.filter(ended_at__isnull=True).values_list(
            "device_id", "participant_id"
        )
    )
    rows = (
        Device.objects.exclude(status=DeviceStatus.RETIRED)
        .order_by()
        .values_list("id", "identifier", "kind", "protocol", "time_offset_minutes")
    )
    return {
        identifier: DeviceInfo(
            id=pk,
            identifier=identifier,
            kind=kind,
            protocol=protocol,
            participant_id=wearer.get(pk),
            time_offset_minutes=offset,
        )
        for pk, identifier, kind, protocol, offset in rows
    }


# --------------------------------------------------------------------------------------
# Storing a batch


@dataclass
class StoreResult:
    stored_fixes: int  # valid and invalid
    stored_events: int
    dropped: dict[str, int] = field(default_factory=dict)  # filter reason -> count
    # invalid reason -> count, of the fixes written (one already stored counts here and as a
    # duplicate: telling them apart would cost a read for a counter)
    invalid: dict[str, int] = field(default_factory=dict)


_INSERT_POSITION = (
    'INSERT INTO tracking_position (device_id, participant_id, "time", lat, lon, accuracy_m, '
    "speed_kmh, course, altitude_m, satellites, valid, invalid_reason, received_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)
_INSERT_EVENT = (
    'INSERT INTO tracking_deviceeventrecord (device_id, participant_id, "time", kind, raw_code, '
    "attributes, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
# Only a newer fix moves "latest": a late or replayed fix is stored for the track but must not
# pull the device's last position back in time.
_UPDATE_LAST_FIX = (
    "UPDATE tracking_device SET last_fix_time = %s, last_lat = %s, last_lon = %s, "
    "last_accuracy_m = %s, battery_pct = COALESCE(%s, battery_pct), "
    "charging = COALESCE(%s, charging) "
    "WHERE id = %s AND (last_fix_time IS NULL OR last_fix_time < %s)"
)
_UPDATE_CHARGING = (
    "UPDATE tracking_device SET charging = %s "
    "WHERE id = %s AND (last_fix_time IS NULL OR last_fix_time <= %s)"
)

# PostgreSQL: rows travel by binary COPY into two session-local staging tables, and each table
# is then emptied by the one statement that uses it. Django's psycopg cursor binds parameters
# client-side, i.e. it quotes every array element in Python: sending a batch as unnest(...)
# arrays cost more than the database's own work. ON COMMIT DELETE ROWS cleans up after a
# rolled-back or nested batch; IF NOT EXISTS in the batch's own transaction keeps this correct
# when that transaction (or an enclosing one) rolls back, and behind a transaction pooler.
_PG_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS ontrack_position_staging (device_id bigint, "
    'participant_id bigint, "time" timestamptz, lat float8, lon float8, accuracy_m float8, '
    "speed_kmh float8, course float8, altitude_m float8, satellites smallint, valid boolean, "
    "invalid_reason varchar(24), received_at timestamptz) ON COMMIT DELETE ROWS; "
    "CREATE TEMP TABLE IF NOT EXISTS ontrack_device_staging (id bigint, t timestamptz, "
    "lat float8, lon float8, acc float8, bat smallint, chg boolean) ON COMMIT DELETE ROWS"
)
_PG_POSITION_COLUMNS = (
    'device_id, participant_id, "time", lat, lon, accuracy_m, speed_kmh, course, altitude_m, '
    "satellites, valid, invalid_reason, received_at"
)
_PG_POSITION_TYPES = [
    "int8", "int8", "timestamptz", "float8", "float8", "float8", "float8", "float8", "float8",
    "int2", "bool", "text", "timestamptz",
]  # fmt: skip
_PG_COPY_POSITIONS = (
    f"COPY pg_temp.ontrack_position_staging ({_PG_POSITION_COLUMNS}) FROM STDIN (FORMAT BINARY)"
)
# RETURNING names exactly the fixes inserted now, so that only those are handed off.
_PG_INSERT_POSITIONS = (
    "WITH s AS (DELETE FROM pg_temp.ontrack_position_staging RETURNING *) "  # noqa: S608
    f"INSERT INTO tracking_position ({_PG_POSITION_COLUMNS}) "
    f'SELECT {_PG_POSITION_COLUMNS} FROM s ORDER BY device_id, "time" '
    'ON CONFLICT DO NOTHING RETURNING device_id, "time"'
)
_PG_DEVICE_TYPES = ["int8", "timestamptz", "float8", "float8", "float8", "int2", "bool"]
_PG_COPY_DEVICES = (
    "COPY pg_temp.ontrack_device_staging (id, t, lat, lon, acc, bat, chg) "
    "FROM STDIN (FORMAT BINARY)"
)
# One row per device seen: "last seen" moves forward; the latest fix (and the battery and
# charging it reported) moves only for a newer fix, as _UPDATE_LAST_FIX. Every CASE reads the
# row as it was, so this is the two updates of the SQLite path in one pass over each device.
_PG_NEWER_FIX = "(v.t IS NOT NULL AND (d.last_fix_time IS NULL OR d.last_fix_time < v.t))"
_PG_UPDATE_DEVICES = (
    "WITH v AS (DELETE FROM pg_temp.ontrack_device_staging RETURNING *) "  # noqa: S608
    "UPDATE tracking_device AS d SET "
    "last_seen_at = CASE WHEN d.last_seen_at IS NULL OR d.last_seen_at < %s THEN %s "
    "ELSE d.last_seen_at END, "
    f"last_fix_time = CASE WHEN {_PG_NEWER_FIX} THEN v.t ELSE d.last_fix_time END, "
    f"last_lat = CASE WHEN {_PG_NEWER_FIX} THEN v.lat ELSE d.last_lat END, "
    f"last_lon = CASE WHEN {_PG_NEWER_FIX} THEN v.lon ELSE d.last_lon END, "
    f"last_accuracy_m = CASE WHEN {_PG_NEWER_FIX} THEN v.acc ELSE d.last_accuracy_m END, "
    f"battery_pct = CASE WHEN {_PG_NEWER_FIX} THEN COALESCE(v.bat, d.battery_pct) "
    "ELSE d.battery_pct END, "
    f"charging = CASE WHEN {_PG_NEWER_FIX} THEN COALESCE(v.chg, d.charging) "
    "ELSE d.charging END "
    "FROM v WHERE d.id = v.id "
    f"AND (d.last_seen_at IS NULL OR d.last_seen_at < %s OR {_PG_NEWER_FIX})"
)

_rules_cache: tuple[int, dict[str, filters.FilterRules]] | None = None


def _filter_rules() -> dict[str, filters.FilterRules]:
    """The filter rules from settings, parsed once (and again if the setting is replaced,
    as ``override_settings`` does in tests)."""
    global _rules_cache
    config = settings.ONTRACK_TRACKING_FILTERS
    if _rules_cache is None or _rules_cache[0] != id(config):
        _rules_cache = (id(config), filters.rules_from_settings(config))
    return _rules_cache[1]


def _time_adapter() -> Any:
    """How a UTC datetime goes into a raw query on this database.

    SQLite stores Django datetimes as naive UTC text ("YYYY-MM-DD HH:MM:SS[.ffffff]") and
    compares them as text, so raw inserts must use exactly the ORM's format; PostgreSQL takes
    the aware datetime as it is.
    """
    if connection.vendor == "sqlite":
        return _sqlite_time
    return lambda value: value


def _sqlite_time(value: dt.datetime) -> str:
    if value.tzinfo is dt.UTC:  # what every decoder returns: skip the conversion
        return str(value)[:-6]  # drop "+00:00"
    return str(value.astimezone(dt.UTC).replace(tzinfo=None))


_CHARGER_EVENTS = {EventKind.CHARGER_CONNECTED: True, EventKind.CHARGER_DISCONNECTED: False}


def store_batch(
    items: Sequence[tuple[DeviceInfo, Fix | DeviceEvent]], *, received_at: dt.datetime
) -> StoreResult:
    """Filter, store and hand off one batch; all of it or (raising) none of it.

    An invalid fix (``filters.invalid_reason``) is stored with its reason and counted in
    ``StoreResult.invalid``; it is not handed to zones and alerts, moves no "last fix", and
    its battery and charging readings are not taken (they travel with a position).
    A fix whose ``(device, time)`` is already stored, or appears earlier in the batch, is
    dropped as ``"duplicate"`` (a device is in one place at one instant; the first report
    wins). The future-time filter compares with ``received_at``, so a batch replayed from the
    spool hours later is judged as it would have been on arrival.
    """
    rules = _filter_rules()
    default_rules = filters.rules_for(rules, "default")
    adapt = _time_adapter()
    received_db = adapt(received_at)
    dropped: Counter[str] = Counter()
    invalid: Counter[str] = Counter()
    seen: set[tuple[int, dt.datetime]] = set()
    rows: list[tuple[Any, ...]] = []
    stored_fixes: list[handoff.StoredFix] = []
    event_rows: list[tuple[Any, ...]] = []
    stored_events: list[handoff.StoredEvent] = []
    devices_seen: set[int] = set()
    newest: dict[int, tuple[Fix, Any]] = {}
    battery: dict[int, tuple[dt.datetime, int]] = {}
    charging: dict[int, tuple[dt.datetime, bool]] = {}
    charger_events: dict[int, tuple[dt.datetime, bool]] = {}
    wearers: dict[int, int | None] = {}  # devices that reported a level: their wearer
    days: set[dt.date] = set()
    # Per device kind: its rules and the latest fix time that passes the future filter; a fix
    # that is valid, not at 0,0, not in the future and without an accuracy to judge passes
    # without the full rule check (nearly every fix on the hot path).
    limits: dict[str, tuple[filters.FilterRules, dt.datetime, bool]] = {}
    # A batch holds few distinct fix times (devices report the same seconds, and decoders
    # share the datetime objects), and formatting one for the database is the dearest step.
    times_db: dict[dt.datetime, Any] = {}
    for info, record in items:
        device_id = info.id
        devices_seen.add(device_id)
        if isinstance(record, Fix):
            limit = limits.get(info.kind)
            if limit is None:
                kind_rules = rules.get(info.kind, default_rules)
                limit = limits[info.kind] = (
                    kind_rules,
                    received_at + dt.timedelta(seconds=kind_rules.max_future_s),
                    kind_rules.max_accuracy_m is None,
                )
            fix_time = record.time
            invalid_reason = ""
            if not (
                record.valid
                and (record.lat or record.lon)
                and fix_time < limit[1]
                and (limit[2] or record.accuracy_m is None)
            ):
                reason = filters.fix_rejection(record, limit[0], now=received_at)
                if reason is not None:
                    dropped[reason] += 1
                    continue
                invalid_reason = filters.invalid_reason(record)
            key = (device_id, fix_time)
            if key in seen:
                dropped[filters.DUPLICATE] += 1
                continue
            seen.add(key)
            time_db = times_db.get(fix_time)
            if time_db is None:
                time_db = times_db[fix_time] = adapt(fix_time)
            if invalid_reason:
                invalid[invalid_reason] += 1
                no_position = invalid_reason == filters.NO_FIX
                rows.append(
                    (
                        device_id,
                        info.participant_id,
                        time_db,
                        None if no_position else record.lat,
                        None if no_position else record.lon,
                        record.accuracy_m,
                        record.speed_kmh,
                        record.course,
                        record.altitude_m,
                        record.satellites,
                        False,
                        invalid_reason,
                        received_db,
                    )
                )
                continue
            assert record.lat is not None and record.lon is not None  # a valid fix has both
            rows.append(
                (
                    device_id,
                    info.participant_id,
                    time_db,
                    record.lat,
                    record.lon,
                    record.accuracy_m,
                    record.speed_kmh,
                    record.course,
                    record.altitude_m,
                    record.satellites,
                    True,
                    "",
                    received_db,
                )
            )
            stored_fixes.append(
                handoff.StoredFix(
                    device_id,
                    info.participant_id,
                    record.time,
                    record.lat,
                    record.lon,
                    record.accuracy_m,
                )
            )
            current = newest.get(device_id)
            if current is None or record.time > current[0].time:
                newest[device_id] = (record, time_db)
            if record.battery_pct is not None:
                seen_battery = battery.get(device_id)
                if seen_battery is None or record.time >= seen_battery[0]:
                    battery[device_id] = (record.time, record.battery_pct)
                    wearers[device_id] = info.participant_id
            flag = record.attributes.get("charging") if record.attributes else None
            if isinstance(flag, bool):
                seen_charging = charging.get(device_id)
                if seen_charging is None or record.time >= seen_charging[0]:
                    charging[device_id] = (record.time, flag)
                    wearers[device_id] = info.participant_id
        else:
            event_rows.append(
                (
                    device_id,
                    info.participant_id,
                    adapt(record.time),
                    str(record.kind),
                    record.raw_code[:60],
                    json.dumps(record.attributes, default=str),
                    received_db,
                )
            )
            stored_events.append(
                handoff.StoredEvent(
                    device_id, info.participant_id, record.time, str(record.kind), record.raw_code
                )
            )
            if record.kind in _CHARGER_EVENTS:
                seen_charging = charger_events.get(device_id)
                if seen_charging is None or record.time >= seen_charging[0]:
                    charger_events[device_id] = (record.time, _CHARGER_EVENTS[record.kind])
    if partitions.is_partitioned() and rows:
        days = {
            (fix_time if fix_time.tzinfo is dt.UTC else fix_time.astimezone(dt.UTC)).date()
            for fix_time in times_db
        }
        partitions.positions_ensure_days(days)

    last_fix_rows = [
        (
            time_db,
            fix.lat,
            fix.lon,
            fix.accuracy_m,
            battery[device_id][1] if device_id in battery else None,
            charging[device_id][1] if device_id in charging else None,
            device_id,
            time_db,
        )
        for device_id, (fix, time_db) in newest.items()
    ]
    # A charger event moves the flag only if no later fix already said otherwise.
    charging_rows = [
        (flag, device_id, adapt(at))
        for device_id, (at, flag) in charger_events.items()
        if device_id not in charging or charging[device_id][0] < at
    ]
    if event_rows:
        event_rows, stored_events = _events_not_stored(event_rows, stored_events)
    inserted = 0
    if connection.vendor == "postgresql":
        inserted, stored_fixes = _write_postgresql(
            rows, stored_fixes, event_rows, devices_seen, last_fix_rows, charging_rows, received_db
        )
    else:
        with transaction.atomic(), connection.cursor() as cursor:
            if rows:
                cursor.executemany(_INSERT_POSITION, rows)
                inserted = cursor.rowcount if cursor.rowcount >= 0 else len(rows)
            if event_rows:
                cursor.executemany(_INSERT_EVENT, event_rows)
            if devices_seen:
                ids = sorted(devices_seen)
                marks = ", ".join(["%s"] * len(ids))
                cursor.execute(
                    f"UPDATE tracking_device SET last_seen_at = %s WHERE id IN ({marks}) "  # noqa: S608
                    "AND (last_seen_at IS NULL OR last_seen_at < %s)",
                    [received_db, *ids, received_db],
                )
            if last_fix_rows:
                cursor.executemany(_UPDATE_LAST_FIX, last_fix_rows)
            if charging_rows:
                cursor.executemany(_UPDATE_CHARGING, charging_rows)
            if inserted < len(rows):
                stored_fixes = _only_inserted(cursor, stored_fixes, received_db, adapt)
    if inserted < len(rows):
        dropped[filters.DUPLICATE] += len(rows) - inserted
    levels: list[handoff.DeviceLevel] = []
    for device_id, wearer in wearers.items():
        level, flag_at = battery.get(device_id), charging.get(device_id)
        levels.append(
            handoff.DeviceLevel(
                device_id,
                wearer,
                max(seen[0] for seen in (level, flag_at) if seen is not None),
                level[1] if level is not None else None,
                flag_at[1] if flag_at is not None else None,
            )
        )
    handoff.dispatch(handoff.StoredBatch(fixes=stored_fixes, events=stored_events, levels=levels))
    return StoreResult(
        stored_fixes=inserted,
        stored_events=len(event_rows),
        dropped=dict(dropped),
        invalid=dict(invalid),
    )


def _write_postgresql(
    rows: list[tuple[Any, ...]],
    stored_fixes: list[handoff.StoredFix],
    event_rows: list[tuple[Any, ...]],
    devices_seen: set[int],
    last_fix_rows: list[tuple[Any, ...]],
    charging_rows: list[tuple[Any, ...]],
    received_db: Any,
) -> tuple[int, list[handoff.StoredFix]]:
    """The PostgreSQL writes of ``store_batch``, in one transaction: positions and device
    state by COPY into staging tables, then one statement each. Returns the number of fixes
    inserted and those fixes (the others were already stored)."""
    inserted = 0
    latest = {row[6]: row[:6] for row in last_fix_rows}  # device -> time, lat, lon, acc, ...
    no_fix = (None, None, None, None, None, None)
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: COPY is not part of Django's API
        cursor.execute(_PG_STAGING)
        if rows:
            with connection.wrap_database_errors, raw.copy(_PG_COPY_POSITIONS) as copy:
                copy.set_types(_PG_POSITION_TYPES)
                for row in rows:
                    copy.write_row(row)
            cursor.execute(_PG_INSERT_POSITIONS)
            inserted = cursor.rowcount
            if inserted < len(rows):
                kept = set(cursor.fetchall())  # aware datetimes: equal instants hash alike
                stored_fixes = [fix for fix in stored_fixes if (fix.device_id, fix.time) in kept]
        if event_rows:
            cursor.executemany(_INSERT_EVENT, event_rows)
        if devices_seen:
            with connection.wrap_database_errors, raw.copy(_PG_COPY_DEVICES) as copy:
                copy.set_types(_PG_DEVICE_TYPES)
                for device_id in sorted(devices_seen):  # rows locked in id order
                    copy.write_row((device_id, *latest.get(device_id, no_fix)))
            cursor.execute(_PG_UPDATE_DEVICES, [received_db, received_db, received_db])
        if charging_rows:
            cursor.executemany(_UPDATE_CHARGING, charging_rows)
    return inserted, stored_fixes


def _events_not_stored(
    event_rows: list[tuple[Any, ...]], stored_events: list[handoff.StoredEvent]
) -> tuple[list[tuple[Any, ...]], list[handoff.StoredEvent]]:
    """Drop the events already stored (or repeated in this batch): a batch replayed from the
    spool, or a device that resends an alarm it got no acknowledgement for, must not store an
    event twice nor hand it to the alerts twice. An event is the same when device, time, kind
    and vendor code are. Events are few, so one indexed read per batch that has any."""
    ids = sorted({row[0] for row in event_rows})
    marks = ", ".join(["%s"] * len(ids))
    times = [row[2] for row in event_rows]
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT device_id, "time", kind, raw_code FROM tracking_deviceeventrecord '  # noqa: S608
            f'WHERE device_id IN ({marks}) AND "time" >= %s AND "time" <= %s',
            [*ids, min(times), max(times)],
        )
        seen = {(device, _as_utc(at), kind, code) for device, at, kind, code in cursor.fetchall()}
    rows: list[tuple[Any, ...]] = []
    events: list[handoff.StoredEvent] = []
    for row, event in zip(event_rows, stored_events, strict=True):
        key = (row[0], event.time.astimezone(dt.UTC), row[3], row[4])
        if key not in seen:
            seen.add(key)
            rows.append(row)
            events.append(event)
    return rows, events


def _only_inserted(
    cursor: Any, fixes: list[handoff.StoredFix], received_db: Any, adapt: Any
) -> list[handoff.StoredFix]:
    """The fixes of this batch that the insert kept (the others were already stored), so
    that zones and alerts are not handed a position twice. Rare path: only runs when the
    database reported conflicts."""
    ids = sorted({fix.device_id for fix in fixes})
    start = min(fix.time for fix in fixes)
    end = max(fix.time for fix in fixes)
    marks = ", ".join(["%s"] * len(ids))
    cursor.execute(
        f'SELECT device_id, "time" FROM tracking_position WHERE device_id IN ({marks}) '  # noqa: S608
        'AND "time" >= %s AND "time" <= %s AND received_at = %s',
        [*ids, adapt(start), adapt(end), received_db],
    )
    kept = {(device_id, _as_utc(value)) for device_id, value in cursor.fetchall()}
    return [fix for fix in fixes if (fix.device_id, fix.time.astimezone(dt.UTC)) in kept]


def _as_utc(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


# --------------------------------------------------------------------------------------
# Device lifecycle


def can_manage_devices(actor: User, office_id: int | None) -> bool:
    """Administrators manage every device; a supervisor those of their own office (not the
    unallocated ones, ``office_id=None``)."""
    if not actor.is_active:
        return False
    if actor.role == Role.ADMINISTRATOR:
        return True
    return actor.role == Role.SUPERVISOR and office_id is not None and office_id == actor.office_id


def device_manager_offices(actor: User) -> QuerySet[Office]:
    """The offices ``actor`` may register and manage devices for: every office for an
    administrator, their own for a supervisor, none for anyone else."""
    if can_manage_devices(actor, None):
        return Office.objects.all()
    if actor.office_id is not None and can_manage_devices(actor, actor.office_id):
        return Office.objects.filter(pk=actor.office_id)
    return Office.objects.none()


def can_register_devices(actor: User) -> bool:
    """Whether ``actor`` may add devices to the inventory at all (for some office)."""
    return can_manage_devices(actor, None) or can_manage_devices(actor, actor.office_id)


def _require_device_manager(actor: User | None, office: Office | None) -> None:
    if actor is None:
        return
    if not can_manage_devices(actor, office.pk if office is not None else None):
        raise PermissionDenied("Only administrators and the office's supervisor manage devices.")


def _require_participant_write(actor: User | None, participant: Participant) -> None:
    if actor is not None and not can_write_participant(actor, participant):
        raise PermissionDenied("You may not change this participant's devices.")


def _move(device: Device, target: DeviceStatus) -> None:
    if target not in DEVICE_TRANSITIONS[device.status]:
        raise ValidationError(
            f"A device that is {device.get_status_display().lower()} cannot become "
            f"{target.label.lower()}."
        )
    device.status = target


# Protocols whose devices identify themselves on the wire by their IMEI (GT06 login, the
# Teltonika handshake, TK103's ``imei:`` field): any other identifier could never match what
# the device sends.
IMEI_PROTOCOLS = frozenset({Protocol.GT06, Protocol.TELTONIKA, Protocol.TK103})
# H02 units and watches send a device id of their own in every frame: 10 digits taken from
# the IMEI on most, the whole IMEI on some. Meitrack units send their IMEI (14 digits on a
# few old ones).
DEVICE_ID_PROTOCOLS = frozenset({Protocol.H02, Protocol.WATCH, Protocol.MEITRACK})
# Suntech units send their serial number: 6 digits on old SA200 and ST910 units, 9 or 10 on
# later ones (as their reports show).
SERIAL_PROTOCOLS = frozenset({Protocol.SUNTECH})
# Phone apps (Traccar Client / OsmAnd) authenticate with nothing but the id they send, which
# the app lets the user set: it must be long and random, so it is generated at registration.
APP_PROTOCOLS = frozenset({Protocol.OSMAND})


def app_identifier_new() -> str:
    """A device id for a phone app: 20 random characters (about 119 bits), not guessable."""
    return "app-" + secrets.token_urlsafe(15)


_IMEI = re.compile(r"[0-9]{15}")
_DEVICE_ID = re.compile(r"[0-9]{10,15}")
# A Queclink unit names itself by its IMEI, or a CDMA unit by its 14-hex-digit MEID.
_QUECLINK_ID = re.compile(r"[0-9]{15}|[0-9A-Fa-f]{14}")
_SERIAL = re.compile(r"[0-9]{6,10}")


@transaction.atomic
def device_register(
    *,
    actor: User | None,
    identifier: str,
    kind: str,
    protocol: str,
    office: Office | None = None,
    firmware: str = "",
    time_offset_minutes: int = 0,
) -> Device:
    """Add a device to the inventory, in stock."""
    _require_device_manager(actor, office)
    identifier = identifier.strip()
    if kind not in DeviceKind.values:
        raise ValidationError({"kind": f"Unknown device kind {kind!r}."})
    if protocol not in Protocol.values:
        raise ValidationError({"protocol": f"Unknown protocol {protocol!r}."})
    if not identifier and protocol in APP_PROTOCOLS:
        identifier = app_identifier_new()
    if not identifier:
        raise ValidationError({"identifier": "The identifier is required."})
    if protocol in APP_PROTOCOLS and identifier.isdigit():
        raise ValidationError(
            {
                "identifier": "A phone app's device id must not be a number others can know "
                "(an IMEI or a phone number): anyone who knows it could post positions for "
                "the wearer. Leave it blank to have one generated."
            }
        )
    if protocol in IMEI_PROTOCOLS and not _IMEI.fullmatch(identifier):
        raise ValidationError(
            {
                "identifier": "GT06, Teltonika and TK103 units are identified by their IMEI: "
                "15 digits."
            }
        )
    if protocol == Protocol.QUECLINK and not _QUECLINK_ID.fullmatch(identifier):
        raise ValidationError(
            {
                "identifier": "Queclink units are identified by their IMEI (15 digits) or, "
                "for a CDMA unit, its MEID (14 hex digits)."
            }
        )
    if protocol in DEVICE_ID_PROTOCOLS and not _DEVICE_ID.fullmatch(identifier):
        raise ValidationError(
            {
                "identifier": "H02, Meitrack units and watches are identified by the id they "
                "send: 10 to 15 digits (the watch's 10-digit id, or the whole IMEI)."
            }
        )
    if protocol in SERIAL_PROTOCOLS and not _SERIAL.fullmatch(identifier):
        raise ValidationError(
            {"identifier": "Suntech units are identified by their serial number: 6 to 10 digits."}
        )
    if Device.objects.filter(identifier=identifier).exists():
        raise ValidationError({"identifier": f"Device {identifier} is already registered."})
    if not -16 * 60 <= time_offset_minutes <= 16 * 60:
        raise ValidationError({"time_offset_minutes": "The offset must be within ±16 hours."})
    device = Device(
        identifier=identifier,
        kind=kind,
        protocol=protocol,
        office=office,
        firmware=firmware,
        time_offset_minutes=time_offset_minutes,
    )
    device.full_clean()
    device.save()
    directory_changed()
    return device


def _current_plan_has_gps(participant: Participant) -> bool:
    plan = participant.plans.filter(effective_to__isnull=True).first()
    return plan is not None and plan.gps_device


def _open_assignment(**lookup: Any) -> DeviceAssignment | None:
    return (
        DeviceAssignment.objects.select_for_update()
        .select_related("device", "participant")
        .filter(ended_at__isnull=True, **lookup)
        .first()
    )


def _locked(device: Device) -> Device:
    return Device.objects.select_for_update().get(pk=device.pk)


def _assign(
    device: Device, participant: Participant, *, actor: User | None, at: dt.datetime
) -> DeviceAssignment:
    if participant.status == Status.CLOSED:
        raise ValidationError("A closed case cannot be given a device.")
    if not _current_plan_has_gps(participant):
        raise ValidationError("The participant's plan does not include a GPS device.")
    if device.status != DeviceStatus.IN_STOCK:
        raise ValidationError(
            f"Device {device.identifier} is {device.get_status_display().lower()}, not in stock."
        )
    if _open_assignment(participant=participant) is not None:
        raise ValidationError(
            "The participant already wears a device; swap it or take it back first."
        )
    _move(device, DeviceStatus.ASSIGNED)
    device.save(update_fields=["status"])
    assignment = DeviceAssignment.objects.create(
        device=device, participant=participant, started_at=at, assigned_by=actor
    )
    directory_changed()
    return assignment


def _end(
    assignment: DeviceAssignment,
    *,
    actor: User | None,
    at: dt.datetime,
    reason: str,
    device_status: DeviceStatus,
) -> None:
    assignment.ended_at = at
    assignment.ended_by = actor
    assignment.end_reason = reason[:200]
    assignment.save(update_fields=["ended_at", "ended_by", "end_reason"])
    device = assignment.device
    _move(device, device_status)
    device.save(update_fields=["status"])
    directory_changed()


@transaction.atomic
def device_assign(
    device: Device,
    participant: Participant,
    *,
    actor: User | None,
    at: dt.datetime | None = None,
) -> DeviceAssignment:
    """Fit an in-stock device on a participant whose plan includes a GPS device."""
    _require_participant_write(actor, participant)
    device = _locked(device)
    now = at or timezone.now()
    assignment = _assign(device, participant, actor=actor, at=now)
    participant_event_record(
        participant,
        actor=actor,
        kind=ParticipantEventKind.DEVICE_CHANGED,
        summary=f"Fitted {device}",
        data={"device": device.pk, "identifier": device.identifier, "action": "assigned"},
        at=now,
    )
    return assignment


@transaction.atomic
def device_unassign(
    device: Device, *, actor: User | None, reason: str, at: dt.datetime | None = None
) -> DeviceAssignment:
    """Take a device back from its wearer; it returns to stock."""
    assignment = _open_assignment(device=device)
    if assignment is None:
        raise ValidationError(f"Device {device.identifier} is not assigned to anyone.")
    _require_participant_write(actor, assignment.participant)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the device is taken back."})
    now = at or timezone.now()
    _end(assignment, actor=actor, at=now, reason=reason, device_status=DeviceStatus.IN_STOCK)
    participant_event_record(
        assignment.participant,
        actor=actor,
        kind=ParticipantEventKind.DEVICE_CHANGED,
        summary=f"Took back {assignment.device}: {reason}",
        data={"device": device.pk, "identifier": device.identifier, "action": "unassigned"},
        at=now,
    )
    device.refresh_from_db(fields=["status"])
    return assignment


@transaction.atomic
def device_swap(
    participant: Participant,
    new_device: Device,
    *,
    actor: User | None,
    reason: str,
    at: dt.datetime | None = None,
) -> DeviceAssignment:
    """Replace the participant's device with ``new_device`` in one step (a faulty unit, a
    flat battery that will not charge): the old one returns to stock, the history shows
    both."""
    _require_participant_write(actor, participant)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the device is swapped."})
    old = _open_assignment(participant=participant)
    if old is None:
        raise ValidationError("The participant wears no device to swap; assign one instead.")
    if old.device_id == new_device.pk:
        raise ValidationError("That is the device the participant already wears.")
    now = at or timezone.now()
    new_device = _locked(new_device)
    _end(old, actor=actor, at=now, reason=f"swapped: {reason}", device_status=DeviceStatus.IN_STOCK)
    assignment = _assign(new_device, participant, actor=actor, at=now)
    participant_event_record(
        participant,
        actor=actor,
        kind=ParticipantEventKind.DEVICE_CHANGED,
        summary=f"Swapped {old.device} for {new_device}: {reason}",
        data={"from": old.device_id, "to": new_device.pk, "action": "swapped"},
        at=now,
    )
    return assignment


@transaction.atomic
def device_mark_lost(
    device: Device, *, actor: User | None, reason: str, at: dt.datetime | None = None
) -> None:
    """Record a device as lost; if someone wore it, the assignment ends with the reason."""
    device = _locked(device)
    now = at or timezone.now()
    assignment = _open_assignment(device=device)
    if assignment is not None:
        _require_participant_write(actor, assignment.participant)
        _end(
            assignment,
            actor=actor,
            at=now,
            reason=f"lost: {reason}",
            device_status=DeviceStatus.LOST,
        )
        participant_event_record(
            assignment.participant,
            actor=actor,
            kind=ParticipantEventKind.DEVICE_CHANGED,
            summary=f"{device} reported lost: {reason}",
            data={"device": device.pk, "identifier": device.identifier, "action": "lost"},
            at=now,
        )
    else:
        _require_device_manager(actor, device.office)
        _move(device, DeviceStatus.LOST)
        device.save(update_fields=["status"])


@transaction.atomic
def device_return_to_stock(device: Device, *, actor: User | None) -> None:
    """A lost device was found, or a device awaiting return was handed in (which closes the
    retrieval task its plan change opened). The last wearer's officer may record a hand-in
    as well as a device manager: they are the one who collects it."""
    device = _locked(device)
    if device.status == DeviceStatus.AWAITING_RETURN:
        last = DeviceAssignment.objects.filter(device=device).order_by("-ended_at").first()
        if last is None or actor is None or not can_write_participant(actor, last.participant):
            _require_device_manager(actor, device.office)
        _move(device, DeviceStatus.IN_STOCK)
        device.save(update_fields=["status"])
        if last is not None:
            task_source_done(actor=actor, source=_retrieval_source(last), note="Handed in.")
        return
    _require_device_manager(actor, device.office)
    if device.status != DeviceStatus.LOST:
        raise ValidationError("Only a lost or awaited device is returned to stock this way.")
    _move(device, DeviceStatus.IN_STOCK)
    device.save(update_fields=["status"])


# --------------------------------------------------------------------------------------
# Following the plan: GPS taken out of it

PLAN_WITHOUT_GPS_REASON = "plan no longer includes a GPS device"


def _retrieval_source(assignment: DeviceAssignment) -> str:
    return f"device-return:{assignment.pk}"


def case_changed(*, participant_id: int, change: CaseChange) -> None:
    """Listener registered with participants (``TrackingConfig.ready``): a plan change may
    have taken GPS out of the plan."""
    if change == CaseChange.PLAN_CHANGED:
        plan_without_gps(participant_id)


@transaction.atomic
def plan_without_gps(participant_id: int) -> DeviceAssignment | None:
    """If the participant's current plan has no GPS device but they still wear one, end the
    assignment at the plan change, put the device in "awaiting return" and open a task for
    their officer to collect it. Returns the ended assignment, else None (idempotent).

    Decision: what the device sends after the change is stored against the device only,
    never the person. The gateway still accepts the unit (refused, a GT06 retries its login
    forever and a Teltonika its handshake), and the device's own record (last seen, battery,
    last position) is what the officer needs to find it; but it is off the person's track,
    exports, zone checks and alerts, since supervising them by GPS ended with the plan.
    Positions stored in the moment between the change and this listener are outside the
    ended assignment, so off the track too (tracks are read through assignment windows)."""
    participant = Participant.objects.get(pk=participant_id)
    plan = participant.plans.filter(effective_to__isnull=True).first()
    if plan is None or plan.gps_device:
        return None
    assignment = _open_assignment(participant=participant)
    if assignment is None:
        return None
    device = assignment.device
    at = max(plan.effective_from, assignment.started_at)
    _end(
        assignment,
        actor=plan.changed_by,
        at=at,
        reason=PLAN_WITHOUT_GPS_REASON,
        device_status=DeviceStatus.AWAITING_RETURN,
    )
    participant_event_record(
        participant,
        actor=plan.changed_by,
        kind=ParticipantEventKind.DEVICE_CHANGED,
        summary=f"{device} no longer worn ({PLAN_WITHOUT_GPS_REASON}); awaiting return",
        data={"device": device.pk, "identifier": device.identifier, "action": "returning"},
        at=at,
    )
    task_open(
        participant,
        kind=TaskKind.DEVICE_RETRIEVAL,
        source=_retrieval_source(assignment),
        summary=(
            f"Collect {device.get_kind_display().lower()} {device.identifier}: the plan of "
            f"{timezone.localtime(at):%Y-%m-%d} no longer includes a GPS device."
        ),
        now=timezone.now(),
    )
    return assignment


@transaction.atomic
def device_retire(device: Device, *, actor: User | None) -> None:
    """Take a device out of service for good. Its positions and history are kept; the
    gateways stop accepting it within seconds (``directory_changed``)."""
    device = _locked(device)
    _require_device_manager(actor, device.office)
    _move(device, DeviceStatus.RETIRED)
    device.save(update_fields=["status"])
    directory_changed()


# --------------------------------------------------------------------------------------
# On-demand location


# What each protocol's device is sent to report its position now. OsmAnd / Traccar Client
# phones only talk HTTP to us on their own schedule: there is no channel to ask them.
LOCATE_COMMANDS: dict[str, str] = {
    Protocol.GT06: "WHERE#",
    Protocol.TELTONIKA: "getgps",
    Protocol.MQTT: "locate",
    Protocol.WATCH: "CR",
    Protocol.TK103: "B",  # single locate
    Protocol.QUECLINK: "RTL",  # AT+GTRTO sub-command 1, framed by the protocol module
    Protocol.MEITRACK: "A10",
    Protocol.SUNTECH: "StatusReq",
}


def can_locate(device: Device) -> bool:
    """Whether ``device``'s protocol has a command channel for an on-demand position."""
    return device.protocol in LOCATE_COMMANDS


def can_request_locate(actor: User, device: Device) -> bool:
    """Asking where a person is right now is an action on their record: the actor must be
    allowed to act on the wearer (or, for a device nobody wears, to manage devices)."""
    wearer = device_current_wearer(device)
    if wearer is not None:
        return can_write_participant(actor, wearer)
    return can_manage_devices(actor, device.office_id)


def device_locate_request(*, actor: User, device: Device) -> DeviceCommand:
    """Queue "report your position now" for ``device``; a gateway sends it on the live
    connection (see ``can_request_locate`` for who may ask)."""
    if not can_request_locate(actor, device):
        raise PermissionDenied("You may not ask this device for its position.")
    participant = device_current_wearer(device)
    if not can_locate(device):
        raise ValidationError(
            f"A {device.get_protocol_display()} device cannot be asked for its position: it "
            "reports on its own schedule. The last position shown is the latest there is."
        )
    if device.status == DeviceStatus.RETIRED:
        raise ValidationError("A retired device is not asked anything.")
    return DeviceCommand.objects.create(
        device=device,
        participant=participant,
        text=LOCATE_COMMANDS[device.protocol],
        requested_by=actor,
        requested_at=timezone.now(),
    )


@dataclass(frozen=True, slots=True)
class ClaimedCommand:
    id: int
    device_id: int
    identifier: str
    text: str


def commands_claim(
    device_ids: Sequence[int], *, mqtt: bool, now: dt.datetime
) -> list[ClaimedCommand]:
    """Gateway side: the queued commands this gateway process can deliver (its connected
    devices, plus every MQTT device when it holds the broker subscription), marked sent.
    Each is claimed by a conditional update, so that with several gateway processes exactly
    one sends it. Commands unanswered after ``ONTRACK_TRACKING_COMMAND_TIMEOUT`` seconds
    expire. Polled every second: with nothing open it is one indexed read, no write."""
    open_commands = list(
        DeviceCommand.objects.filter(
            status__in=[CommandStatus.QUEUED, CommandStatus.SENT]
        ).values_list("id", "device_id", "device__identifier", "device__protocol", "text",
                      "status", "requested_at")
    )  # fmt: skip
    if not open_commands:
        return []
    oldest = now - dt.timedelta(seconds=settings.ONTRACK_TRACKING_COMMAND_TIMEOUT)
    expired = [row[0] for row in open_commands if row[6] < oldest]
    if expired:
        DeviceCommand.objects.filter(pk__in=expired).update(status=CommandStatus.EXPIRED)
    reachable = set(device_ids)
    claimed = []
    for pk, device_id, identifier, protocol, text, status, requested_at in open_commands:
        if status != CommandStatus.QUEUED or requested_at < oldest:
            continue
        if device_id not in reachable and not (mqtt and protocol == Protocol.MQTT):
            continue
        if DeviceCommand.objects.filter(pk=pk, status=CommandStatus.QUEUED).update(
            status=CommandStatus.SENT, sent_at=now
        ):
            claimed.append(ClaimedCommand(pk, device_id, identifier, text))
    return claimed


def command_answer(
    *, device_id: int, response: str, at: dt.datetime, command_id: int | None = None
) -> int:
    """Gateway side: the device's text answer. GT06 echoes the command's id (its server
    flag); without one, it answers the oldest command sent to the device and not yet
    answered in words. Returns the number of commands updated (0 or 1)."""
    pending = DeviceCommand.objects.filter(
        device_id=device_id, status__in=[CommandStatus.SENT, CommandStatus.ANSWERED], response=""
    )
    if command_id is not None:
        pending = pending.filter(pk=command_id)
    target = pending.order_by("sent_at", "id").values_list("id", flat=True).first()
    if target is None:
        return 0
    return DeviceCommand.objects.filter(pk=target).update(
        status=CommandStatus.ANSWERED,
        response=response[:2000],
        answered_at=Coalesce(F("answered_at"), Value(at)),
    )


def command_fix_record(*, device_id: int, fix: Fix, at: dt.datetime) -> int:
    """Gateway side: the first fix a device reports after it was sent a command answers it
    with a position (the text reply, when there is one, is kept as well)."""
    return DeviceCommand.objects.filter(
        device_id=device_id,
        status__in=[CommandStatus.SENT, CommandStatus.ANSWERED],
        fix_time__isnull=True,
        sent_at__isnull=False,
    ).update(
        status=CommandStatus.ANSWERED,
        fix_time=fix.time,
        lat=fix.lat,
        lon=fix.lon,
        accuracy_m=fix.accuracy_m,
        answered_at=Coalesce(F("answered_at"), Value(at)),
    )
