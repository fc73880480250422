"""OsmAnd / Traccar Client HTTP protocol (default port 5055).

Two request forms reach the same port.

Query form (OsmAnd, the classic Traccar Client, many scripts and IoT boards)
    ``GET /?id=123456&lat=60.0&lon=30.0&timestamp=1377177267&speed=0.0&bearing=0.0...``,
    or the same pairs as an ``application/x-www-form-urlencoded`` POST body. Fields:

    - ``id`` or ``deviceid``: device identifier (required)
    - ``lat``, ``lon`` (degrees) or ``location=lat,lon``
    - ``timestamp``: Unix seconds, Unix milliseconds (values >= 2**31 are milliseconds),
      ISO-8601, or ``yyyy-MM-dd HH:mm:ss``; a time without a zone is taken as UTC. Absent:
      the caller's ``received_at``.
    - ``speed`` **in knots** (the classic client multiplies m/s by 1.943844), converted here
      to km/h; ``bearing`` or ``heading`` (degrees); ``altitude`` (m); ``accuracy`` (m)
    - ``batt`` battery percent; ``charge`` true/false; ``valid`` true/1; ``hdop``
    - ``alarm``: a Traccar alarm name (``sos``, ``tampering``, ``removing``, ``lowBattery``,
      ``powerCut``...), comma-separated if several; each becomes a device event
    - ``cell`` (``mcc,mnc,lac,cid[,rssi]``) and ``wifi`` (``mac,rssi``): the network the
      device saw. A request with either and no coordinates is a phone that could not get a
      fix (indoors, location switched off): it becomes a fix without a position
      (``lat``/``lon`` ``None``, not valid), stored as "no GPS fix", rather than being refused
      -- the device did report. A request with neither coordinates, network data nor an
      alarm is refused (``missing_coordinates``).
    - anything else is kept in ``attributes`` (numbers as floats, true/false as booleans)

JSON form (Traccar Client 9+, built on the background-geolocation plugin)
    ``POST /`` with ``Content-Type: application/json``::

        {"device_id": "48241179",
         "location": {"timestamp": "2025-06-15T13:45:12.862Z",
                      "coords": {"latitude": 37.42, "longitude": -122.08, "accuracy": 5,
                                 "speed": 0, "heading": -1, "altitude": 5},
                      "is_moving": false, "odometer": 0, "event": "motionchange",
                      "battery": {"level": 0.79, "is_charging": false},
                      "activity": {"type": "still"}, "extras": {}}}

    Here ``coords.speed`` is **metres per second** (the plugin's unit) and ``-1`` means
    unknown, as does ``heading: -1`` and ``battery.level: -1``; ``battery.level`` is a
    fraction 0-1. ``location`` may also be a list of such objects (a batch upload).

Replies
-------
200 OK with an empty body once the records are stored. An unknown device is answered 400 in
the query form and 404 in the JSON form (what the apps expect; see
``unknown_device_status``); a request that does not decode is answered 400, with the
``DecodeError`` in a plain-text body so that whoever wires up a device can see what is wrong
(the apps read only the status). Device lookup is the caller's job, after decoding: a
request refused for its content then says so whether or not its id is registered.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl

from .records import (
    DecodeError,
    DeviceEvent,
    EventKind,
    Fix,
    Record,
    checked_coordinates,
    checked_time,
    finite_or_none,
    time_from_epoch_ms,
    time_from_epoch_seconds,
)

DEFAULT_PORT = 5055
STATUS_OK = 200
STATUS_BAD_REQUEST = 400
STATUS_UNKNOWN_DEVICE_QUERY = 400
STATUS_UNKNOWN_DEVICE_JSON = 404
MAX_BODY_SIZE = 65_536
MAX_FIELDS = 100
MAX_BATCH = 1_000
MAX_DEVICE_ID_LENGTH = 64
KNOTS_TO_KMH = 1.852
MPS_TO_KMH = 3.6

_ALARMS: dict[str, EventKind] = {
    "sos": EventKind.SOS,
    "tampering": EventKind.TAMPER,
    "removing": EventKind.DEVICE_REMOVED,
    "lowbattery": EventKind.LOW_BATTERY,
    "lowpower": EventKind.LOW_BATTERY,
    "powercut": EventKind.EXTERNAL_POWER_CUT,
    "poweroff": EventKind.POWER_OFF,
    "poweron": EventKind.POWER_ON,
    "vibration": EventKind.VIBRATION,
    "overspeed": EventKind.OVERSPEED,
    "jamming": EventKind.GNSS_JAMMING,
    "gpsantennacut": EventKind.GPS_LOST,
}
_FIELDS_USED = frozenset(
    {"id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "bearing", "heading",
     "altitude", "accuracy", "batt", "charge", "valid", "hdop", "alarm"}
)  # fmt: skip


def unknown_device_status(form: Literal["query", "json"]) -> int:
    """HTTP status for a device id that is not registered, as each app expects it."""
    return STATUS_UNKNOWN_DEVICE_JSON if form == "json" else STATUS_UNKNOWN_DEVICE_QUERY


def parse_query(raw: bytes | str) -> dict[str, str]:
    """Parse a query string or form body; the last value wins for repeated keys."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_BODY_SIZE:
            raise DecodeError("too_large", str(len(raw)))
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise DecodeError("not_utf8") from error
    if len(raw) > MAX_BODY_SIZE:
        raise DecodeError("too_large", str(len(raw)))
    try:
        pairs = parse_qsl(
            raw.lstrip("?"), keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict"
        )
    except ValueError as error:  # too many fields, or percent-escapes that are not UTF-8
        raise DecodeError("bad_query", str(error)) from error
    return dict(pairs)


