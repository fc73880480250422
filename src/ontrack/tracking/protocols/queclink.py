"""Queclink @Track (GL300, GL200, GV300, GV55 and the rest of the GL/GV/GB ranges): ASCII
frames over TCP.

Frame layout
------------
ASCII, comma-separated, ended by ``$`` (the oldest firmware ends with a line end), no
checksum::

    +<RESP|BUFF|ACK>:GT<MSG>,<protocol version>,<unique id>,<device name>,<fields...>,
        <send time yyyymmddhhmmss>,<count number: 4 hex digits>$

``RESP`` is a live report, ``BUFF`` one the unit kept while it had no connection (same
layout), ``ACK`` the acknowledgement of a command or a heartbeat. ``protocol version`` is
six (or, on recent firmware, ten) hex digits whose first two name the model (``1A`` GL300,
``02`` GL200...). ``unique id`` is the IMEI (some CDMA units send a 14-character MEID). The
very first GL100 firmware had no protocol version: the IMEI comes first.

Positions
---------
Every report that carries a position has the same seven-field block, repeated ``number``
times in ``GTFRI`` (several fixes in one report)::

    <gps accuracy>,<speed km/h>,<azimuth>,<altitude m>,<longitude>,<latitude>,
        <gps utc time yyyymmddhhmmss>,<mcc>,<mnc>,<lac>,<cell id>,<reserved>

What precedes the block varies by message and by model (report id and type, battery
voltage, motion state...), so the decoder finds each block by its shape (a time of 14
digits after two decimal coordinates) instead of counting fields. ``gps accuracy`` is the
HDOP, ``0`` when the unit has no fix and repeats its last known position: such a fix is
kept as not valid. A report whose block is empty (no fix since power-on) gives no fix.

Alarms
------
``GTSOS`` SOS, ``GTPNA`` / ``GTPFA`` powered on / off, ``GTMPN`` / ``GTMPF`` main power
(the charger on a GL300, the vehicle supply on a GV300) connected / cut, ``GTBPL`` own
battery low, ``GTSPD`` overspeed, ``GTTOW`` towed (moved with ignition off). Each gives a
``DeviceEvent`` beside its fix; without a position it is stamped with its send time.

Replies
-------
``+ACK:GTHBD`` (heartbeat) must be answered ``+SACK:GTHBD,<protocol version>,<count>$`` at
once, or the unit reconnects. When the server acknowledgement is enabled (``AT+GTSRI``'s
``<SACK enable>``) the unit resends every report not answered ``+SACK:<count>$``: ontrack
answers each report so, once its records are durable (a unit without SACK ignores it).

Commands
--------
``AT+GTRTO=<password>,1,,,,,,<serial>$`` (real-time operation, sub-command 1 ``RTL``) asks
for the current position: the unit acknowledges with ``+ACK:GTRTO`` (its text is returned
as ``command_response``; other acknowledgements are of configuration commands and are not)
and reports ``+RESP:GTRTL``. The password is the model's default (``gl300``,
``gv300``...), named from the protocol version's model byte; a unit whose password was
changed will refuse it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from .records import DecodeError, DeviceEvent, EventKind, Fix, Record, checked_coordinates
from .textframe import FrameResult, SplitResult, device_time, number, six_digits

DEFAULT_PORT = 5004
MAX_FRAME_SIZE = 4096
LOCATE_COMMAND = "RTL"

_START = 0x2B  # '+'
_WHITESPACE = frozenset(b"\r\n \t\x00")
_END = re.compile(rb"[$\n]")
_HEAD = re.compile(r"\+(RESP|BUFF|ACK):(GT[A-Z0-9]{3})")
_VERSION = re.compile(r"[0-9A-Fa-f]{6}|[0-9A-Fa-f]{10}")
_UNIQUE_ID = re.compile(r"[0-9A-Za-z]{1,20}")
_IMEI = re.compile(r"[0-9]{15}")
_COUNT = re.compile(r"[0-9A-Fa-f]{4}")
_TIME = re.compile(r"[0-9]{14}")
_DECIMAL = re.compile(r"-?[0-9]{1,3}\.[0-9]+")

ALARMS: dict[str, EventKind] = {
    "GTSOS": EventKind.SOS,
    "GTPNA": EventKind.POWER_ON,
    "GTPFA": EventKind.POWER_OFF,
    "GTMPN": EventKind.CHARGER_CONNECTED,
    "GTMPF": EventKind.EXTERNAL_POWER_CUT,
    "GTBPL": EventKind.LOW_BATTERY,
    "GTSPD": EventKind.OVERSPEED,
    "GTTOW": EventKind.MOVEMENT,
}
# Model byte of the protocol version -> the model, whose name is its factory password.
MODELS = {"02": "gl200", "1A": "gl300", "04": "gv200", "06": "gv300", "0F": "gv55",
             "1F": "gv500", "25": "gv300", "35": "gv200", "11": "gl500"}  # fmt: skip
DEFAULT_MODEL = "gl300"
_BATTERY_MODELS = frozenset({"02", "1A", "2C"})


def split_frames(buffer: bytes, *, max_frame_size: int = MAX_FRAME_SIZE) -> SplitResult:
    """Cut a TCP byte stream into ``+...$`` frames.

    Bytes before a ``+`` are skipped and counted (whitespace uncounted). A frame ends at its
    ``$`` or, for the oldest firmware, at a line end; a ``+`` with no end within
    ``max_frame_size`` is garbage, skipped one byte at a time. An incomplete frame is
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
        match = _END.search(buffer, position + 1, position + max_frame_size)
        if match is None:
            if size - position < max_frame_size:
                return SplitResult(frames, bytes(buffer[position:]), skipped)
            skipped += 1
            position += 1
            continue
        restart = buffer.find(b"+", position + 1, match.start())
        while restart >= 0 and not buffer.startswith((b"+RESP:", b"+BUFF:", b"+ACK:"), restart):
            restart = buffer.find(b"+", restart + 1, match.start())
        if restart >= 0:  # a frame cut short by a reconnect: the next one starts there
            skipped += restart - position
            position = restart
            continue
        frames.append(bytes(buffer[position : match.end()]))
        position = match.end()
    return SplitResult(frames, b"", skipped)


