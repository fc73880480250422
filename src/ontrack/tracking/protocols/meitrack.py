"""Meitrack (MVT100/MVT340/MVT380/MVT600, T1/T3/T333/T355, T622...): ASCII frames over TCP.

Frame layout
------------
Every frame, either way, is framed the same (the vendor's "MEITRACK GPRS Protocol")::

    $$<flag><length>,<IMEI>,<command>,<fields...>*<checksum>\\r\\n     (device -> server)
    @@<flag><length>,<IMEI>,<command>[,<parameters...>]*<checksum>\\r\\n  (server -> device)

``flag`` is one character the sender picks (a unit answers a command with its flag);
``length`` counts the bytes from the comma after it to the final ``\\r\\n`` inclusive;
``checksum`` is two upper-case hex digits, the sum of every byte from the first ``$``
(``@``) to the ``*`` inclusive, modulo 256. ``IMEI`` is the unit's IMEI (14 digits on a few
old units).

A checksum mismatch is not a reason to drop a position: the frame is decoded and
``crc_mismatch`` set so that the gateway counts it (``crc_mismatches``), as for GT06.
Some firmware miscounts ``length``: a frame whose counted end is not ``\\r\\n`` ends at its
``*XX\\r\\n`` instead.

The event report ``AAA`` (``AFF`` is the same with an index first, in the "confirm each
event" mode)::

    AAA,<event code>,<lat>,<lon>,<yymmddhhmmss>,<A|V>,<satellites>,<GSM signal>,
        <speed km/h>,<course>,<HDOP>,<altitude m>,<odometer m>,<run time s>,
        <MCC|MNC|LAC|CI>,<I/O: 4 hex digits>,<analog inputs, '|'-separated>[,...]

Coordinates are signed decimal degrees; the time is the unit's clock, ``yymmddhhmmss``
(pass the device's ``time_offset_minutes`` if it is not kept in UTC). What follows the analog inputs
depends on the model and firmware and is not read.

Event codes
-----------
The vendor's table (the T622/T1/T333 protocol documents; Traccar's Meitrack decoder maps the
same codes): 1 SOS pressed, 17 low (internal) battery, 18 low external battery, 19
speeding, 20 / 21 entered / left the unit's own fence, 22 external power on, 23 external
power cut, 24 / 25 GPS signal lost / recovered, 36 towed, 78 collision, 90 / 91 sharp turn,
129 harsh braking, 130 harsh acceleration. 34 is the answer to ``A10`` (on-demand
location), 35 a scheduled report, 31 a heartbeat. Other codes (inputs changing, sleep...)
are kept as ``event`` on the fix and raise nothing. On a personal tracker the "external
battery" is its charger, so 22 becomes ``CHARGER_CONNECTED``. The units have no strap or
fall alarm in this table.

Replies and commands
--------------------
An ``AAA`` needs no answer over TCP (only the optional "confirm each event" mode, ``C03``
set to 1, wants ``AFF`` answers; ontrack leaves units in the default mode). ``A10`` asks for
the current position: the unit answers with an ``AAA`` of event 34, which answers the
command with a fix. Other commands are answered ``<command>,<result>`` (``A12,OK``): kept as
the command's answer. Binary uploads (``CCC``/``CCE`` cached batches, ``D00`` photos) decode
to no records.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from .records import DecodeError, DeviceEvent, EventKind, Fix, Record, checked_coordinates
from .textframe import FrameResult, SplitResult, device_time, number, six_digits

DEFAULT_PORT = 5020
MAX_FRAME_SIZE = 2048
LOCATE_COMMAND = "A10"

_HEADER = re.compile(rb"\$\$(.)(\d{1,4}),", re.DOTALL)
_HEADER_PREFIX = re.compile(rb"\$(?:\$(?:.\d{0,4})?)?\Z", re.DOTALL)
_TERMINATOR = re.compile(rb"\*[0-9A-Fa-f]{2}\r\n")
_WHITESPACE = frozenset(b"\r\n \t\x00")
_IMEI = re.compile(r"[0-9]{1,20}")
_COMMAND = re.compile(r"[A-Z][0-9A-Z]{2}")

_EVENTS: dict[int, tuple[EventKind, str]] = {
    1: (EventKind.SOS, "sos"),
    17: (EventKind.LOW_BATTERY, "low_battery"),
    18: (EventKind.EXTERNAL_POWER_LOW, "low_external_battery"),
    19: (EventKind.OVERSPEED, "speeding"),
    20: (EventKind.GEOFENCE_ENTER, "fence_enter"),
    21: (EventKind.GEOFENCE_EXIT, "fence_exit"),
    22: (EventKind.CHARGER_CONNECTED, "external_power_on"),
    23: (EventKind.EXTERNAL_POWER_CUT, "external_power_cut"),
    24: (EventKind.GPS_LOST, "gps_lost"),
    25: (EventKind.GPS_REGAINED, "gps_recovered"),
    36: (EventKind.MOVEMENT, "tow"),
    78: (EventKind.COLLISION, "collision"),
    90: (EventKind.HARSH_CORNERING, "sharp_turn_left"),
    91: (EventKind.HARSH_CORNERING, "sharp_turn_right"),
    129: (EventKind.HARSH_BRAKING, "harsh_braking"),
    130: (EventKind.HARSH_ACCELERATION, "harsh_acceleration"),
}


def checksum(data: bytes) -> str:
    """Two upper-case hex digits: the sum of ``data``'s bytes modulo 256."""
    return f"{sum(data) & 0xFF:02X}"


