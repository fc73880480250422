"""TK103 / GPS103 (Coban TK103, TK102, GPS103 and their clones): ASCII frames over TCP.

Frame layout
------------
ASCII, comma-separated, ended by ``;`` (some firmware ends with a line end instead), no
checksum. Three kinds::

    ##,imei:<imei>,A;                         login: answered LOAD at once
    <imei>;                                   heartbeat: answered ON at once
    imei:<imei>,<keyword>,<local date-time>,<phone>,<F|L>,<hhmmss.sss UTC>,<A|V>,
        <lat ddmm.mmmm>,<N|S>,<lon dddmm.mmmm>,<E|W>,<speed knots>,<course>[,...];

``keyword`` is ``tracker`` (a timed report), ``001`` or another short code, or an alarm:
``help me`` (SOS), ``low battery``, ``ac alarm`` (main power cut), ``move`` (moved while
armed), ``speed`` (overspeed), ``sensor alarm`` (shock), ``accident alarm``, ``stockade``
(the unit's own fence), ``door alarm``, ``acc alarm``... ``F`` means a GPS position follows,
``L`` that there is none (cell ids instead): an ``L`` alarm is still an alarm, stamped with
the time it arrived.

Time: the ``local date-time`` (``yymmddhhmm``, ``yymmddhhmmss`` or ``yy/mm/dd hh:mm``) is the
unit's clock in its own zone, but the fix time ``hhmmss.sss`` is UTC from the GPS. The UTC
date is the local date, or the day before or after, whichever puts the two closest (the
unit's zone is never more than 14 h from UTC), so the device's ``time_offset_minutes`` is not
needed. ``OBD``, ``vr`` (voice), ``DTC``-only and other reports without a position decode to
no records.

Commands
--------
``**,imei:<imei>,B;`` asks for one position now (``single locate``); the unit answers with
an ordinary report. Positions need no answer.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .records import (
    DecodeError,
    DeviceEvent,
    EventKind,
    Fix,
    Record,
    checked_coordinates,
    checked_time,
)
from .textframe import FrameResult, SplitResult, number

DEFAULT_PORT = 5001
MAX_FRAME_SIZE = 1024
KNOTS_TO_KMH = 1.852
LOCATE_COMMAND = "B"
LOGIN_REPLY = b"LOAD"
HEARTBEAT_REPLY = b"ON"

_WHITESPACE = frozenset(b"\r\n \t\x00")
_TERMINATORS = re.compile(rb"[;\n]")
_IMEI = re.compile(r"[0-9]{1,20}")
_LOGIN = re.compile(r"##,imei:([0-9]{1,20}),A")
_COORDINATE = re.compile(r"(\d+)(\d\d\.\d+)")
_CLOCK = re.compile(r"(\d\d)(\d\d)(\d\d)(?:\.\d+)?")
_LOCAL_DIGITS = re.compile(r"(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?")
_LOCAL_SLASHED = re.compile(r"(\d\d)/(\d\d)/(\d\d) (\d\d):(\d\d)")

# Alarm keywords (the Coban manual's SMS texts, which the units send over GPRS too).
ALARMS: dict[str, EventKind] = {
    "help me": EventKind.SOS,
    "low battery": EventKind.LOW_BATTERY,
    "ac alarm": EventKind.EXTERNAL_POWER_CUT,
    "move": EventKind.MOVEMENT,
    "speed": EventKind.OVERSPEED,
    "sensor alarm": EventKind.VIBRATION,
    "accident alarm": EventKind.COLLISION,
    "stockade": EventKind.UNKNOWN_ALARM,  # the unit's own fence, direction not said
    "door alarm": EventKind.UNKNOWN_ALARM,
    "acc alarm": EventKind.UNKNOWN_ALARM,  # ignition on while armed
    "bonnet alarm": EventKind.UNKNOWN_ALARM,
    "footbrake alarm": EventKind.UNKNOWN_ALARM,
}


def split_frames(buffer: bytes, *, max_frame_size: int = MAX_FRAME_SIZE) -> SplitResult:
    """Cut a TCP byte stream into frames ended by ``;`` or a line end.

    Whitespace between frames is dropped uncounted. A candidate with no end within
    ``max_frame_size`` is garbage, skipped one byte at a time (the next byte may start a
    frame); an incomplete frame is returned in ``rest``.
    """
    frames: list[bytes] = []
    skipped = 0
    position = 0
    size = len(buffer)
    while position < size:
        if buffer[position] in _WHITESPACE:
            position += 1
            continue
        match = _TERMINATORS.search(buffer, position, position + max_frame_size)
        if match is None:
            if size - position < max_frame_size:
                return SplitResult(frames, bytes(buffer[position:]), skipped)
            skipped += 1
            position += 1
            continue
        frames.append(bytes(buffer[position : match.end()]))
        position = match.end()
    return SplitResult(frames, b"", skipped)


def _text(frame: bytes) -> str:
    if len(frame) > MAX_FRAME_SIZE:
        raise DecodeError("frame_too_long", str(len(frame)))
    try:
        text = frame.decode("ascii")
    except UnicodeDecodeError as error:
        raise DecodeError("not_ascii") from error
    return text.strip().rstrip(";").strip()


def identifier(frame: bytes) -> str:
    """The IMEI a frame names (login, heartbeat or report)."""
    text = _text(frame)
    if login := _LOGIN.fullmatch(text):
        return login[1]
    if _IMEI.fullmatch(text):
        return text
    _, marker, rest = text.partition("imei:")
    device = rest.partition(",")[0]
    if not marker or not _IMEI.fullmatch(device):
        raise DecodeError("bad_id", text[:20])
    return device


def encode_command(header: tuple[str, ...], device: str, text: str) -> bytes:
    """``**,imei:<imei>,<command>;`` (``B``: one position now)."""
    return f"**,imei:{device},{text};".encode("ascii")


def decode(
    frame: bytes, *, time_offset_minutes: int = 0, now: datetime | None = None
) -> FrameResult:
    """Decode one frame as cut by ``split_frames`` (see the module doc).

    ``now`` stamps alarms sent without a position; it defaults to the current time.
    ``time_offset_minutes`` is accepted like every text decoder's but not needed.
    """
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    device = identifier(frame)
    text = _text(frame)
    if text.startswith("##"):
        return FrameResult(device, "login", reply=LOGIN_REPLY)
    if text == device:
        return FrameResult(device, "heartbeat", reply=HEARTBEAT_REPLY)
    fields = [field.strip() for field in text[text.index("imei:") :].split(",")]
    if len(fields) < 2:
        raise DecodeError("truncated", f"{len(fields)} fields")
    keyword = fields[1]
    alarm = ALARMS.get(keyword.lower())
    if len(fields) < 5 or fields[4] != "F":
        if alarm is None:
            no_fix = len(fields) >= 5 and fields[4] == "L"
            return FrameResult(device, keyword[:16], supported=no_fix)
        unusable = {"gps_unusable": "no_fix"}
        event = DeviceEvent(device, moment, alarm, f"tk103:{keyword}", unusable)
        return FrameResult(device, keyword[:16], [event])
    return FrameResult(device, keyword[:16], _decode_position(fields, device, alarm))


def _decode_position(fields: list[str], device: str, alarm: EventKind | None) -> list[Record]:
    if len(fields) < 11:
        raise DecodeError("truncated", f"{len(fields)} fields")
    lat_text, lat_side, lon_text, lon_side = fields[7:11]
    if lat_text in ("N", "S") and lon_text in ("E", "W"):  # ``A,N,5306.64155,E,00700.77848``
        lat_text, lat_side, lon_text, lon_side = lat_side, lat_text, lon_side, lon_text
    time = _utc_time(fields[2], fields[5])
    lat = _coordinate(lat_text, lat_side, "S")
    lon = _coordinate(lon_text, lon_side, "W")
    checked_coordinates(lat, lon)
    speed_text = fields[11] if len(fields) > 11 else ""
    speed = number(speed_text, "bad_speed") * KNOTS_TO_KMH if speed_text else None
    course = number(fields[12], "bad_course") if len(fields) > 12 and fields[12] else None
    fix = Fix(
        device_id=device,
        time=time,
        lat=lat,
        lon=lon,
        speed_kmh=speed if speed is None or speed >= 0 else None,
        course=course if course is None or 0 <= course <= 360 else None,
        valid=fields[6] == "A",
        attributes={"tk103_keyword": fields[1][:32]},
    )
    records: list[Record] = [fix]
    if alarm is not None:
        raw = f"tk103:{fields[1]}"
        records.append(DeviceEvent(device, time, alarm, raw, {"lat": lat, "lon": lon}))
    return records


def _utc_time(local: str, clock: str) -> datetime:
    """The fix time: the UTC clock on the UTC date nearest the unit's local date-time."""
    match = _LOCAL_DIGITS.fullmatch(local) or _LOCAL_SLASHED.fullmatch(local)
    utc = _CLOCK.fullmatch(clock)
    if match is None or utc is None:
        raise DecodeError("bad_time", f"{local[:14]} {clock[:12]}")
    year, month, day, hour, minute = (int(value) for value in match.groups()[:5])
    try:
        local_time = datetime(2000 + year, month, day, hour, minute, tzinfo=UTC)
        fixed = local_time.replace(
            hour=int(utc[1]), minute=int(utc[2]), second=int(utc[3]), microsecond=0
        )
    except ValueError as error:
        raise DecodeError("bad_time", f"{local[:14]} {clock[:12]}") from error
    candidates = [fixed + timedelta(days=days) for days in (-1, 0, 1)]
    best = min(candidates, key=lambda candidate: abs(candidate - local_time))
    return checked_time(best)


