"""Watch / 3G (Beesure "SeTracker" firmware and its clones): personal and ankle trackers.

Frame layout
------------
ASCII, one frame per message, no checksum::

    [<vendor>*<id>*<length>*<content>]
    [<vendor>*<id>*<index>*<length>*<content>]        (the ZJ variant)

``vendor`` is two characters (``SG``, ``3G``, ``CS``, ``ZJ``...): the server answers with
the vendor code the device used, or it ignores the answer. ``id`` is the device id, 10
digits taken from the IMEI (some firmware sends the whole 15-digit IMEI). ``length`` is
the content's length in bytes, four hex digits (``00A2`` = 162); real watches miscount
it, so it is written correctly in replies but not relied on when reading. ``content`` is a message
type, then comma-separated fields.

Messages decoded
----------------
``LK[,steps,tumbles,battery %]``
    Keep-alive every 5-8 minutes. Must be answered ``[<vendor>*<id>*0002*LK]`` at once:
    a watch that gets no answer sends LK every minute and reboots after five failures,
    and sends nothing else meanwhile. Its battery is returned in ``battery_pct``.
``UD`` / ``UD2`` (blind-spot catch-up) / ``UD3`` / ``UD_LTE`` / ``UD_WCDMA`` / ``WT``, and
``AL`` (alarm; ``ALCUSTOMER1`` and the like)::

    <type>,<ddmmyy>,<hhmmss>,<A|V>,<lat>,<N|S>,<lon>,<E|W>,<speed km/h>,<course>,
        <altitude m>,<satellites>,<GSM signal %>,<battery %>,<steps>,<tumbles>,
        <terminal status: 8 hex digits>,<cells...>,<wifi...>

    Coordinates are decimal degrees. ``AL`` must be answered ``[<vendor>*<id>*0002*AL]``
    (the watch repeats the alarm until it is): ontrack answers once the alarm is durable.
``TKQ`` / ``TKQ2`` (voice-message poll): answered with the same word at once.
``CR`` (no fields): the watch's acknowledgement of an on-demand location command; the
    position itself follows as a ``UD`` within a minute or so.

Anything else (health readings, voice and photo uploads...) decodes to no records and no
reply.

Terminal status
---------------
Four bytes as eight hex digits: the low 16 bits are states, the high 16 bits alarms (the
vendor's table; Traccar's Watch decoder reads it the same way). Bit 0 low battery (state),
bit 1 / 2 outside / inside the watch's own fence (state), bit 14 power cut;
bit 16 SOS, 17 low battery, 18 / 19 leaving / entering the watch's fence, 20 taken off
(strap removed), 21 and 22 fall (``EventKind.FALL``). The watch's own fences become
``UNKNOWN_ALARM`` events (ontrack computes zones itself, but the device's word is kept).

Quirks
------
- Latitude and longitude may carry their own minus sign, or a hemisphere letter, or both
  (``-33.48,N``); either one makes the value negative. The E/W letter may be empty.
- Fields may be padded with spaces (``N, 9.1574736,E``).
- Clocks: the watch reports the time it was set to; pass the device's
  ``time_offset_minutes`` as for GT06.
- Alarms whose position is junk (zeroed date) are still decoded, stamped with ``now``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from .records import DecodeError, DeviceEvent, EventKind, Fix, Record, checked_coordinates
from .textframe import FrameResult, SplitResult, device_time, number, six_digits

DEFAULT_PORT = 5093
MAX_FRAME_SIZE = 4096
LOCATE_COMMAND = "CR"

_START = 0x5B  # '['
_WHITESPACE = frozenset(b"\r\n \t\x00")
_HEADER = re.compile(
    rb"\[([0-9A-Za-z]{2})\*([0-9A-Za-z]{1,20})\*(?:([0-9A-Fa-f]{4})\*)?([0-9A-Fa-f]{4})\*"
)
_HEADER_MAX = 2 + 1 + 2 + 1 + 20 + 1 + 5 + 5
_POSITION_TYPES = ("UD", "WT", "AL")

# Alarm bits of the terminal status (module doc), in the order they are reported.
_ALARM_BITS: tuple[tuple[int, EventKind], ...] = (
    (16, EventKind.SOS),
    (20, EventKind.DEVICE_REMOVED),
    (21, EventKind.FALL),
    (22, EventKind.FALL),
    (14, EventKind.EXTERNAL_POWER_CUT),
    (17, EventKind.LOW_BATTERY),
    (0, EventKind.LOW_BATTERY),
    (18, EventKind.UNKNOWN_ALARM),  # left the watch's own fence
    (19, EventKind.UNKNOWN_ALARM),  # entered the watch's own fence
)
_ALARM_NAMES = {18: "fence_exit", 19: "fence_enter"}


def split_frames(buffer: bytes, *, max_frame_size: int = MAX_FRAME_SIZE) -> SplitResult:
    """Cut a TCP byte stream into ``[...]`` frames.

    A frame ends at the first ``]`` after its header. The length field is not trusted for
    this: real watches miscount it (``[SG*9051000884*009B*UD,...]`` carries 158 bytes, not
    155), and voice uploads escape ``[`` and ``]`` inside their payload, so the first ``]``
    is the end. A candidate whose header does not parse, or that finds no ``]`` within
    ``max_frame_size``, is skipped one byte at a time so the splitter resynchronises on the
    next ``[``. Line ends between frames are dropped uncounted; an incomplete frame is
    returned in ``rest``.
    """
    frames: list[bytes] = []
    skipped = 0
    position = 0
    size = len(buffer)
    while position < size:
        byte = buffer[position]
        if byte != _START:
            if byte not in _WHITESPACE:
                skipped += 1
            position += 1
            continue
        match = _HEADER.match(buffer, position, min(size, position + _HEADER_MAX))
        if match is None:
            if size - position < _HEADER_MAX and _header_may_continue(buffer[position:]):
                return SplitResult(frames, bytes(buffer[position:]), skipped)
            skipped += 1
            position += 1
            continue
        end = buffer.find(b"]", match.end(), position + max_frame_size)
        if end < 0:
            if size - position < max_frame_size:
                return SplitResult(frames, bytes(buffer[position:]), skipped)
            skipped += 1
            position += 1
            continue
        frames.append(bytes(buffer[position : end + 1]))
        position = end + 1
    return SplitResult(frames, b"", skipped)


_HEADER_PREFIX = re.compile(rb"\[[0-9A-Za-z*]*\Z")


def _header_may_continue(tail: bytes) -> bool:
    """Whether ``tail`` could still become a header once more bytes arrive."""
    return _HEADER_PREFIX.match(tail) is not None or _HEADER.match(tail) is not None


def _parse(frame: bytes) -> tuple[str, str, str | None, str]:
    """(vendor, id, index or None, content) of a frame as cut by ``split_frames``."""
    if len(frame) > MAX_FRAME_SIZE:
        raise DecodeError("frame_too_long", str(len(frame)))
    match = _HEADER.match(frame)
    if match is None or frame[-1:] != b"]":
        raise DecodeError("bad_frame")
    content = frame[match.end() : -1]
    index = match[3].decode("ascii") if match[3] is not None else None
    # Voice and photo uploads carry binary content: keep only what names the message.
    text = content.decode("ascii", errors="replace")
    return match[1].decode("ascii"), match[2].decode("ascii"), index, text


def identifier(frame: bytes) -> str:
    """The device id a frame names."""
    return _parse(frame)[1]


def encode_frame(vendor: str, device: str, content: str, index: str | None = None) -> bytes:
    """``[vendor*id*(index*)length*content]``; the length counts the content's bytes."""
    body = content.encode("ascii")
    middle = f"{index}*" if index is not None else ""
    return f"[{vendor}*{device}*{middle}{len(body):04X}*".encode("ascii") + body + b"]"


def encode_command(header: tuple[str, ...], device: str, text: str) -> bytes:
    """A command (e.g. ``CR``) framed like the device's own frames (vendor, index)."""
    vendor = header[0] if header else "SG"
    index = header[1] if len(header) > 1 else None
    return encode_frame(vendor, device, text, index)


def decode(
    frame: bytes, *, time_offset_minutes: int = 0, now: datetime | None = None
) -> FrameResult:
    """Decode one frame as cut by ``split_frames`` (see the module doc for the replies).

    ``now`` stamps alarms whose own time is unusable; it defaults to the current time.
    """
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    vendor, device, index, content = _parse(frame)
    header = (vendor,) if index is None else (vendor, index)
    kind, _, rest = content.partition(",")
    kind = kind[:24]

    def answer(word: str) -> bytes:
        return encode_frame(vendor, device, word, index)

    if kind == "LK":
        battery = _lk_battery(rest)
        return FrameResult(device, kind, reply=answer("LK"), battery_pct=battery, header=header)
    if kind.startswith(_POSITION_TYPES):
        alarm = kind.startswith("AL")
        records, battery = _decode_position(rest, device, time_offset_minutes, moment, alarm)
        return FrameResult(
            device,
            kind,
            records,
            reply=answer("AL") if alarm else None,
            reply_when_durable=alarm,
            battery_pct=battery,
            header=header,
        )
    if kind in ("TKQ", "TKQ2"):
        return FrameResult(device, kind, reply=answer(kind), header=header)
    if kind == LOCATE_COMMAND:
        return FrameResult(device, kind, command_response=content[:200], header=header)
    return FrameResult(device, kind, supported=False, header=header)


def _lk_battery(rest: str) -> int | None:
    values = rest.split(",") if rest else []
    if len(values) >= 3:
        return _percentage(values[2])
    return None


def _percentage(text: str) -> int | None:
    value = text.strip()
    if value.isascii() and value.isdigit() and len(value) <= 3 and int(value) <= 100:
        return int(value)
    return None


def _coordinate(text: str, hemisphere: str, negative: str) -> float:
    value = number(text, "bad_coordinate")
    return -abs(value) if value < 0 or hemisphere.strip() == negative else value


def _decode_position(
    rest: str, device: str, offset: int, now: datetime, alarm: bool
) -> tuple[list[Record], int | None]:
    fields = rest.split(",")
    if len(fields) < 16:
        raise DecodeError("truncated", f"{len(fields)} fields")
    battery = _percentage(fields[12])
    status_text = fields[15].strip()
    status = int(status_text, 16) if re.fullmatch(r"[0-9A-Fa-f]{4,8}", status_text) else 0
    attributes: dict[str, object] = {
        "gsm_signal": _percentage(fields[11]),
        "status": f"{status:08X}",
    }
    try:
        time = device_time(six_digits(fields[0].strip()), six_digits(fields[1].strip()), offset)
        lat = _coordinate(fields[3], fields[4], "S")
        lon = _coordinate(fields[5], fields[6], "W")
        checked_coordinates(lat, lon)
        speed = number(fields[7], "bad_speed")
        course = number(fields[8], "bad_course")
        altitude = number(fields[9], "bad_altitude")
        satellites = int(number(fields[10], "bad_satellites"))
    except DecodeError as error:
        events = _status_events(status, device, now, {"gps_unusable": error.reason})
        if not alarm or not events:
            raise
        return list(events), battery
    fix = Fix(
        device_id=device,
        time=time,
        lat=lat,
        lon=lon,
        speed_kmh=speed if speed >= 0 else None,
        course=course if 0 <= course <= 360 else None,
        altitude_m=altitude,
        satellites=satellites if 0 <= satellites < 100 else None,
        valid=fields[2].strip() == "A",
        battery_pct=battery,
        attributes=attributes,
    )
    return [fix, *_status_events(status, device, time, {"lat": lat, "lon": lon})], battery


def _status_events(
    status: int, device: str, time: datetime, attributes: dict[str, object]
) -> list[DeviceEvent]:
    events: list[DeviceEvent] = []
    for bit, kind in _ALARM_BITS:
        if not status >> bit & 1:
            continue
        if kind != EventKind.UNKNOWN_ALARM and any(kind == event.kind for event in events):
            continue
        raw = f"watch:status:bit{bit}"
        if bit in _ALARM_NAMES:
            raw += f":{_ALARM_NAMES[bit]}"
        events.append(DeviceEvent(device, time, kind, raw, dict(attributes)))
    return events


def encode_position(
    vendor: str,
    device: str,
    *,
    time: datetime,
    lat: float,
    lon: float,
    speed_kmh: float = 0.0,
    course: float = 0.0,
    battery_pct: int = 100,
    status: int = 0x08,
    alarm: bool = False,
    valid: bool = True,
) -> bytes:
    """A ``UD`` (or ``AL``) frame as a watch sends it (time in UTC); for simulators and
    tests."""
    utc = time.astimezone(UTC)
    content = (
        f"{'AL' if alarm else 'UD'},{utc:%d%m%y},{utc:%H%M%S},{'A' if valid else 'V'},"
        f"{abs(lat):.6f},{'N' if lat >= 0 else 'S'},{abs(lon):.6f},{'E' if lon >= 0 else 'W'},"
        f"{speed_kmh:.2f},{course:.1f},0.0,7,80,{battery_pct},0,0,{status:08X},0,0"
    )
    return encode_frame(vendor, device, content)
