"""ontrack's own MQTT JSON schema, for devices and gateways that publish over MQTT.

Topic
-----
``ontrack/devices/<device_id>/telemetry``. The device id is taken from the topic, never from
the payload, so broker ACLs that restrict each client to its own topic also pin its
identity. ``<device_id>`` is 1-64 characters from ``A-Z a-z 0-9 . _ : -``.

Payload
-------
UTF-8 JSON: one reading object, or a list of up to 1,000 of them (a device flushing its
store after an outage)::

    {"time": "2025-03-01T12:00:00Z",    required: ISO-8601 with a zone, or Unix seconds
                                         (values above 1e11 are taken as milliseconds)
     "lat": 52.37, "lon": 4.89,         degrees; together, or both absent (events only)
     "accuracy": 8.5,                   metres, optional
     "speed_kmh": 4.2,                  optional
     "course": 270,                     degrees from north, optional
     "altitude": 3.0,                   metres, optional
     "satellites": 7,                   optional
     "valid": true,                     optional, default true
     "battery": 81,                     percent 0-100, optional
     "charging": false,                 optional
     "events": ["tamper", "low_battery"]}   optional; values of ``EventKind``

A reading with coordinates yields a ``Fix``; each entry of ``events`` yields a
``DeviceEvent`` at the reading's time. Unknown keys and unknown event names are rejected:
this is our schema, and a typo (``"lng"``) must fail loudly rather than drop data silently.

Commands
--------
The gateway publishes on-demand commands (QoS 1) to ``ontrack/devices/<device_id>/commands``
as ``{"id": 17, "command": "locate"}``: a device that subscribes there answers ``locate`` by
publishing a reading at once.

Delivery: publish with QoS 1; the gateway acknowledges (PUBACK) only after the batch is
stored, so a reading is delivered at least once and duplicates are removed downstream.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

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

TOPIC_PREFIX = "ontrack/devices/"
TOPIC_SUFFIX = "/telemetry"
TOPIC_FILTER = "ontrack/devices/+/telemetry"
COMMAND_SUFFIX = "/commands"
MAX_PAYLOAD_SIZE = 262_144
MAX_BATCH = 1_000
_DEVICE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_KEYS = frozenset(
    {"time", "lat", "lon", "accuracy", "speed_kmh", "course", "altitude", "satellites",
     "valid", "battery", "charging", "events"}
)  # fmt: skip


def topic_for(device_id: str) -> str:
    """The telemetry topic a device publishes to."""
    if not _DEVICE_ID.fullmatch(device_id):
        raise ValueError(f"not a valid device id: {device_id!r}")
    return f"{TOPIC_PREFIX}{device_id}{TOPIC_SUFFIX}"


def command_topic_for(device_id: str) -> str:
    """The topic a device subscribes to for commands from ontrack (``.../commands``)."""
    return topic_for(device_id)[: -len(TOPIC_SUFFIX)] + COMMAND_SUFFIX


def encode_command(command_id: int, command: str) -> bytes:
    """A command message: ``{"id": <int>, "command": "locate"}``; ``locate`` asks the device
    to publish a fix now."""
    return json.dumps({"id": command_id, "command": command}).encode()


def device_id_from_topic(topic: str) -> str:
    """The device id in a telemetry topic; raises ``DecodeError`` for any other topic."""
    if not (topic.startswith(TOPIC_PREFIX) and topic.endswith(TOPIC_SUFFIX)):
        raise DecodeError("bad_topic", topic[:100])
    device_id = topic[len(TOPIC_PREFIX) : len(topic) - len(TOPIC_SUFFIX)]
    if not _DEVICE_ID.fullmatch(device_id):
        raise DecodeError("bad_device_id", device_id[:100])
    return device_id


def decode(topic: str, payload: bytes) -> list[Record]:
    """Records from one MQTT message."""
    device_id = device_id_from_topic(topic)
    if len(payload) > MAX_PAYLOAD_SIZE:
        raise DecodeError("too_large", str(len(payload)))
    try:
        document = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise DecodeError("not_utf8") from error
    except (ValueError, RecursionError) as error:
        raise DecodeError("bad_json", str(error)[:80]) from error
    readings = document if isinstance(document, list) else [document]
    if not readings:
        raise DecodeError("empty_batch")
    if len(readings) > MAX_BATCH:
        raise DecodeError("too_many_readings", str(len(readings)))
    records: list[Record] = []
    for reading in readings:
        records.extend(_decode_reading(device_id, reading))
    return records


def _decode_reading(device_id: str, reading: object) -> list[Record]:
    if not isinstance(reading, dict):
        raise DecodeError("bad_reading", "not an object")
    unknown = reading.keys() - _KEYS
    if unknown:
        raise DecodeError("unknown_field", ",".join(sorted(unknown))[:80])
    time = _reading_time(reading.get("time"))
    records: list[Record] = []
    lat, lon = reading.get("lat"), reading.get("lon")
    if (lat is None) != (lon is None):
        raise DecodeError("missing_coordinates", "lat and lon go together")
    if lat is not None:
        checked_lat, checked_lon = checked_coordinates(
            _number(reading, "lat"), _number(reading, "lon")
        )
        attributes: dict[str, Any] = {}
        charging = reading.get("charging")
        if charging is not None:
            attributes["charging"] = _boolean(reading, "charging")
        battery = _optional_int(reading, "battery")
        if battery is not None and not 0 <= battery <= 100:
            raise DecodeError("bad_battery", str(battery))
        records.append(
            Fix(
                device_id=device_id,
                time=time,
                lat=checked_lat,
                lon=checked_lon,
                speed_kmh=_optional_number(reading, "speed_kmh"),
                course=_optional_number(reading, "course"),
                altitude_m=_optional_number(reading, "altitude"),
                accuracy_m=_optional_number(reading, "accuracy"),
                satellites=_optional_int(reading, "satellites"),
                valid=_boolean(reading, "valid") if "valid" in reading else True,
                battery_pct=battery,
                attributes=attributes,
            )
        )
    events = reading.get("events", [])
    if not isinstance(events, list):
        raise DecodeError("bad_events", "not a list")
    for name in events:
        if not isinstance(name, str):
            raise DecodeError("bad_events", "event names are strings")
        try:
            kind = EventKind(name)
        except ValueError as error:
            raise DecodeError("unknown_event", name[:40]) from error
        records.append(DeviceEvent(device_id, time, kind, f"mqtt:{name}"))
    if not records:
        raise DecodeError("empty_reading")
    return records


def _reading_time(value: object) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as error:
            raise DecodeError("bad_time", value[:40]) from error
        return checked_time(parsed)  # a naive time is rejected there
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DecodeError("bad_time", "time is required: ISO-8601 or Unix seconds")
    if isinstance(value, int):
        if value > 10**11:
            return time_from_epoch_ms(value)
        return time_from_epoch_seconds(value)
    if value > 1e11:
        return time_from_epoch_seconds(value / 1000)
    return time_from_epoch_seconds(value)


def _number(reading: dict[str, Any], key: str) -> float:
    value = reading.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DecodeError("bad_number", key)
    try:
        return float(value)
    except OverflowError as error:
        raise DecodeError("bad_number", key) from error


def _optional_number(reading: dict[str, Any], key: str) -> float | None:
    if reading.get(key) is None:
        return None
    return finite_or_none(_number(reading, key))


def _optional_int(reading: dict[str, Any], key: str) -> int | None:
    value = reading.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise DecodeError("bad_integer", key)
    return value


def _boolean(reading: dict[str, Any], key: str) -> bool:
    value = reading.get(key)
    if not isinstance(value, bool):
        raise DecodeError("bad_boolean", key)
    return value
