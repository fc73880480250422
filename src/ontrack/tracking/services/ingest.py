"""Storing what devices report: ``store_batch``, the hot path, and what only it needs.

``store_batch`` is the hot path (DESIGN.md, "Hot path: a position"): the gateway calls it with
a batch of decoded records, at most every 100 ms. It filters fixes, writes positions and
device events with one ``executemany`` each (binary COPY on PostgreSQL), moves each device's
"last seen / last fix" forward, commits, and only then hands the batch to zones and alerts
(``tracking.handoff``). A fix without a valid position is stored marked invalid: it moves
"last seen" (the device reported) but neither "last fix" nor anything handed to zones and
alerts. It raises ``django.db.DatabaseError`` when the database is away, having written
nothing, so that the gateway can spool the batch and replay it later.

It lives apart from the device lifecycle because it is written for speed (raw SQL, no ORM
object per position, per-batch caches) and changes for different reasons.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from ontrack.tracking import filters, handoff, partitions
from ontrack.tracking.protocols.records import DeviceEvent, EventKind, Fix
from ontrack.tracking.services.directory import DeviceInfo


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
    items: Sequence[tuple[DeviceInfo, Fix | DeviceEvent]],
    *,
    received_at: dt.datetime,
    on_durable: Callable[[], None] | None = None,
) -> StoreResult:
    """Filter, store and hand off one batch; all of it or (raising) none of it.

    ``on_durable`` is called once the batch is committed (at the outermost commit, if an
    atomic block encloses this call) and before the hand-off: the gateway acknowledges the
    batch's frames then, so a device does not wait for the zone and alert rules, which
    run on the stored batch whether or not it has been acknowledged.

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
            assert record.lat is not None
            assert record.lon is not None  # a valid fix has both
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
    if on_durable is not None:
        transaction.on_commit(on_durable)
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
