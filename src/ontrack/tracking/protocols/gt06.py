"""GT06 (Concox / Jimi and their many clones): binary frames over TCP.

Frame layout
------------
Short frame (length in one byte)::

    offset  size  field
    0       2     start bits 0x78 0x78
    2       1     length L = bytes from protocol number to CRC inclusive
    3       1     protocol number
    4       L-5   information content
    L-1     2     information serial number (big-endian)
    L+1     2     CRC-ITU (CRC-16/X-25) over offsets 2 .. L (length .. serial)
    L+3     2     stop bits 0x0D 0x0A                      total = L + 5 bytes

Extended frame: start bits 0x79 0x79 and a two-byte length at offsets 2-3; everything after
moves by one byte (total = L + 6). The CRC still covers length .. serial.

Messages decoded (content offsets relative to the information content)
---------------------------------------------------------------------
0x01 login
    0 IMEI, 8 bytes BCD ("0" + 15 digits); optional 8 type id (2), 10 time zone (2): bits
    15-4 = hours*100 + minutes, bit 3 set = west of Greenwich.
GPS block (18 bytes, opens 0x10 0x12 0x22 0x16 0x26 0x27)
    0 date-time YY MM DD hh mm ss; 6 high nibble GPS info length, low nibble satellites;
    7 latitude and 11 longitude, unsigned, in 1/1,800,000 degree (minutes * 30000);
    15 speed km/h; 16 course/status (2): bits 0-9 course, bit 10 set = north latitude,
    bit 11 set = west longitude, bit 12 = positioned (fix valid), bit 13 = differential.
0x12 GPS + LBS: GPS block, 18 MCC (2, bit 15 set = two-byte MNC), MNC (1), LAC (2), cell (3).
0x22 GPS + LBS + 26 ACC (1), 27 upload mode (1), 28 re-upload flag (1).
0x16 / 0x26 / 0x27 alarm: GPS block, 18 LBS length (1, counts itself) + LBS, then the status
    block: terminal info (1), voltage level (1), GSM signal (1), alarm (1), language (1).
0x13 status / heartbeat: terminal info (1), voltage level (1), GSM signal (1), alarm +
    language (2, often absent).
0x23 heartbeat (GK310 family): terminal info (1), battery voltage in 0.01 V (2), GSM signal
    (1), language (2).
0x8A time request: no content; the server answers with the current time.
0x15 (short) / 0x21 (extended): the device's answer to an online command (0x80).

Terminal info byte: bit 0 armed, bit 1 ACC on, bit 2 charging, bits 3-5 alarm (1 vibration,
2 power cut, 3 low battery, 4 SOS, 6 geofence, 7 removed), bit 6 GPS tracking on, bit 7
oil/electricity cut. Voltage level 0-6: 0 shut down, 1 extremely low, 2 very low (low
battery alarm), 3 low, 4 medium, 5 high, 6 full (recorded as ``VOLTAGE_LEVEL_PCT``).
Alarm byte (0x16/0x26/0x27): 0x01 SOS, 0x02 power cut, 0x03 vibration, 0x04/0x05 geofence
in/out, 0x06 overspeed, 0x0E/0x0F low battery, 0x11 power off, 0x13 tamper, 0x18 removed,
0x19 internal battery low (``_ALARM_CODES``).

Replies
-------
Login, status, heartbeat and alarm messages are acknowledged by echoing the protocol number
and serial in an empty frame of the same kind (short or extended) with a fresh CRC; a unit
that gets no acknowledgement to its login drops the connection and retries. Location frames
(0x10, 0x12, 0x22) are not acknowledged. A time request is answered with 0x8A carrying the
time as the unit reports it (UTC shifted by ``time_offset_minutes``).

Quirks
------
- A share of real devices send a CRC that does not match CRC-ITU. ``decode`` counts the
  mismatch (``crc_mismatch``) and decodes anyway; ``strict_crc=True`` rejects such frames.
- Many units report local time (often GMT+8) instead of UTC: pass the per-device
  ``time_offset_minutes`` and it is subtracted from every device time.
- Some firmware sends the voltage byte as a percentage (values above 6); values 7-100 are
  taken as a percentage, 0-6 as the level above.
- Alarm frames whose GPS block is junk (no fix yet, zeroed date) still yield their events,
  stamped with ``now``; pure location frames with a junk GPS block are rejected.
- Message types not listed above decode to no records and no reply (``supported=False``);
  0x13 frames longer than the standard five content bytes are vendor variants: acknowledged
  (or the unit reconnects) but not decoded.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from .crc import crc16_x25
from .records import (
    DecodeError,
    DeviceEvent,
    EventKind,
    Fix,
    Record,
    checked_coordinates,
    checked_time,
)

DEFAULT_PORT = 5023
SHORT_START = b"\x78\x78"
EXTENDED_START = b"\x79\x79"
STOP = b"\r\n"
# Longest frame the splitter waits for. GT06 position frames are under 100 bytes; the
# extended form allows 65 KB, but nothing we decode needs more than this, and waiting for a
# bogus 64 KB length would stall a connection.
MAX_FRAME_SIZE = 1024
_MIN_LENGTH = 5  # protocol number + serial + CRC

MSG_LOGIN = 0x01
MSG_GPS = 0x10
MSG_GPS_LBS = 0x12
MSG_STATUS = 0x13
MSG_STRING_INFO = 0x15
MSG_ALARM = 0x16
MSG_STRING_INFO_EXTENDED = 0x21
MSG_GPS_LBS_EXTENDED = 0x22
MSG_HEARTBEAT = 0x23
MSG_ALARM_2 = 0x26
MSG_ALARM_3 = 0x27
MSG_COMMAND = 0x80
MSG_TIME_REQUEST = 0x8A

_LOCATION_TYPES = frozenset({MSG_GPS, MSG_GPS_LBS, MSG_GPS_LBS_EXTENDED})
_ALARM_TYPES = frozenset({MSG_ALARM, MSG_ALARM_2, MSG_ALARM_3})
_ACKNOWLEDGED_TYPES = frozenset({MSG_LOGIN, MSG_STATUS, MSG_HEARTBEAT} | _ALARM_TYPES)

_GPS_BLOCK_SIZE = 18
_COORDINATE_SCALE = 1_800_000.0

# Terminal info bits 3-5.
_TERMINAL_ALARMS: dict[int, EventKind] = {
    1: EventKind.VIBRATION,
    2: EventKind.EXTERNAL_POWER_CUT,
    3: EventKind.LOW_BATTERY,
    4: EventKind.SOS,
    7: EventKind.DEVICE_REMOVED,
}

# Alarm byte of 0x16/0x26/0x27, after the GT06 manual's alarm table and the codes later
# Concox firmware added (the same table Traccar decodes). Codes not listed become
# UNKNOWN_ALARM (device geofence enter/exit 0x04/0x05 among them: ontrack computes zones
# itself, but the device's word is kept). 0x18 and 0x19 mean "removed" and "internal
# battery low" on wearables; the LW vehicle models reuse them for driving events.
_ALARM_CODES: dict[int, EventKind] = {
    0x01: EventKind.SOS,
    0x02: EventKind.EXTERNAL_POWER_CUT,
    0x03: EventKind.VIBRATION,
    0x06: EventKind.OVERSPEED,
    0x09: EventKind.VIBRATION,
    0x0C: EventKind.TAMPER,
    0x0E: EventKind.LOW_BATTERY,
    0x0F: EventKind.LOW_BATTERY,
    0x11: EventKind.POWER_OFF,
    0x13: EventKind.TAMPER,
    0x18: EventKind.DEVICE_REMOVED,
    0x19: EventKind.LOW_BATTERY,
    0x25: EventKind.TAMPER,
    0x30: EventKind.GNSS_JAMMING,
}

# Battery percentage recorded for each voltage level. The manual names the levels, not a
# percentage; each maps into the band the alert rules use for the same word, so that the
# level an alarm frame carries never contradicts its alarm: 2 "very low (low battery
# alarm)" is under the low threshold (20 %), 1 "extremely low" under the critical one
# (10 %). (Level x 100 / 6 made level 2 read 33 % and clear the low-battery alert it came
# with.)
VOLTAGE_LEVEL_PCT: dict[int, int] = {0: 0, 1: 5, 2: 15, 3: 35, 4: 60, 5: 80, 6: 100}

# Voltage levels that are themselves a warning.
_VOLTAGE_LEVEL_EVENTS: dict[int, EventKind] = {
    0: EventKind.CRITICAL_BATTERY,
    1: EventKind.CRITICAL_BATTERY,
    2: EventKind.LOW_BATTERY,
}


class SplitResult(NamedTuple):
    """``frames`` complete frames, ``rest`` an incomplete tail, ``skipped`` garbage bytes.

    Invariant: ``sum(map(len, frames)) + skipped + len(rest) == len(buffer)``.
    """

    frames: list[bytes]
    rest: bytes
    skipped: int


@dataclass(frozen=True, slots=True)
class TerminalStatus:
    """The status block of heartbeats and alarm frames, as the device reported it."""

    armed: bool
    acc_on: bool
    charging: bool
    gps_tracking: bool
    oil_cut: bool
    alarm_bits: int
    battery_pct: int | None
    voltage_level: int | None
    power_v: float | None
    gsm_signal: int


@dataclass(frozen=True, slots=True)
class Gt06Result:
    """What one frame said, and what to answer.

    ``imei`` is the IMEI from a login frame, or the ``imei`` the caller passed in.
    ``reply`` is ``None`` when the device expects no answer.
    """

    protocol: int
    serial: int
    extended: bool
    imei: str | None
    records: list[Record] = field(default_factory=list)
    reply: bytes | None = None
    crc_mismatch: bool = False
    supported: bool = True
    status: TerminalStatus | None = None
    command_response: str | None = None
    command_flag: int | None = None  # the server flag of the command answered (0x15 / 0x21)
    device_utc_offset_minutes: int | None = None


# CRC-16/X-25 (the GT06 manual's "CRC-ITU"): reflected 0x1021, init and xorout 0xFFFF.
crc_itu = crc16_x25


def encode_frame(protocol: int, content: bytes, serial: int, *, extended: bool = False) -> bytes:
    """Build a complete frame (start, length, protocol, content, serial, CRC, stop)."""
    length = len(content) + _MIN_LENGTH
    if extended:
        if length > 0xFFFF:
            raise ValueError("content too long for an extended frame")
        header = EXTENDED_START + length.to_bytes(2, "big")
    else:
        if length > 0xFF:
            raise ValueError("content too long for a short frame")
        header = SHORT_START + bytes([length])
    body = header + bytes([protocol]) + content + (serial & 0xFFFF).to_bytes(2, "big")
    return body + crc_itu(body[2:]).to_bytes(2, "big") + STOP


def encode_command(
    text: str, serial: int, server_flag: int = 0, *, language: int | None = None
) -> bytes:
    """The 0x80 online command, e.g. ``"WHERE#"`` or ``"DWXX#"`` for an on-demand position.

    Content: command length (1, = 4 + len(text)), server flag (4, echoed back by the device in
    its 0x15/0x21 answer so the server can match it), ASCII command, and on firmware that wants
    it a language word (2; 0x0001 Chinese, 0x0002 English).
    """
    command = text.encode("ascii")
    if not 0 <= server_flag <= 0xFFFFFFFF:
        raise ValueError("server_flag must fit in 4 bytes")
    if 4 + len(command) > 0xFF:
        raise ValueError("command too long")
    content = bytes([4 + len(command)]) + server_flag.to_bytes(4, "big") + command
    if language is not None:
        content += language.to_bytes(2, "big")
    return encode_frame(MSG_COMMAND, content, serial)


def split_frames(buffer: bytes, *, max_frame_size: int = MAX_FRAME_SIZE) -> SplitResult:
    """Cut a TCP byte stream into frames.

    Garbage before a start marker is skipped; a candidate whose length is impossible or whose
    stop bits are not where the length says is skipped one byte at a time so the splitter
    resynchronises on the next marker. An incomplete frame (or a lone trailing 0x78/0x79) is
    returned in ``rest`` for the caller to prepend to the next read; a false start marker
    with a plausible length therefore holds the stream until that many bytes (at most
    ``max_frame_size``) have arrived. CRCs are not checked here (see ``decode``).
    """
    frames: list[bytes] = []
    skipped = 0
    position = 0
    size = len(buffer)
    while position < size:
        start = _next_start(buffer, position)
        if start < 0:
            tail = 1 if buffer[-1] in (0x78, 0x79) else 0
            skipped += size - position - tail
            return SplitResult(frames, bytes(buffer[size - tail :]), skipped)
        skipped += start - position
        position = start
        extended = buffer[start] == 0x79
        header = 4 if extended else 3
        if size - start < header:
            return SplitResult(frames, bytes(buffer[start:]), skipped)
        if extended:
            length = int.from_bytes(buffer[start + 2 : start + 4], "big")
        else:
            length = buffer[start + 2]
        total = header + length + 2
        if length < _MIN_LENGTH or total > max_frame_size:
            skipped += 1
            position += 1
            continue
        if size - start < total:
            return SplitResult(frames, bytes(buffer[start:]), skipped)
        if buffer[start + total - 2 : start + total] != STOP:
            skipped += 1
            position += 1
            continue
        frames.append(bytes(buffer[start : start + total]))
        position = start + total
    return SplitResult(frames, b"", skipped)


def _next_start(buffer: bytes, position: int) -> int:
    short = buffer.find(SHORT_START, position)
    extended = buffer.find(EXTENDED_START, position)
    if short < 0:
        return extended
    if extended < 0:
        return short
    return min(short, extended)


def decode(
    frame: bytes,
    *,
    imei: str | None,
    time_offset_minutes: int = 0,
    strict_crc: bool = False,
    now: datetime | None = None,
) -> Gt06Result:
    """Decode one frame as cut by ``split_frames``.

    ``imei`` is the IMEI this connection logged in with (``None`` before login: only a login
    frame is accepted then). ``now`` stamps events from frames that carry no time and fills
    the time-request reply; it defaults to the current time.
    """
    if len(frame) > MAX_FRAME_SIZE:
        raise DecodeError("frame_too_long", str(len(frame)))
    extended = frame[:2] == EXTENDED_START
    if not extended and frame[:2] != SHORT_START:
        raise DecodeError("bad_start")
    header = 4 if extended else 3
    if len(frame) < header + _MIN_LENGTH + 2:
        raise DecodeError("truncated", str(len(frame)))
    length = int.from_bytes(frame[2:header], "big")
    if length < _MIN_LENGTH or header + length + 2 != len(frame):
        raise DecodeError("bad_length", f"field {length}, frame {len(frame)}")
    if frame[-2:] != STOP:
        raise DecodeError("bad_stop")
    expected_crc = int.from_bytes(frame[-4:-2], "big")
    crc_mismatch = crc_itu(frame[2:-4]) != expected_crc
    if crc_mismatch and strict_crc:
        raise DecodeError("crc_mismatch")
    protocol = frame[header]
    content = frame[header + 1 : -6]
    serial = int.from_bytes(frame[-6:-4], "big")
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    offset = _checked_offset(time_offset_minutes)

    def ack() -> bytes:
        return encode_frame(protocol, b"", serial, extended=extended)

    if protocol == MSG_LOGIN:
        login_imei, utc_offset = _decode_login(content)
        return Gt06Result(
            protocol=protocol,
            serial=serial,
            extended=extended,
            imei=login_imei,
            reply=ack(),
            crc_mismatch=crc_mismatch,
            device_utc_offset_minutes=utc_offset,
        )
    if imei is None:
        raise DecodeError("not_logged_in", f"protocol 0x{protocol:02x} before login")

    records: list[Record] = []
    status: TerminalStatus | None = None
    reply: bytes | None = ack() if protocol in _ACKNOWLEDGED_TYPES else None
    command_response: str | None = None
    command_flag: int | None = None
    supported = True

    if protocol in _LOCATION_TYPES:
        records.append(_decode_location(protocol, content, imei, offset))
    elif protocol in _ALARM_TYPES:
        records, status = _decode_alarm(protocol, content, imei, offset, moment)
    elif protocol == MSG_STATUS and len(content) <= 5:
        status = _decode_status_block(content, two_byte_voltage=False)
        records = list(_status_events(status, imei, moment, "gt06:status"))
    elif protocol == MSG_STATUS:
        supported = False  # a vendor variant of the status layout; still acknowledged
    elif protocol == MSG_HEARTBEAT:
        status = _decode_status_block(content, two_byte_voltage=True)
        records = list(_status_events(status, imei, moment, "gt06:heartbeat"))
    elif protocol == MSG_TIME_REQUEST:
        local = moment.astimezone(UTC) + offset
        if not 2000 <= local.year <= 2099:
            raise ValueError("now is outside the GT06 date range")
        time_bytes = bytes(
            [local.year - 2000, local.month, local.day, local.hour, local.minute, local.second]
        )
        reply = encode_frame(MSG_TIME_REQUEST, time_bytes, serial, extended=extended)
    elif protocol in (MSG_STRING_INFO, MSG_STRING_INFO_EXTENDED):
        command_flag, command_response = _decode_command_response(protocol, content)
    else:
        supported = False
    return Gt06Result(
        protocol=protocol,
        serial=serial,
        extended=extended,
        imei=imei,
        records=records,
        reply=reply,
        crc_mismatch=crc_mismatch,
        supported=supported,
        status=status,
        command_response=command_response,
        command_flag=command_flag,
    )


_ZERO_OFFSET = timedelta(0)


def _checked_offset(minutes: int) -> timedelta:
    if minutes == 0:
        return _ZERO_OFFSET
    if not -16 * 60 <= minutes <= 16 * 60:
        raise ValueError("time_offset_minutes must be within ±16 h")
    return timedelta(minutes=minutes)


def _decode_login(content: bytes) -> tuple[str, int | None]:
    if len(content) < 8:
        raise DecodeError("truncated", "login IMEI")
    digits = content[:8].hex()
    if not digits.isdigit():
        raise DecodeError("bad_imei", digits)
    imei = digits[1:] if digits[0] == "0" else digits
    utc_offset: int | None = None
    if len(content) >= 12:
        word = int.from_bytes(content[10:12], "big")
        hours_minutes = word >> 4
        minutes = (hours_minutes // 100) * 60 + hours_minutes % 100
        if hours_minutes % 100 < 60 and minutes <= 14 * 60:
            utc_offset = -minutes if word & 0x08 else minutes
    return imei, utc_offset


# Device times already decoded, by (6 raw bytes, offset): a fleet reports the same few
# seconds over and over, and building and range-checking an aware datetime is the largest
# cost of a location frame. Bounded: emptied when it grows past _TIME_CACHE_SIZE.
_time_cache: dict[tuple[bytes, timedelta], datetime] = {}
_TIME_CACHE_SIZE = 4096
# Date-time (6 bytes), GPS info, latitude, longitude, speed, course/status.
_GPS_BLOCK = struct.Struct(">6sBIIBH")
_CELL_SHORT = struct.Struct(">HBH")  # MCC, 1-byte MNC, LAC (then the 3-byte cell id)


def _device_time(raw: bytes, offset: timedelta) -> datetime:
    key = (raw, offset)
    cached = _time_cache.get(key)
    if cached is not None:
        return cached
    year, month, day, hour, minute, second = raw
    try:
        local = datetime(2000 + year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as error:
        raise DecodeError("bad_time", raw.hex()) from error
    value = checked_time(local - offset)
    if len(_time_cache) >= _TIME_CACHE_SIZE:
        _time_cache.clear()
    _time_cache[key] = value
    return value


def _gps_fix(content: bytes, imei: str, offset: timedelta, attributes: dict[str, object]) -> Fix:
    if len(content) < _GPS_BLOCK_SIZE:
        raise DecodeError("truncated", "GPS block")
    raw_time, gps_info, raw_lat, raw_lon, speed, flags = _GPS_BLOCK.unpack_from(content)
    time = _device_time(raw_time, offset)
    lat = raw_lat / _COORDINATE_SCALE
    lon = raw_lon / _COORDINATE_SCALE
    if not flags & 0x0400:
        lat = -lat
    if flags & 0x0800:
        lon = -lon
    if lat > 90.0 or lon > 180.0 or lon < -180.0 or lat < -90.0:
        checked_coordinates(lat, lon)  # raises with the reason
    return Fix(
        device_id=imei,
        time=time,
        lat=lat,
        lon=lon,
        speed_kmh=float(speed),
        course=float(flags & 0x03FF),
        satellites=gps_info & 0x0F,
        valid=bool(flags & 0x1000),
        attributes=attributes,
    )


def _cell(lbs: bytes) -> dict[str, object]:
    """MCC (2, bit 15 = two-byte MNC), MNC (1 or 2), LAC (2), cell id (3)."""
    if len(lbs) < 8:
        raise DecodeError("truncated", "LBS block")
    mcc = int.from_bytes(lbs[0:2], "big")
    if not mcc & 0x8000:  # the common layout
        mcc, mnc, lac = _CELL_SHORT.unpack_from(lbs)
        return {"mcc": mcc, "mnc": mnc, "lac": lac, "cell_id": int.from_bytes(lbs[5:8], "big")}
    mnc_size = 2 if mcc & 0x8000 else 1
    if len(lbs) < 7 + mnc_size:
        raise DecodeError("truncated", "LBS block")
    mnc = int.from_bytes(lbs[2 : 2 + mnc_size], "big")
    rest = lbs[2 + mnc_size :]
    return {
        "mcc": mcc & 0x7FFF,
        "mnc": mnc,
        "lac": int.from_bytes(rest[0:2], "big"),
        "cell_id": int.from_bytes(rest[2:5], "big"),
    }


def _decode_location(protocol: int, content: bytes, imei: str, offset: timedelta) -> Fix:
    attributes: dict[str, object] = {"gt06_protocol": protocol}
    if protocol in (MSG_GPS_LBS, MSG_GPS_LBS_EXTENDED):
        attributes["cell"] = _cell(content[_GPS_BLOCK_SIZE:])
    if protocol == MSG_GPS_LBS_EXTENDED and len(content) >= _GPS_BLOCK_SIZE + 11:
        attributes["acc_on"] = bool(content[_GPS_BLOCK_SIZE + 8])
        attributes["upload_mode"] = content[_GPS_BLOCK_SIZE + 9]
        attributes["reupload"] = bool(content[_GPS_BLOCK_SIZE + 10])
    return _gps_fix(content, imei, offset, attributes)


def _decode_alarm(
    protocol: int, content: bytes, imei: str, offset: timedelta, now: datetime
) -> tuple[list[Record], TerminalStatus]:
    if len(content) < _GPS_BLOCK_SIZE + 1:
        raise DecodeError("truncated", "alarm GPS block")
    lbs_length = content[_GPS_BLOCK_SIZE]
    # An LBS length of 0 means "no cell" and some firmware then pads with zeros; the status
    # block is then the last five bytes.
    status_at = _GPS_BLOCK_SIZE + lbs_length if lbs_length else len(content) - 5
    tail = content[max(status_at, _GPS_BLOCK_SIZE + 1) :]
    if len(tail) < 4:
        raise DecodeError("truncated", "alarm status block")
    status = _decode_status_block(tail[:3], two_byte_voltage=False)
    alarm_code = tail[3]
    attributes: dict[str, object] = {"gt06_protocol": protocol}
    fix: Fix | None
    try:
        if lbs_length >= 9:
            attributes["cell"] = _cell(content[_GPS_BLOCK_SIZE + 1 : status_at])
        fix = _gps_fix(content, imei, offset, attributes)
    except DecodeError as error:
        fix = None
        gps_error = error.reason
    if fix is not None:
        fix = _with_status(fix, status)
        event_time = fix.time
        event_attributes: dict[str, object] = {"lat": fix.lat, "lon": fix.lon}
    else:
        event_time = now
        event_attributes = {"gps_unusable": gps_error}
    events: list[DeviceEvent] = []
    if alarm_code:
        kind = _ALARM_CODES.get(alarm_code, EventKind.UNKNOWN_ALARM)
        events.append(
            DeviceEvent(imei, event_time, kind, f"gt06:alarm:0x{alarm_code:02x}", event_attributes)
        )
    for event in _status_events(status, imei, event_time, "gt06:alarm", event_attributes):
        if all(event.kind != other.kind for other in events):
            events.append(event)
    records: list[Record] = [fix] if fix is not None else []
    records.extend(events)
    return records, status


def _with_status(fix: Fix, status: TerminalStatus) -> Fix:
    attributes = dict(fix.attributes)
    attributes.update(charging=status.charging, acc_on=status.acc_on, gsm_signal=status.gsm_signal)
    return Fix(
        device_id=fix.device_id,
        time=fix.time,
        lat=fix.lat,
        lon=fix.lon,
        speed_kmh=fix.speed_kmh,
        course=fix.course,
        satellites=fix.satellites,
        valid=fix.valid,
        battery_pct=status.battery_pct,
        attributes=attributes,
    )


def _decode_status_block(content: bytes, *, two_byte_voltage: bool) -> TerminalStatus:
    needed = 4 if two_byte_voltage else 3
    if len(content) < needed:
        raise DecodeError("truncated", "status block")
    info = content[0]
    voltage_level: int | None = None
    battery_pct: int | None = None
    power_v: float | None = None
    if two_byte_voltage:
        power_v = int.from_bytes(content[1:3], "big") / 100
        gsm = content[3]
    else:
        voltage_level = content[1]
        if voltage_level <= 6:
            battery_pct = VOLTAGE_LEVEL_PCT[voltage_level]
        elif voltage_level <= 100:
            battery_pct = voltage_level
        gsm = content[2]
    return TerminalStatus(
        armed=bool(info & 0x01),
        acc_on=bool(info & 0x02),
        charging=bool(info & 0x04),
        gps_tracking=bool(info & 0x40),
        oil_cut=bool(info & 0x80),
        alarm_bits=(info >> 3) & 0x07,
        battery_pct=battery_pct,
        voltage_level=voltage_level,
        power_v=power_v,
        gsm_signal=gsm,
    )


def _status_events(
    status: TerminalStatus,
    imei: str,
    time: datetime,
    source: str,
    attributes: dict[str, object] | None = None,
) -> list[DeviceEvent]:
    events: list[DeviceEvent] = []
    extra = attributes or {}
    if status.alarm_bits:
        kind = _TERMINAL_ALARMS.get(status.alarm_bits, EventKind.UNKNOWN_ALARM)
        raw = f"{source}:terminal:{status.alarm_bits}"
        events.append(DeviceEvent(imei, time, kind, raw, dict(extra)))
    if status.voltage_level is not None and not status.charging:
        level_kind = _VOLTAGE_LEVEL_EVENTS.get(status.voltage_level)
        if level_kind is not None and all(level_kind != event.kind for event in events):
            raw = f"{source}:voltage_level:{status.voltage_level}"
            events.append(DeviceEvent(imei, time, level_kind, raw, dict(extra)))
    return events


def _decode_command_response(protocol: int, content: bytes) -> tuple[int, str]:
    """The server flag the command carried (echoed by the device) and the answer's text."""
    if protocol == MSG_STRING_INFO:
        # command length (1) = 4 + text, server flag (4), text, optional language (2)
        if len(content) < 5:
            raise DecodeError("truncated", "command response")
        text = content[5 : 1 + content[0]] if content[0] >= 4 else b""
        return int.from_bytes(content[1:5], "big"), text.decode("ascii", errors="replace")
    # server flag (4), encoding (1: 1 ASCII, 2 UTF-16BE), text
    if len(content) < 5:
        raise DecodeError("truncated", "command response")
    text = content[5:]
    flag = int.from_bytes(content[0:4], "big")
    if content[4] == 2:
        return flag, text.decode("utf-16-be", errors="replace")
    return flag, text.decode("ascii", errors="replace")


