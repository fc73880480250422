"""Suntech (ST300/ST340/ST310U, SA200, ST500, ST600/ST4940, ST4xx, ST910...): ASCII reports.

Frame layout
------------
One report per line, fields separated by ``;``, ended by ``\\r`` (some firmware ``\\r\\n``);
no checksum. The first field names the model family and the report type::

    <family><type>;<dev id>;...      legacy: ST300STT, SA200ALT, ST600EMG...
    <type>;<dev id>;<mask>;...       the "universal" protocol (newer units): STT, ALT...
    ST910;<Location|Emergency|Alert>;<dev id>;...   the ST910 personal tracker

Legacy status report (the ST300/340 operation manual, section 6)::

    ST300STT;<dev id>;<model>;<sw ver>;<yyyymmdd>;<hh:mm:ss>;<cell>;<lat>;<lon>;
        <speed km/h>;<course>;<satellites>;<fix 1|0>;<distance m>;<power V>;<I/O 6 digits>;
        <mode>;<message number>[;...]

``ALT`` (alert), ``EMG`` (emergency) and ``EVT`` (event) have the same fields up to I/O,
then the alert, emergency or event id. SA200 has no model field; ST500 no cell; ST600 a
longer cell block (cell id; MCC; MNC; LAC; signal) and ST4xx a list of cells before the
date: so the decoder anchors on the date and time and takes the first two fields after
them that are decimal coordinates (a cell field never has a decimal point). The universal
report says with a hex ``mask`` which fields it carries; ontrack reads it when date, time,
position, speed, course, satellites and fix are all present (the default mask, ``3FFFFF``),
and the alert id after the input and output states. ``ST910`` reports carry no
satellite count: speed, course, then the fix flag.

Times are GPS time (UTC); the device's ``time_offset_minutes`` is applied all the same.

Alarms
------
Emergency ids (``EMG``): 1 panic button -> ``SOS``, 3 main power removed ->
``EXTERNAL_POWER_CUT``, 2 parking lock, 5 / 6 anti-theft, 7 movement, 8 shock (the last
ones ``MOVEMENT`` / ``VIBRATION`` / ``UNKNOWN_ALARM``). Alert ids (``ALT``, the manual's
table; Traccar reads the same ids): 1 speeding, 5 / 6 left / entered the unit's own fence,
14 vehicle battery low (the unit is about to sleep to spare it) -> ``EXTERNAL_POWER_LOW``,
15 shock, 16 collision, 40 main power reconnected -> ``CHARGER_CONNECTED``, 41 main power
cut, 46 / 47 harsh acceleration / braking. Other alerts (ignition, inputs, idling...) are
kept as ``alert_id`` on the fix and raise nothing. An ST910 ``Emergency`` is its SOS button;
its ``Alert`` carries no id and becomes ``UNKNOWN_ALARM``.

Replies and commands
--------------------
Over TCP nothing is answered (acknowledgements are for UDP); the keep-alive ``ALV`` decodes
to no records. ``<family>CMD;<dev id>;02;StatusReq`` asks for the status: the unit answers
with an ``STT``, which answers the command with a fix (a unit on the universal protocol gets
``CMD;<dev id>;02;StatusReq``, the same command without a family; not checked against a
universal-protocol manual). Command answers
(``ST300CMD;Res;<dev id>;...``) are kept as the command's answer. Binary ("zip") reports
are not decoded: set units to string reports. A ``UEX`` report whose user data holds a line
end is cut there (its tail is counted as a bad frame).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from .records import DecodeError, DeviceEvent, EventKind, Fix, Record, checked_coordinates
from .textframe import FrameResult, SplitResult, device_time, number

DEFAULT_PORT = 5011
MAX_FRAME_SIZE = 2048
LOCATE_COMMAND = "StatusReq"

_ENDS = b"\r\n"
_WHITESPACE = frozenset(b"\r\n \t\x00")
_ID = re.compile(r"[0-9]{1,20}")
_LEGACY = re.compile(r"([A-Z]{2}\d{3,4}[A-Z]?)([A-Z]{3})")
_DATE = re.compile(r"\d{8}")
_CLOCK = re.compile(r"(\d\d):(\d\d):(\d\d)")
_COORDINATE = re.compile(r"[+-]?\d{1,3}\.\d+")
_POSITION_TYPES = frozenset({"STT", "ALT", "EMG", "EVT", "UEX"})
_UNIVERSAL_NEEDS = (4, 5, 11, 12, 13, 14, 15, 16)  # date, time, lat, lon, speed..fix

_EMERGENCIES: dict[int, tuple[EventKind, str]] = {
    1: (EventKind.SOS, "panic"),
    2: (EventKind.UNKNOWN_ALARM, "parking_lock"),
    3: (EventKind.EXTERNAL_POWER_CUT, "main_power_removed"),
    5: (EventKind.UNKNOWN_ALARM, "anti_theft_door"),
    6: (EventKind.UNKNOWN_ALARM, "anti_theft_shock"),
    7: (EventKind.MOVEMENT, "movement"),
    8: (EventKind.VIBRATION, "shock"),
}
_ALERTS: dict[int, tuple[EventKind, str]] = {
    1: (EventKind.OVERSPEED, "speeding"),
    5: (EventKind.GEOFENCE_EXIT, "fence_exit"),
    6: (EventKind.GEOFENCE_ENTER, "fence_enter"),
    14: (EventKind.EXTERNAL_POWER_LOW, "vehicle_battery_low"),
    15: (EventKind.VIBRATION, "shock"),
    16: (EventKind.COLLISION, "collision"),
    40: (EventKind.CHARGER_CONNECTED, "main_power_connected"),
    41: (EventKind.EXTERNAL_POWER_CUT, "main_power_cut"),
    46: (EventKind.HARSH_ACCELERATION, "harsh_acceleration"),
    47: (EventKind.HARSH_BRAKING, "harsh_braking"),
}


def split_frames(buffer: bytes, *, max_frame_size: int = MAX_FRAME_SIZE) -> SplitResult:
    """Cut a TCP byte stream into lines (``\\r`` or ``\\n`` ends a report).

    Line ends and padding are dropped uncounted. A line without its end within
    ``max_frame_size`` is garbage, skipped one byte at a time; an incomplete line is
    returned in ``rest``.
    """
    frames: list[bytes] = []
    skipped = 0
    position = 0
    size = len(buffer)
    while position < size:
        if buffer[position] in _WHITESPACE:
            position += 1
            continue
        ends = [found for end in _ENDS if (found := buffer.find(bytes([end]), position)) >= 0]
        end = min(ends) if ends else -1
        if end < 0 or end - position >= max_frame_size:
            if end < 0 and size - position < max_frame_size:
                return SplitResult(frames, bytes(buffer[position:]), skipped)
            skipped += 1
            position += 1
            continue
        frames.append(bytes(buffer[position:end]))
        position = end
    return SplitResult(frames, b"", skipped)


def _values(frame: bytes) -> list[str]:
    if len(frame) > MAX_FRAME_SIZE:
        raise DecodeError("frame_too_long", str(len(frame)))
    try:
        text = frame.strip(b"\r\n").decode("ascii")
    except UnicodeDecodeError as error:
        raise DecodeError("not_ascii") from error
    values = text.split(";")
    if len(values) < 2:
        raise DecodeError("truncated", "no ';'")
    return values


def _head(values: list[str]) -> tuple[str, str, str, int]:
    """(family, report type, device id, index of the id) of a report."""
    prefix = values[0]
    if prefix == "ST910":
        family, kind, index = "ST910", values[1][:16], 2
    elif (legacy := _LEGACY.fullmatch(prefix)) is not None:
        family, kind, index = legacy[1], legacy[2], 1
    elif prefix.isascii() and prefix.isalpha() and len(prefix) == 3:
        family, kind, index = "", prefix, 1
    else:
        raise DecodeError("bad_header", prefix[:20])
    if kind == "CMD" and len(values) > 2 and values[1] == "Res":
        index = 2
    if len(values) <= index or not _ID.fullmatch(values[index]):
        raise DecodeError("bad_id", values[index][:20] if len(values) > index else "")
    return family, kind, values[index], index


def identifier(frame: bytes) -> str:
    """The device id a report names."""
    return _head(_values(frame))[2]


def encode_command(header: tuple[str, ...], device: str, text: str) -> bytes:
    """``<family>CMD;<dev id>;02;<text>`` (e.g. ``StatusReq``), family as the unit sends."""
    family = header[0] if header else "ST300"
    return f"{family}CMD;{device};02;{text}\r".encode("ascii")


def decode(
    frame: bytes, *, time_offset_minutes: int = 0, now: datetime | None = None
) -> FrameResult:
    """Decode one report as cut by ``split_frames`` (see the module doc).

    ``now`` stamps alarms whose own time or position is unusable; it defaults to the
    current time.
    """
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    values = _values(frame)
    family, kind, device, index = _head(values)
    header = (family,)
    if kind == "CMD":
        answer = ";".join(values[index + 1 :])[:200]
        return FrameResult(device, kind, command_response=answer, header=header)
    if family == "ST910":
        if kind not in ("Location", "Emergency", "Alert"):
            return FrameResult(device, kind, supported=False, header=header)
        records = _decode_st910(values, kind, device, time_offset_minutes, moment)
        return FrameResult(device, kind, records, header=header)
    if kind not in _POSITION_TYPES:
        return FrameResult(device, kind, supported=kind == "ALV", header=header)
    records = _decode_report(values, family, kind, device, time_offset_minutes, moment)
    return FrameResult(device, kind, records, header=header)


def _anchor(values: list[str], start: int) -> int:
    """Index of the date field (``yyyymmdd`` followed by ``hh:mm:ss``) from ``start``."""
    for index in range(start, len(values) - 1):
        if _DATE.fullmatch(values[index]) and _CLOCK.fullmatch(values[index + 1]):
            return index
    raise DecodeError("no_time")


def _position_index(values: list[str], start: int) -> int:
    """Index of the latitude: the first of two decimal coordinates from ``start``."""
    for index in range(start, min(len(values) - 1, start + 8)):
        if _COORDINATE.fullmatch(values[index]) and _COORDINATE.fullmatch(values[index + 1]):
            return index
    raise DecodeError("bad_coordinate", "none after the time")


def _time(values: list[str], at: int, offset: int) -> datetime:
    date, clock = values[at], _CLOCK.fullmatch(values[at + 1])
    assert clock is not None
    year = int(date[:4])
    if not 2000 <= year < 2100:
        raise DecodeError("bad_time", date)
    parts = (int(clock[1]), int(clock[2]), int(clock[3]))
    return device_time((int(date[6:8]), int(date[4:6]), year - 2000), parts, offset)


def _field(values: list[str], index: int) -> str:
    return values[index].strip() if index < len(values) else ""


def _decode_report(
    values: list[str], family: str, kind: str, device: str, offset: int, now: datetime
) -> list[Record]:
    universal = family == ""
    mask = 0
    if universal:
        mask_text = _field(values, 2)
        if not re.fullmatch(r"[0-9A-Fa-f]{1,8}", mask_text):
            raise DecodeError("bad_mask", mask_text[:20])
        mask = int(mask_text, 16)
        if not all(mask >> bit & 1 for bit in _UNIVERSAL_NEEDS):
            raise DecodeError("unsupported_mask", mask_text)
    try:
        at = _anchor(values, 2)
        time = _time(values, at, offset)
        lat_index = _position_index(values, at + 2)
        lat = number(values[lat_index], "bad_coordinate")
        lon = number(values[lat_index + 1], "bad_coordinate")
        checked_coordinates(lat, lon)
    except DecodeError as error:
        if kind != "EMG":
            raise
        # An emergency is never lost, even when its fields cannot be placed.
        unusable = {"gps_unusable": error.reason}
        return [DeviceEvent(device, now, EventKind.UNKNOWN_ALARM, "suntech:emg:?", unusable)]
    speed = _decimal(_field(values, lat_index + 2))
    course = _decimal(_field(values, lat_index + 3))
    satellites_text = _field(values, lat_index + 4)
    satellites = int(satellites_text) if satellites_text.isdigit() else None
    fix_index = lat_index + 5
    attributes: dict[str, object] = {"suntech_type": kind}
    if universal:
        code_index = fix_index + 1 + (mask >> 17 & 1) + (mask >> 18 & 1)
    else:
        code_index = fix_index + 4  # distance, power, I/O
        attributes["odometer_m"] = _integer(_field(values, fix_index + 1))
        attributes["power_v"] = _decimal(_field(values, fix_index + 2))
        io = _field(values, fix_index + 3)
        if len(io) >= 6 and set(io) <= {"0", "1"}:
            attributes["io"] = io
            attributes["ignition"] = io[0] == "1"
    code = _alarm_code(values, kind, code_index, universal, mask)
    if code is not None:
        attributes[f"{kind.lower()}_id"] = code
    fix = Fix(
        device_id=device,
        time=time,
        lat=lat,
        lon=lon,
        speed_kmh=speed if speed is not None and speed >= 0 else None,
        course=course if course is not None and 0 <= course <= 360 else None,
        satellites=satellites if satellites is not None and satellites < 100 else None,
        valid=_field(values, fix_index) == "1",
        attributes=attributes,
    )
    events = _events(kind, code, device, time, {"lat": lat, "lon": lon}) if code else []
    return [fix, *events]


def _alarm_code(values: list[str], kind: str, index: int, universal: bool, mask: int) -> int | None:
    """The alert / emergency / event id at ``index``, if the report type has one."""
    if kind not in ("ALT", "EMG", "EVT") or (universal and not mask >> 19 & 1):
        return None
    return _integer(_field(values, index))


def _events(
    kind: str, code: int | None, device: str, time: datetime, attributes: dict[str, object]
) -> list[Record]:
    table = _EMERGENCIES if kind == "EMG" else _ALERTS if kind == "ALT" else {}
    if code is None or code not in table:
        if kind == "EMG":  # an emergency is an alarm even when its id is new to us
            raw = f"suntech:emg:{code}"
            return [DeviceEvent(device, time, EventKind.UNKNOWN_ALARM, raw, attributes)]
        return []
    event_kind, name = table[code]
    raw = f"suntech:{kind.lower()}:{code}:{name}"
    return [DeviceEvent(device, time, event_kind, raw, attributes)]


def _decode_st910(
    values: list[str], kind: str, device: str, offset: int, now: datetime
) -> list[Record]:
    alarm = {"Emergency": EventKind.SOS, "Alert": EventKind.UNKNOWN_ALARM}.get(kind)
    try:
        at = _anchor(values, 3)
        time = _time(values, at, offset)
        lat_index = _position_index(values, at + 2)
        lat = number(values[lat_index], "bad_coordinate")
        lon = number(values[lat_index + 1], "bad_coordinate")
        checked_coordinates(lat, lon)
    except DecodeError as error:
        if alarm is None:
            raise
        raw = f"suntech:st910:{kind.lower()}"
        return [DeviceEvent(device, now, alarm, raw, {"gps_unusable": error.reason})]
    speed = _decimal(_field(values, lat_index + 2))
    course = _decimal(_field(values, lat_index + 3))
    fix = Fix(
        device_id=device,
        time=time,
        lat=lat,
        lon=lon,
        speed_kmh=speed if speed is not None and speed >= 0 else None,
        course=course if course is not None and 0 <= course <= 360 else None,
        valid=_field(values, lat_index + 4) == "1",
        attributes={"suntech_type": kind},
    )
    if alarm is None:
        return [fix]
    raw = f"suntech:st910:{kind.lower()}"
    return [fix, DeviceEvent(device, time, alarm, raw, {"lat": lat, "lon": lon})]


def _integer(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None


def _decimal(text: str) -> float | None:
    try:
        return number(text, "bad_number")
    except DecodeError:
        return None


def encode_report(
    device: str,
    *,
    time: datetime,
    lat: float,
    lon: float,
    kind: str = "STT",
    code: int = 1,
    speed_kmh: float = 0.0,
    course: float = 0.0,
    valid: bool = True,
    family: str = "ST300",
) -> bytes:
    """A legacy report as an ST300 sends it (time in UTC); ``code`` is the mode of an
    ``STT`` or the id of an ``ALT``/``EMG``/``EVT``. For simulators and tests."""
    utc = time.astimezone(UTC)
    tail = ";0001" if kind == "STT" else ""
    return (
        f"{family}{kind};{device};04;706;{utc:%Y%m%d;%H:%M:%S};cc719;{lat:+.6f};{lon:+011.6f};"
        f"{speed_kmh:07.3f};{course:06.2f};9;{1 if valid else 0};0;12.50;100000;{code}{tail}\r"
    ).encode("ascii")