def _coordinate(text: str, hemisphere: str, negative: str) -> float:
    """Degrees from ``ddmm.mmmm`` / ``dddmm.mmmm`` (any number of minute decimals)."""
    match = _COORDINATE.fullmatch(text)
    if match is None or float(match[2]) >= 60:
        raise DecodeError("bad_coordinate", text[:20])
    value = int(match[1]) + float(match[2]) / 60
    return -value if hemisphere == negative else value


def encode_report(
    imei: str,
    *,
    time: datetime,
    lat: float,
    lon: float,
    speed_kmh: float = 0.0,
    course: float = 0.0,
    keyword: str = "tracker",
    valid: bool = True,
) -> bytes:
    """A report as a unit sends it (its local clock taken as UTC); for simulators and tests."""
    utc = time.astimezone(UTC)

    def degrees_minutes(value: float, width: int) -> str:
        ten_thousandths = round(abs(value) * 60 * 10_000)
        whole, minutes = divmod(ten_thousandths, 60 * 10_000)
        return f"{whole:0{width}d}{minutes / 10_000:07.4f}"

    return (
        f"imei:{imei},{keyword},{utc:%y%m%d%H%M},,F,{utc:%H%M%S}.000,{'A' if valid else 'V'},"
        f"{degrees_minutes(lat, 2)},{'N' if lat >= 0 else 'S'},"
        f"{degrees_minutes(lon, 3)},{'E' if lon >= 0 else 'W'},"
        f"{speed_kmh / KNOTS_TO_KMH:.2f},{course:.2f};"
    ).encode("ascii")