def encode_command_response(text: str, server_flag: int, serial: int) -> bytes:
    """A 0x15 answer to an online command, as a device sends it; for simulators and tests."""
    answer = text.encode("ascii")
    content = bytes([4 + len(answer)]) + server_flag.to_bytes(4, "big") + answer + b"\x00\x02"
    return encode_frame(MSG_STRING_INFO, content, serial)


def encode_gps_lbs(
    *,
    time: datetime,
    lat: float,
    lon: float,
    speed_kmh: int = 0,
    course: int = 0,
    satellites: int = 0,
    valid: bool = True,
    serial: int = 1,
    cell: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> bytes:
    """A 0x12 GPS + LBS frame as a device sends it (time in UTC); for simulators and tests."""
    utc = time.astimezone(UTC)
    flags = (course & 0x03FF) | (0x1000 if valid else 0)
    if lat >= 0:
        flags |= 0x0400
    if lon < 0:
        flags |= 0x0800
    mcc, mnc, lac, cell_id = cell
    content = (
        bytes([utc.year - 2000, utc.month, utc.day, utc.hour, utc.minute, utc.second])
        + bytes([0xC0 | (satellites & 0x0F)])
        + round(abs(lat) * _COORDINATE_SCALE).to_bytes(4, "big")
        + round(abs(lon) * _COORDINATE_SCALE).to_bytes(4, "big")
        + bytes([speed_kmh])
        + flags.to_bytes(2, "big")
        + mcc.to_bytes(2, "big")
        + bytes([mnc])
        + lac.to_bytes(2, "big")
        + cell_id.to_bytes(3, "big")
    )
    return encode_frame(MSG_GPS_LBS, content, serial)