class _Frame:
    """A frame's head and fields: ``kind`` (RESP/BUFF/ACK), ``message`` (GTFRI...)."""

    def __init__(self, frame: bytes) -> None:
        if len(frame) > MAX_FRAME_SIZE:
            raise DecodeError("frame_too_long", str(len(frame)))
        try:
            text = frame.decode("ascii").strip().rstrip("$")
        except UnicodeDecodeError as error:
            raise DecodeError("not_ascii") from error
        fields = text.split(",")
        head = _HEAD.fullmatch(fields[0])
        if head is None:
            raise DecodeError("bad_frame", fields[0][:20])
        self.kind, self.message = head[1], head[2]
        if len(fields) > 2 and _VERSION.fullmatch(fields[1]):
            self.version, self.identifier, self.body = fields[1], fields[2], fields[3:]
        elif len(fields) > 1 and _IMEI.fullmatch(fields[1]):
            self.version, self.identifier, self.body = "", fields[1], fields[2:]
        else:
            raise DecodeError("bad_id", fields[1][:20] if len(fields) > 1 else "")
        if not _UNIQUE_ID.fullmatch(self.identifier):
            raise DecodeError("bad_id", self.identifier[:20])
        self.count = fields[-1] if _COUNT.fullmatch(fields[-1]) else None


def identifier(frame: bytes) -> str:
    """The unique id (IMEI) a frame names."""
    return _Frame(frame).identifier


def encode_command(header: tuple[str, ...], device: str, text: str) -> bytes:
    """``RTL`` becomes ``AT+GTRTO=<password>,1,,,,,,FFFF$`` (``header`` holds the protocol
    version the unit last sent, which names its model and so its default password); any
    other text is sent as it is, ended by ``$``."""
    if text == LOCATE_COMMAND:
        model = header[0][:2].upper() if header and header[0] else ""
        text = f"AT+GTRTO={MODELS.get(model, DEFAULT_MODEL)},1,,,,,,FFFF$"
    return text.encode("ascii") if text.endswith("$") else f"{text}$".encode("ascii")


def decode(
    frame: bytes, *, time_offset_minutes: int = 0, now: datetime | None = None
) -> FrameResult:
    """Decode one frame as cut by ``split_frames`` (see the module doc for the replies).

    Queclink units report UTC; ``time_offset_minutes`` is honoured for one set otherwise.
    ``now`` stamps alarms whose own times are unusable; it defaults to the current time.
    """
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    parsed = _Frame(frame)
    device = parsed.identifier
    header = (parsed.version,) if parsed.version else ()
    name = f"{parsed.kind}:{parsed.message}"
    if parsed.kind == "ACK":
        if parsed.message == "GTHBD":
            count = parsed.count or "0000"
            beat = f"+SACK:GTHBD,{parsed.version},{count}$".encode("ascii")
            return FrameResult(device, name, reply=beat, header=header)
        if parsed.message != "GTRTO":  # a configuration command's: not an answer to locate
            return FrameResult(device, name, header=header)
        response = ",".join([parsed.message, *parsed.body])[:200]
        return FrameResult(device, name, command_response=response, header=header)
    fixes = _fixes(parsed, device, time_offset_minutes)
    records: list[Record] = list(fixes)
    kind = ALARMS.get(parsed.message)
    if kind is not None:
        records.extend(_alarm(parsed, device, kind, fixes, time_offset_minutes, moment))
    sack = f"+SACK:{parsed.count}$".encode("ascii") if parsed.count else None
    battery = _battery(parsed)
    return FrameResult(
        device,
        name,
        records,
        reply=sack,
        reply_when_durable=True,
        battery_pct=battery,
        header=header,
    )