def split_frames(buffer: bytes, *, max_frame_size: int = MAX_FRAME_SIZE) -> SplitResult:
    """Cut a TCP byte stream into ``$$...\\r\\n`` frames, by their length field (binary
    uploads may hold ``\\r\\n``), or at ``*XX\\r\\n`` when the counted end is not a line end.

    Line ends between frames are dropped uncounted, other bytes before a ``$$`` skipped and
    counted; a candidate that cannot become a frame within ``max_frame_size`` is skipped one
    byte at a time, so the splitter resynchronises on the next ``$$``.
    """
    frames: list[bytes] = []
    skipped = 0
    position = 0
    size = len(buffer)
    while position < size:
        byte = buffer[position]
        if byte != 0x24:  # '$'
            if byte not in _WHITESPACE:
                skipped += 1
            position += 1
            continue
        header = _HEADER.match(buffer, position, min(size, position + 8))
        if header is None:
            if _HEADER_PREFIX.match(buffer, position) is not None:
                return SplitResult(frames, bytes(buffer[position:]), skipped)
            skipped += 1
            position += 1
            continue
        end = header.end() - 1 + int(header[2])
        limit = position + max_frame_size
        if end <= min(size, limit) and buffer[end - 2 : end] == b"\r\n":
            frames.append(bytes(buffer[position:end]))
            position = end
            continue
        if end > size and end <= limit:
            return SplitResult(frames, bytes(buffer[position:]), skipped)
        terminator = _TERMINATOR.search(buffer, header.end(), min(size, limit))
        if terminator is not None:
            frames.append(bytes(buffer[position : terminator.end()]))
            position = terminator.end()
            continue
        if size - position < max_frame_size:
            return SplitResult(frames, bytes(buffer[position:]), skipped)
        skipped += 1
        position += 1
    return SplitResult(frames, b"", skipped)


def _envelope(frame: bytes) -> tuple[str, str, bytes, bool]:
    """(IMEI, command, the bytes after the command's comma, checksum mismatch)."""
    if len(frame) > MAX_FRAME_SIZE:
        raise DecodeError("frame_too_long", str(len(frame)))
    body = frame[:-2] if frame.endswith(b"\r\n") else frame
    header = _HEADER.match(body)
    if header is None:
        raise DecodeError("bad_frame")
    star = body.rfind(b"*")
    if star < header.end() or len(body) - star != 3:
        raise DecodeError("bad_frame", "no *checksum")
    try:
        claimed = int(body[star + 1 :].decode("ascii"), 16)
    except (UnicodeDecodeError, ValueError) as error:
        raise DecodeError("bad_checksum") from error
    mismatch = sum(body[: star + 1]) & 0xFF != claimed
    imei, _, rest = body[header.end() : star].partition(b",")
    text = imei.decode("ascii", errors="replace")
    if not _IMEI.fullmatch(text):
        raise DecodeError("bad_id", text[:20])
    command, _, payload = rest.partition(b",")
    return text, command.decode("ascii", errors="replace")[:8], payload, mismatch


def identifier(frame: bytes) -> str:
    """The IMEI a frame names."""
    return _envelope(frame)[0]


def encode_command(header: tuple[str, ...], device: str, text: str) -> bytes:
    """``@@<flag><length>,<IMEI>,<text>*<checksum>\\r\\n`` (``text`` e.g. ``A10``)."""
    flag = header[0] if header else "Q"
    tail = f",{device},{text}*".encode("ascii")
    head = f"@@{flag}{len(tail) + 4}".encode("ascii")
    return head + tail + checksum(head + tail).encode("ascii") + b"\r\n"