def device_id_from_query(params: Mapping[str, str]) -> str | None:
    """The device id a query-form request names, or ``None``."""
    value = params.get("id") or params.get("deviceid")
    return value or None


def decode_query(params: Mapping[str, str], *, received_at: datetime | None = None) -> list[Record]:
    """Records from one query-form request (at most one fix, plus one event per alarm)."""
    if len(params) > MAX_FIELDS:
        raise DecodeError("too_many_fields", str(len(params)))
    device_id = _checked_device_id(device_id_from_query(params))
    time = _query_time(params.get("timestamp"), received_at)
    records: list[Record] = []
    coordinates = _query_coordinates(params)
    network_only = coordinates is None and any(params.get(key) for key in ("cell", "wifi"))
    if coordinates is not None or network_only:
        lat, lon = coordinates or (None, None)
        battery = _optional_float(params, "batt")
        attributes: dict[str, Any] = {}
        for key, value in params.items():
            if key not in _FIELDS_USED:
                attributes[key] = _attribute_value(value)
        if "hdop" in params:
            attributes["hdop"] = _optional_float(params, "hdop")
        if "charge" in params:
            attributes["charging"] = params["charge"].strip().lower() in ("true", "1")
        speed_knots = _optional_float(params, "speed")
        records.append(
            Fix(
                device_id=device_id,
                time=time,
                lat=lat,
                lon=lon,
                speed_kmh=None if speed_knots is None else speed_knots * KNOTS_TO_KMH,
                course=_optional_float(params, "bearing", "heading"),
                altitude_m=_optional_float(params, "altitude"),
                accuracy_m=_optional_float(params, "accuracy"),
                valid=not network_only
                and params.get("valid", "true").strip().lower() in ("true", "1"),
                battery_pct=_percent(battery),
                attributes=attributes,
            )
        )
    alarms = [name.strip() for name in params.get("alarm", "").split(",") if name.strip()]
    for alarm in alarms:
        kind = _ALARMS.get(alarm.lower(), EventKind.UNKNOWN_ALARM)
        event_attributes: dict[str, Any] = {}
        if coordinates is not None:
            event_attributes = {"lat": coordinates[0], "lon": coordinates[1]}
        records.append(DeviceEvent(device_id, time, kind, f"osmand:{alarm}", event_attributes))
    if not records:
        raise DecodeError("missing_coordinates")
    return records


def decode_json(body: bytes, *, received_at: datetime | None = None) -> list[Record]:
    """Records from a Traccar Client JSON body: one fix per location object."""
    if len(body) > MAX_BODY_SIZE:
        raise DecodeError("too_large", str(len(body)))
    try:
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise DecodeError("not_utf8") from error
    except (ValueError, RecursionError) as error:
        raise DecodeError("bad_json", str(error)[:80]) from error
    if not isinstance(document, dict):
        raise DecodeError("bad_json", "top level is not an object")
    device_id = _checked_device_id(document.get("device_id"))
    locations = document.get("location")
    if isinstance(locations, dict):
        locations = [locations]
    if not isinstance(locations, list) or not locations:
        raise DecodeError("missing_location")
    if len(locations) > MAX_BATCH:
        raise DecodeError("too_many_locations", str(len(locations)))
    return [_json_fix(device_id, location, received_at) for location in locations]


