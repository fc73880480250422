"""H02 (Sinotrack ST-901/903 and the many "TK"/"H02" clones): ASCII and BCD frames over TCP.

Text frame
----------
``*<maker>,<id>,<type>,<fields...>#``, ASCII, comma-separated, no checksum. ``maker`` is
two letters (``HQ``, ``hq``, ``TH``); ``id`` is the unit's id, 10 digits (often the IMEI's
last digits) or the 15-digit IMEI. Location types ``V1`` (``V2``, ``VI1``, ``V19`` alike)::

    *HQ,<id>,V1,<hhmmss>,<A|V>,<lat>,<N|S>,<lon>,<E|W>,<speed knots>,<course>,<ddmmyy>,
        <status: 8 hex digits>[,<extras: cells, odometer...>]#

Coordinates come as degrees and minutes: ``ddmm.mmmm`` / ``dddmm.mmmm`` (the usual),
``-dd-mm.mmmm`` (some Brazilian firmware) or ``ddmmmmmm`` without a point. Some firmware
puts a battery field between course and date (``...,047,4,080918,...``); some pads fields
with spaces. ``LINK`` (keep-alive: hhmmss, GSM signal, satellites, battery %, steps,
turnovers, ddmmyy, status) carries no position: its status alarms are kept, its battery
is returned in ``battery_pct``. ``NBR``/``V3`` (cell towers only), ``HTBT`` (heartbeat)
and anything else decode to no records.

Binary frame (``$``)
--------------------
32 bytes, or 45 with 13 vendor bytes at the end (cells, odometer)::

    offset  size  field
    0       1     '$'
    1       5     id, BCD (10 digits)
    6       3     time hhmmss, BCD
    9       3     date ddmmyy, BCD
    12      4     latitude ddmm.mmmm as 8 BCD digits
    16      1     battery: 1-6 a level (1 empty .. 6 full), 7-100 a percentage, else none
    17      5     longitude dddmm.mmmm as 9 BCD digits, then a flag nibble: 0x2 fix valid,
                  0x4 north, 0x8 east
    22      3     speed (3 BCD digits, knots), course (3 BCD digits)
    25      4     status, as in the text frame
    29      3     vendor bytes (alarm flag, reserved, record number)

A 45-byte frame is told from a 32-byte one by what follows: a 32-byte frame is followed by
the next frame's ``$``/``*``, a line end, or nothing yet. BCD digits include 0x24 (``$``), so the
binary form cannot resynchronise on its marker after garbage the way text can; a unit
sends one form or the other and in practice starts each connection in step.

Status (4 bytes, big-endian) is *active low*: a bit at 0 raises the alarm. Bit 0
vibration/theft, bit 1 SOS, bit 2 overspeed, bit 18 SOS (second button), bit 19 main
power cut; bit 10 at 1 = ignition (ACC) on. An all-ones status is "nothing to report".

Replies
-------
A ``V1`` location is answered ``*HQ,<id>,V4,V1,<yyyymmddhhmmss>#`` (UTC), after its records
are durable; the unit needs no answer to go on reporting, so nothing else is answered.
There is no standard on-demand location command (``D1`` sets a tracking interval), so
ontrack sends H02 units none.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from .records import DecodeError, DeviceEvent, EventKind, Fix, Record, checked_coordinates
from .textframe import FrameResult, SplitResult, device_time, number, six_digits

DEFAULT_PORT = 5013
MAX_FRAME_SIZE = 1024
BINARY_SHORT = 32
BINARY_LONG = 45
KNOTS_TO_KMH = 1.852

_LOCATION_TYPES = frozenset({"V1", "V2", "VI1", "V19"})
_STARTS = (0x2A, 0x24)  # '*', '$'
_WHITESPACE = frozenset(b"\r\n \t\x00")
# What may follow a 32-byte binary frame (a 45-byte one has vendor bytes there instead).
_AFTER_SHORT = frozenset(b"*$\r\n")

# Status bits whose 0 raises an alarm, and what it means (the unit's manual and Traccar's
# H02 decoder agree on these; the other bits vary by firmware and are kept raw).
_ACTIVE_LOW_ALARMS: tuple[tuple[int, EventKind], ...] = (
    (0, EventKind.VIBRATION),
    (1, EventKind.SOS),
    (2, EventKind.OVERSPEED),
    (18, EventKind.SOS),
    (19, EventKind.EXTERNAL_POWER_CUT),
)
_IGNITION_BIT = 10

_COORDINATE_DASHED = re.compile(r"-(\d+)-(\d+\.\d+)")
_COORDINATE_POINT = re.compile(r"(\d+)(\d\d\.\d+)")
_COORDINATE_PLAIN = re.compile(r"(\d+)(\d\d)(\d{4})")
_HEX8 = re.compile(r"[0-9A-Fa-f]{8}")
_ID = re.compile(r"[0-9]{1,20}")


def split_frames(buffer: bytes, *, max_frame_size: int = MAX_FRAME_SIZE) -> SplitResult:
    """Cut a TCP byte stream into text (``*...#``) and binary (``$`` + 31/44) frames.

    Line ends and padding between frames are dropped without being counted; other bytes
    before a start marker are skipped and counted. A text frame longer than
    ``max_frame_size`` without its ``#`` is garbage (skipped one byte at a time, so the
    splitter finds the next marker); an incomplete frame is returned in ``rest``.
    """
    frames: list[bytes] = []
    skipped = 0
    position = 0
    size = len(buffer)
    while position < size:
        byte = buffer[position]
        if byte not in _STARTS:
            if byte not in _WHITESPACE:
                skipped += 1
            position += 1
            continue
        if byte == 0x2A:
            end = buffer.find(b"#", position + 1, position + max_frame_size)
            if end < 0:
                if size - position < max_frame_size:
                    return SplitResult(frames, bytes(buffer[position:]), skipped)
                skipped += 1
                position += 1
                continue
            restart = buffer.find(b"*", position + 1, end)
            if restart >= 0:  # a stray '*' before a real frame: the frame starts there
                skipped += restart - position
                position = restart
                continue
            frames.append(bytes(buffer[position : end + 1]))
            position = end + 1
            continue
        available = size - position
        if available < BINARY_SHORT:
            return SplitResult(frames, bytes(buffer[position:]), skipped)
        after_short = position + BINARY_SHORT
        if available == BINARY_SHORT or buffer[after_short] in _AFTER_SHORT:
            length = BINARY_SHORT
        elif available < BINARY_LONG:
            return SplitResult(frames, bytes(buffer[position:]), skipped)
        else:
            length = BINARY_LONG
        frames.append(bytes(buffer[position : position + length]))
        position += length
    return SplitResult(frames, b"", skipped)


def identifier(frame: bytes) -> str:
    """The device id a frame names (so the gateway can look the device up before decoding
    with that device's clock offset)."""
    if frame[:1] == b"$":
        if len(frame) not in (BINARY_SHORT, BINARY_LONG):
            raise DecodeError("bad_length", str(len(frame)))
        digits = frame[1:6].hex()
        if not digits.isdigit():
            raise DecodeError("bad_id", digits)
        return digits
    fields = _text_fields(frame)
    if len(fields) < 3 or not _ID.fullmatch(fields[1]):
        raise DecodeError("bad_id", fields[1][:20] if len(fields) > 1 else "")
    return fields[1]


def decode(
    frame: bytes, *, time_offset_minutes: int = 0, now: datetime | None = None
) -> FrameResult:
    """Decode one frame as cut by ``split_frames``.

    ``now`` stamps the alarms of frames whose own time is unusable and fills the ``V1``
    reply; it defaults to the current time.
    """
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if len(frame) > MAX_FRAME_SIZE:
        raise DecodeError("frame_too_long", str(len(frame)))
    device = identifier(frame)
    if frame[:1] == b"$":
        return FrameResult(device, "binary", _decode_binary(frame, device, time_offset_minutes))
    fields = _text_fields(frame)
    kind = fields[2].strip()
    if kind in _LOCATION_TYPES:
        records = _decode_location(fields, device, time_offset_minutes, moment)
        reply: bytes | None = None
        if kind == "V1":
            stamp = moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")
            reply = f"*HQ,{device},V4,V1,{stamp}#".encode("ascii")
        return FrameResult(device, kind, records, reply=reply, reply_when_durable=True)
    if kind == "LINK":
        return _decode_link(fields, device, time_offset_minutes, moment)
    return FrameResult(device, kind[:16], supported=False)


def _text_fields(frame: bytes) -> list[str]:
    if frame[:1] != b"*" or frame[-1:] != b"#":
        raise DecodeError("bad_frame")
    try:
        text = frame[1:-1].decode("ascii")
    except UnicodeDecodeError as error:
        raise DecodeError("not_ascii") from error
    fields = text.split(",")
    if len(fields) < 3:
        raise DecodeError("truncated", str(len(fields)))
    return fields


def _coordinate(text: str, hemisphere: str, negative: str) -> float:
    """Degrees from one of the three degree-and-minute notations (module doc)."""
    value = text.strip()
    match = _COORDINATE_DASHED.fullmatch(value) or _COORDINATE_POINT.fullmatch(value)
    if match is not None:
        degrees, minutes = float(match[1]), float(match[2])
    else:
        plain = _COORDINATE_PLAIN.fullmatch(value)
        if plain is None:
            raise DecodeError("bad_coordinate", value[:20])
        degrees, minutes = float(plain[1]), float(f"{plain[2]}.{plain[3]}")
    if minutes >= 60:
        raise DecodeError("bad_coordinate", value[:20])
    result = degrees + minutes / 60
    return -result if hemisphere.strip() == negative else result


def _status(text: str) -> int | None:
    return int(text, 16) if _HEX8.fullmatch(text.strip()) else None


def _status_events(
    status: int, device: str, time: datetime, attributes: dict[str, object]
) -> list[DeviceEvent]:
    events: list[DeviceEvent] = []
    for bit, kind in _ACTIVE_LOW_ALARMS:
        if not status >> bit & 1 and all(kind != event.kind for event in events):
            events.append(DeviceEvent(device, time, kind, f"h02:status:bit{bit}", dict(attributes)))
    return events


def _decode_location(fields: list[str], device: str, offset: int, now: datetime) -> list[Record]:
    if len(fields) < 12:
        raise DecodeError("truncated", f"{len(fields)} fields")
    rest = fields[11:]
    battery: int | None = None
    if len(rest) > 1 and not _is_date(rest[0]) and _is_date(rest[1]):
        battery = _battery_pct(rest[0])
        rest = rest[1:]
    status = next((value for value in map(_status, rest[1:]) if value is not None), None)
    attributes: dict[str, object] = {"h02_type": fields[2].strip()}
    if status is not None:
        attributes["status"] = f"{status:08X}"
        attributes["ignition"] = bool(status >> _IGNITION_BIT & 1)
    try:
        time = device_time(six_digits(rest[0]), six_digits(fields[3]), offset)
        lat = _coordinate(fields[5], fields[6], "S")
        lon = _coordinate(fields[7], fields[8], "W")
        checked_coordinates(lat, lon)
        speed = number(fields[9], "bad_speed") * KNOTS_TO_KMH if fields[9].strip() else None
        course = number(fields[10], "bad_course") if fields[10].strip() else None
    except DecodeError as error:
        # An alarm whose position is junk (no fix yet) is still an alarm.
        unusable: dict[str, object] = {"gps_unusable": error.reason}
        if status is None or not (events := _status_events(status, device, now, unusable)):
            raise
        return list(events)
    fix = Fix(
        device_id=device,
        time=time,
        lat=lat,
        lon=lon,
        speed_kmh=speed,
        course=course if course is None or 0 <= course <= 360 else None,
        valid=fields[4].strip() == "A",
        battery_pct=battery,
        attributes=attributes,
    )
    records: list[Record] = [fix]
    if status is not None:
        records.extend(_status_events(status, device, time, {"lat": lat, "lon": lon}))
    return records


def _decode_link(fields: list[str], device: str, offset: int, now: datetime) -> FrameResult:
    """``LINK,hhmmss,gsm,satellites,battery,steps,turnovers,ddmmyy,status``."""
    if len(fields) < 11:
        raise DecodeError("truncated", f"{len(fields)} fields")
    battery = _battery_pct(fields[6])
    status = _status(fields[10])
    records: list[Record] = []
    if status is not None:
        try:
            time = device_time(six_digits(fields[9]), six_digits(fields[3]), offset)
        except DecodeError:
            time = now
        records.extend(_status_events(status, device, time, {}))
    return FrameResult(device, "LINK", records, battery_pct=battery)


def _is_date(text: str) -> bool:
    return len(text) == 6 and text.isascii() and text.isdigit()


def _battery_pct(text: str) -> int | None:
    value = text.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 3:
        return None
    return _battery_from_byte(int(value))


def _battery_from_byte(value: int) -> int | None:
    """1-6 a level (1 empty .. 6 full), 7-100 a percentage, anything else unknown."""
    if 1 <= value <= 6:
        return (value - 1) * 20
    if 7 <= value <= 100:
        return value
    return None


def _bcd(data: bytes, reason: str) -> str:
    digits = data.hex()
    if not digits.isdigit():
        raise DecodeError(reason, digits)
    return digits


def _decode_binary(frame: bytes, device: str, offset: int) -> list[Record]:
    clock = _bcd(frame[6:9], "bad_time")
    date = _bcd(frame[9:12], "bad_time")
    time = device_time(six_digits(date), six_digits(clock), offset)
    lat_digits = _bcd(frame[12:16], "bad_coordinate")
    lon_nibbles = frame[17:22].hex()
    flags = int(lon_nibbles[-1], 16)
    lon_digits = lon_nibbles[:-1]
    if not lon_digits.isdigit():
        raise DecodeError("bad_coordinate", lon_nibbles)
    lat = int(lat_digits[:2]) + int(lat_digits[2:]) / 10_000 / 60
    lon = int(lon_digits[:3]) + int(lon_digits[3:]) / 10_000 / 60
    if int(lat_digits[2:4]) >= 60 or int(lon_digits[3:5]) >= 60:
        raise DecodeError("bad_coordinate", frame[12:22].hex())
    if not flags & 0x4:
        lat = -lat
    if not flags & 0x8:
        lon = -lon
    checked_coordinates(lat, lon)
    motion = frame[22:25].hex()
    if not motion[:3].isdigit() or not motion[4:].isdigit():
        raise DecodeError("bad_speed", motion)
    course = int(motion[3], 16) * 100 + int(motion[4:])
    status = int.from_bytes(frame[25:29], "big")
    attributes: dict[str, object] = {
        "h02_type": "binary",
        "status": f"{status:08X}",
        "ignition": bool(status >> _IGNITION_BIT & 1),
    }
    fix = Fix(
        device_id=device,
        time=time,
        lat=lat,
        lon=lon,
        speed_kmh=int(motion[:3]) * KNOTS_TO_KMH,
        course=float(course) if course <= 360 else None,
        valid=bool(flags & 0x2),
        battery_pct=_battery_from_byte(frame[16]),
        attributes=attributes,
    )
    return [fix, *_status_events(status, device, time, {"lat": lat, "lon": lon})]


def encode_v1(
    identifier: str,
    *,
    time: datetime,
    lat: float,
    lon: float,
    speed_kmh: float = 0.0,
    course: float = 0.0,
    valid: bool = True,
    status: int = 0xFFFFFBFF,
) -> bytes:
    """A ``V1`` frame as a unit sends it (time in UTC); for simulators and tests."""
    utc = time.astimezone(UTC)

    def degrees_minutes(value: float, width: int) -> str:
        ten_thousandths = round(abs(value) * 60 * 10_000)
        whole, minutes = divmod(ten_thousandths, 60 * 10_000)
        return f"{whole:0{width}d}{minutes / 10_000:07.4f}"

    return (
        f"*HQ,{identifier},V1,{utc:%H%M%S},{'A' if valid else 'V'},"
        f"{degrees_minutes(lat, 2)},{'N' if lat >= 0 else 'S'},"
        f"{degrees_minutes(lon, 3)},{'E' if lon >= 0 else 'W'},"
        f"{speed_kmh / KNOTS_TO_KMH:.2f},{course:.0f},{utc:%d%m%y},{status:08X}#"
    ).encode("ascii")