def decode(
    frame: bytes, *, time_offset_minutes: int = 0, now: datetime | None = None
) -> FrameResult:
    """Decode one frame as cut by ``split_frames`` (the trailing ``\\r\\n`` is optional).

    ``now`` stamps alarms whose own time or position is unusable; it defaults to the
    current time.
    """
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    device, command, payload, mismatch = _envelope(frame)
    if command in ("AAA", "AFF"):
        try:
            fields = payload.decode("ascii").split(",")
        except UnicodeDecodeError as error:
            raise DecodeError("not_ascii") from error
        if command == "AFF":  # an AAA that waits to be confirmed: its index comes first
            fields = fields[1:]
        records = _decode_aaa(fields, device, time_offset_minutes, moment)
        return FrameResult(device, command, records, crc_mismatch=mismatch)
    if _COMMAND.fullmatch(command) and command not in ("CCC", "CCE", "D00"):
        answer = f"{command},{payload.decode('ascii', errors='replace')}"
        return FrameResult(device, command, command_response=answer[:200], crc_mismatch=mismatch)
    return FrameResult(device, command, supported=False, crc_mismatch=mismatch)


def _decode_aaa(fields: list[str], device: str, offset: int, now: datetime) -> list[Record]:
    if len(fields) < 15:
        raise DecodeError("truncated", f"{len(fields)} fields")
    code_text = fields[0].strip()
    if not code_text.isascii() or not code_text.isdigit() or len(code_text) > 3:
        raise DecodeError("bad_event", code_text[:20])
    code = int(code_text)
    attributes: dict[str, object] = {
        "event": code,
        "gsm_signal": _integer(fields[6]),
        "hdop": _decimal(fields[9]),
        "odometer_m": _integer(fields[11]),
        "io": fields[14].strip()[:8],
    }
    if len(fields) > 15:
        attributes["analog"] = fields[15].strip()[:64]
    try:
        stamp = fields[3].strip()
        if len(stamp) != 12:
            raise DecodeError("bad_time", stamp[:20])
        year, month, day = six_digits(stamp[:6])
        time = device_time((day, month, year), six_digits(stamp[6:]), offset)
        lat = number(fields[1], "bad_coordinate")
        lon = number(fields[2], "bad_coordinate")
        checked_coordinates(lat, lon)
    except DecodeError as error:
        if code not in _EVENTS:
            raise
        return _events(code, device, now, {"gps_unusable": error.reason})
    satellites = _integer(fields[5])
    speed, course = _decimal(fields[7]), _decimal(fields[8])
    fix = Fix(
        device_id=device,
        time=time,
        lat=lat,
        lon=lon,
        speed_kmh=speed if speed is not None and speed >= 0 else None,
        course=course if course is not None and 0 <= course <= 360 else None,
        altitude_m=_decimal(fields[10]),
        satellites=satellites if satellites is not None and satellites < 100 else None,
        valid=fields[4].strip() == "A",
        attributes=attributes,
    )
    return [fix, *_events(code, device, time, {"lat": lat, "lon": lon})]


def _events(code: int, device: str, time: datetime, attributes: dict[str, object]) -> list[Record]:
    if code not in _EVENTS:
        return []
    kind, name = _EVENTS[code]
    return [DeviceEvent(device, time, kind, f"meitrack:event:{code}:{name}", attributes)]


def _integer(text: str) -> int | None:
    value = text.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else None


def _decimal(text: str) -> float | None:
    try:
        return number(text, "bad_number")
    except DecodeError:
        return None


def encode_aaa(
    imei: str,
    *,
    time: datetime,
    lat: float,
    lon: float,
    event: int = 35,
    speed_kmh: float = 0.0,
    course: float = 0.0,
    valid: bool = True,
    flag: str = "A",
) -> bytes:
    """An ``AAA`` frame as a unit sends it (time in UTC); for simulators and tests."""
    utc = time.astimezone(UTC)
    tail = (
        f",{imei},AAA,{event},{lat:.6f},{lon:.6f},{utc:%y%m%d%H%M%S},{'A' if valid else 'V'},"
        f"9,20,{speed_kmh:.0f},{course:.0f},0.9,30,0,0,0|0|0000|0000,0000,0000|0000|0000|0190|0000,*"
    ).encode("ascii")
    head = f"$${flag}{len(tail) + 4}".encode("ascii")
    return head + tail + checksum(head + tail).encode("ascii") + b"\r\n"