def _json_fix(device_id: str, location: object, received_at: datetime | None) -> Fix:
    if not isinstance(location, dict):
        raise DecodeError("bad_location", "not an object")
    coords = location.get("coords")
    if not isinstance(coords, dict):
        raise DecodeError("missing_coordinates")
    lat, lon = checked_coordinates(
        _json_coordinate(coords, "latitude"), _json_coordinate(coords, "longitude")
    )
    timestamp = location.get("timestamp")
    if timestamp is None:
        time = _fallback_time(received_at)
    elif isinstance(timestamp, str):
        time = _iso_time(timestamp)
    else:
        raise DecodeError("bad_time", "timestamp is not a string")
    speed_mps = _unknown_if_negative(_json_number(coords, "speed"))
    heading = _unknown_if_negative(_json_number(coords, "heading"))
    accuracy = _unknown_if_negative(_json_number(coords, "accuracy"))
    attributes: dict[str, Any] = {}
    battery = location.get("battery")
    battery_pct: int | None = None
    if isinstance(battery, dict):
        level = _unknown_if_negative(_json_number(battery, "level"))
        if level is not None and level <= 1:
            battery_pct = round(level * 100)
        charging = battery.get("is_charging")
        if isinstance(charging, bool):
            attributes["charging"] = charging
    for key in ("event", "is_moving", "odometer", "mock", "uuid"):
        value = location.get(key)
        if isinstance(value, str | bool | int | float) and not _is_bad_float(value):
            attributes[key] = value
    activity = location.get("activity")
    if isinstance(activity, dict) and isinstance(activity.get("type"), str):
        attributes["activity"] = activity["type"]
    return Fix(
        device_id=device_id,
        time=time,
        lat=lat,
        lon=lon,
        speed_kmh=None if speed_mps is None else speed_mps * MPS_TO_KMH,
        course=heading,
        altitude_m=_json_number(coords, "altitude"),
        accuracy_m=accuracy,
        valid=True,
        battery_pct=battery_pct,
        attributes=attributes,
    )


def _is_bad_float(value: object) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _json_coordinate(coords: dict[str, Any], key: str) -> float:
    value = _json_number(coords, key)
    if value is None:
        raise DecodeError("missing_coordinates", key)
    return value


def _json_number(container: dict[str, Any], key: str) -> float | None:
    """A JSON number as a float; ``None`` when absent or not finite; raises on a non-number."""
    value = container.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DecodeError("bad_number", key)
    try:
        number = float(value)
    except OverflowError as error:  # an integer literal too large for a float
        raise DecodeError("bad_number", key) from error
    return finite_or_none(number)


def _unknown_if_negative(value: float | None) -> float | None:
    return None if value is None or value < 0 else value


def _checked_device_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DecodeError("missing_device_id")
    if len(value) > MAX_DEVICE_ID_LENGTH or not value.isprintable():
        raise DecodeError("bad_device_id", value[:MAX_DEVICE_ID_LENGTH])
    return value.strip()


def _fallback_time(received_at: datetime | None) -> datetime:
    if received_at is None:
        raise DecodeError("missing_timestamp")
    return checked_time(received_at)


def _query_time(value: str | None, received_at: datetime | None) -> datetime:
    if value is None or not value.strip():
        return _fallback_time(received_at)
    text = value.strip()
    if text.isdigit() and text.isascii():
        if len(text) > 15:
            raise DecodeError("time_out_of_range", text[:20])
        number = int(text)
        return time_from_epoch_seconds(number) if number < 2**31 else time_from_epoch_ms(number)
    if "T" in text or "t" in text:
        return _iso_time(text)
    try:
        moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        try:
            return time_from_epoch_seconds(float(text))
        except ValueError as error:
            raise DecodeError("bad_time", text[:40]) from error
    return checked_time(moment)


def _iso_time(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise DecodeError("bad_time", text[:40]) from error
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return checked_time(parsed)


def _parse_float(value: str, key: str) -> float:
    try:
        return float(value)
    except ValueError as error:
        raise DecodeError("bad_number", f"{key}={value[:40]}") from error


def _optional_float(params: Mapping[str, str], *keys: str) -> float | None:
    for key in keys:
        value = params.get(key)
        if value is not None and value.strip():
            return finite_or_none(_parse_float(value, key))
    return None


def _query_coordinates(params: Mapping[str, str]) -> tuple[float, float] | None:
    lat_text, lon_text = params.get("lat"), params.get("lon")
    if lat_text is None and lon_text is None and "location" in params:
        parts = params["location"].split(",")
        if len(parts) != 2:
            raise DecodeError("bad_location", params["location"][:40])
        lat_text, lon_text = parts
    if lat_text is None and lon_text is None:
        return None
    if lat_text is None or lon_text is None:
        raise DecodeError("missing_coordinates", "lat and lon go together")
    return checked_coordinates(_parse_float(lat_text, "lat"), _parse_float(lon_text, "lon"))


def _percent(value: float | None) -> int | None:
    if value is None or not 0 <= value <= 100:
        return None
    return round(value)


def _attribute_value(value: str) -> str | float | bool:
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        number = float(value)
    except ValueError:
        return value
    return number if math.isfinite(number) else value