def _fixes(parsed: _Frame, device: str, offset: int) -> list[Fix]:
    body = parsed.body
    fixes: list[Fix] = []
    index = 0
    while index + 6 < len(body) - 2:  # the send time and count close every frame
        if not _is_block(body, index):
            index += 1
            continue
        hdop_text, speed_text, course_text, altitude_text, lon_text, lat_text, time_text = body[
            index : index + 7
        ]
        lat = number(lat_text, "bad_coordinate")
        lon = number(lon_text, "bad_coordinate")
        checked_coordinates(lat, lon)
        hdop = number(hdop_text, "bad_accuracy") if hdop_text.strip() else 0.0
        speed = number(speed_text, "bad_speed") if speed_text.strip() else None
        course = number(course_text, "bad_course") if course_text.strip() else None
        altitude = number(altitude_text, "bad_altitude") if altitude_text.strip() else None
        fixes.append(
            Fix(
                device_id=device,
                time=_time(time_text, offset),
                lat=lat,
                lon=lon,
                speed_kmh=speed if speed is None or speed >= 0 else None,
                course=course if course is None or 0 <= course <= 360 else None,
                altitude_m=altitude,
                valid=hdop > 0,
                attributes={
                    "queclink_message": parsed.message,
                    "hdop": hdop,
                    "buffered": parsed.kind == "BUFF",
                },
            )
        )
        index += 7
    return fixes


def _is_block(body: list[str], index: int) -> bool:
    return bool(
        _TIME.fullmatch(body[index + 6])
        and _DECIMAL.fullmatch(body[index + 4])
        and _DECIMAL.fullmatch(body[index + 5])
    )


def _time(text: str, offset: int) -> datetime:
    """``yyyymmddhhmmss`` -> UTC (the unit's clock ``offset`` minutes ahead of UTC)."""
    if not _TIME.fullmatch(text) or not text.startswith("20"):
        raise DecodeError("bad_time", text[:20])
    date = six_digits(text[2:8])
    return device_time((date[2], date[1], date[0]), six_digits(text[8:14]), offset)


def _alarm(
    parsed: _Frame,
    device: str,
    kind: EventKind,
    fixes: list[Fix],
    offset: int,
    now: datetime,
) -> list[DeviceEvent]:
    raw = f"queclink:{parsed.message}"
    if fixes:
        fix = fixes[-1]
        return [DeviceEvent(device, fix.time, kind, raw, {"lat": fix.lat, "lon": fix.lon})]
    times = [field for field in parsed.body if _TIME.fullmatch(field)]
    try:
        time = _time(times[0], offset) if times else now
    except DecodeError:
        time = now
    return [DeviceEvent(device, time, kind, raw, {"gps_unusable": "no_position"})]


def _battery(parsed: _Frame) -> int | None:
    """The battery percentage, where a report carries one: the field just before the send
    time of ``GTFRI`` reports from the personal units (GL200, GL300, GL300W: ``...,<battery
    %>,<send time>,<count>``); other models put other things there."""
    model = parsed.version[:2].upper()
    if parsed.message != "GTFRI" or model not in _BATTERY_MODELS or len(parsed.body) < 3:
        return None
    value = parsed.body[-3]
    if value.isascii() and value.isdigit() and len(value) <= 3 and int(value) <= 100:
        return int(value)
    return None


# What an encoded report puts before and after its position block (``encode_report``).
_ENCODED_LAYOUTS = {
    "GTFRI": ("0,0,1,", ""),
    "GTSOS": ("0,0,1,", ","),
    "GTRTL": ("0,0,1,", ","),
    "GTBPL": ("3.55,", ","),
    "GTMPN": ("", ""),
    "GTMPF": ("", ""),
}


def encode_report(
    version: str,
    imei: str,
    *,
    time: datetime,
    lat: float,
    lon: float,
    message: str = "GTFRI",
    speed_kmh: float = 0.0,
    course: float = 0.0,
    battery_pct: int = 100,
    count: int = 0,
) -> bytes:
    """A GL300-style report as a unit sends it (time in UTC); for simulators and tests.

    ``GTFRI``, ``GTSOS`` and ``GTRTL`` put reserved, report id/type and fix count before the
    block (``GTFRI`` its battery after it), ``GTBPL`` the battery voltage, ``GTMPN`` /
    ``GTMPF`` nothing.
    """
    utc = time.astimezone(UTC)
    head, tail = _ENCODED_LAYOUTS.get(message, ("0,0,1,", ","))
    if message == "GTFRI":
        tail = f",{battery_pct}"
    block = (
        f"1,{speed_kmh:.1f},{course:.0f},0.0,{lon:.6f},{lat:.6f},{utc:%Y%m%d%H%M%S},"
        "0460,0000,18d8,6141,00"
    )
    sent = utc + timedelta(seconds=1)
    return (
        f"+RESP:{message},{version},{imei},,{head}{block}{tail},{sent:%Y%m%d%H%M%S},"
        f"{count % 0x10000:04X}$"
    ).encode("ascii")
