"""GT06 building blocks: the GPS block, the cell (LBS) and the status block most messages
are made of, the readers for them, and the data types the message decoders share
(``gt06_messages`` has the messages, ``gt06`` the frames). Offsets are in the content:

GPS block (18 bytes)
    0 date-time YY MM DD hh mm ss; 6 high nibble GPS info length, low nibble satellites;
    7 latitude and 11 longitude, unsigned, in 1/1,800,000 degree; 15 speed km/h;
    16 course/status (2): bits 0-9 course, bit 10 north, bit 11 west, bit 12 positioned,
    bit 13 differential, bit 14 "bit 15 is ACC" (bit 15 ACC on).
Cell (LBS)
    MCC (2; bit 15 set = two-byte MNC), MNC (1 or 2), LAC (2), cell id (3). The 4G forms
    (0xA0, 0xA4, 0xA5, the LW 0xA2, 0x38 with cell type >= 3) widen LAC to 4 and the cell
    id to 8 bytes; 0x11 and 0x61 use a 4-byte cell id.
Status block
    terminal info (1), voltage level (1), GSM signal (1); in alarm frames followed by the
    alarm byte (1) and language (1); 0x27 and 0xA4 add a fence number (1).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from . import gt06_alarms
from .records import (
    DecodeError,
    DeviceEvent,
    EventKind,
    Fix,
    Record,
    checked_coordinates,
    checked_time,
)

GPS_BLOCK_SIZE = 18
_COORDINATE_SCALE = 1_800_000.0
# Date-time (6 bytes), GPS info, latitude, longitude, speed, course/status.
_GPS_BLOCK = struct.Struct(">6sBIIBH")
_CELL_SHORT = struct.Struct(">HBH")  # MCC, 1-byte MNC, LAC (then the 3-byte cell id)

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


class Message(NamedTuple):
    """One frame's content and what decoding it needs (a tuple: built for every frame)."""

    protocol: int
    content: bytes
    extended: bool
    imei: str
    offset: timedelta
    now: datetime


@dataclass(slots=True)
class Decoded:
    """What the content said. ``info`` holds what is neither a fix nor an event (ICCID,
    external volts, cells seen...): returned to the caller, not stored."""

    records: list[Record] = field(default_factory=list)
    status: TerminalStatus | None = None
    info: dict[str, object] = field(default_factory=dict)
    supported: bool = True
    command_flag: int | None = None
    command_response: str | None = None


class Reader:
    """Bounds-checked big-endian reads: running off the end is a ``DecodeError``."""

    __slots__ = ("at", "data", "what")

    def __init__(self, data: bytes, at: int = 0, what: str = "content") -> None:
        self.data = data
        self.at = at
        self.what = what

    @property
    def remaining(self) -> int:
        return len(self.data) - self.at

    def take(self, size: int) -> bytes:
        if size < 0 or self.at + size > len(self.data):
            raise DecodeError("truncated", self.what)
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def u8(self) -> int:
        return self.uint(1)


# Device times already decoded, by (6 raw bytes, offset): a fleet reports the same few
# seconds over and over, and building and range-checking an aware datetime is the largest
# cost of a location frame. Bounded: emptied when it grows past _TIME_CACHE_SIZE.
_time_cache: dict[tuple[bytes, timedelta], datetime] = {}
_TIME_CACHE_SIZE = 4096


def device_time(raw: bytes, offset: timedelta) -> datetime:
    """YY MM DD hh mm ss (binary) in the unit's clock, as UTC."""
    key = (raw, offset)
    cached = _time_cache.get(key)
    if cached is not None:
        return cached
    if len(raw) != 6:
        raise DecodeError("truncated", "date-time")
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


def bcd_time(raw: bytes, offset: timedelta) -> datetime:
    """The same six fields written as BCD digits (the 0x17 / 0x69 Wi-Fi frames)."""
    digits = raw.hex()
    if len(raw) != 6 or not digits.isdigit():
        raise DecodeError("bad_time", digits)
    return device_time(bytes(int(digits[i : i + 2]) for i in range(0, 12, 2)), offset)


def plausible_date(content: bytes, at: int) -> bool:
    if len(content) < at + GPS_BLOCK_SIZE:
        return False
    _, month, day, hour, minute, second = content[at : at + 6]
    return 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 60


def coordinates(raw_lat: int, raw_lon: int, flags: int) -> tuple[float, float]:
    lat = raw_lat / _COORDINATE_SCALE
    lon = raw_lon / _COORDINATE_SCALE
    if not flags & 0x0400:
        lat = -lat
    if flags & 0x0800:
        lon = -lon
    if lat > 90.0 or lon > 180.0 or lon < -180.0 or lat < -90.0:
        checked_coordinates(lat, lon)  # raises with the reason
    return lat, lon


def gps_fix(
    content: bytes, at: int, imei: str, offset: timedelta, attributes: dict[str, object]
) -> Fix:
    """The 18-byte GPS block at ``at`` (hot path: one struct unpack)."""
    if len(content) < at + GPS_BLOCK_SIZE:
        raise DecodeError("truncated", "GPS block")
    raw_time, gps_info, raw_lat, raw_lon, speed, flags = _GPS_BLOCK.unpack_from(content, at)
    time = device_time(raw_time, offset)
    lat, lon = coordinates(raw_lat, raw_lon, flags)
    if flags & 0x4000:
        attributes["acc_on"] = bool(flags & 0x8000)
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


def cell(reader: Reader, *, wide: bool = False, long_id: bool = False) -> dict[str, object]:
    """MCC, MNC, LAC, cell id (see the module doc for the widths)."""
    at = reader.at
    data = reader.data
    if not wide and not long_id and len(data) >= at + 8 and not data[at] & 0x80:
        mcc, mnc, lac = _CELL_SHORT.unpack_from(data, at)  # the common layout
        reader.at = at + 8
        return {
            "mcc": mcc,
            "mnc": mnc,
            "lac": lac,
            "cell_id": int.from_bytes(data[at + 5 : at + 8]),
        }
    mcc = reader.uint(2)
    mnc = reader.uint(2 if mcc & 0x8000 else 1)
    lac = reader.uint(4 if wide else 2)
    cell_id = reader.uint(8 if wide else 4 if long_id else 3)
    return {"mcc": mcc & 0x7FFF, "mnc": mnc, "lac": lac, "cell_id": cell_id}


def status_block(reader: Reader) -> TerminalStatus:
    """Terminal info, voltage level (0-6, or a percentage on some firmware), GSM signal."""
    info, level, gsm = reader.take(3)
    return terminal_status(info, level=level, gsm=gsm)


def terminal_status(
    info: int,
    *,
    level: int | None = None,
    pct: int | None = None,
    power_v: float | None = None,
    gsm: int = 0,
) -> TerminalStatus:
    """Values 0-6 of the voltage byte are levels; 7-100 are a percentage (some firmware)."""
    voltage_level: int | None = None
    if level is not None:
        if level <= 6:
            voltage_level = level
            pct = VOLTAGE_LEVEL_PCT[level]
        elif level <= 100:
            pct = level
    if pct is not None and pct > 100:
        pct = None
    return TerminalStatus(
        armed=bool(info & 0x01),
        acc_on=bool(info & 0x02),
        charging=bool(info & 0x04),
        gps_tracking=bool(info & 0x40),
        oil_cut=bool(info & 0x80),
        alarm_bits=(info >> 3) & 0x07,
        battery_pct=pct,
        voltage_level=voltage_level,
        power_v=power_v,
        gsm_signal=gsm,
    )


def status_events(
    status: TerminalStatus,
    imei: str,
    time: datetime,
    source: str,
    attributes: dict[str, object] | None = None,
) -> list[DeviceEvent]:
    """Events from the terminal info bits and a warning voltage level (when not charging)."""
    events: list[DeviceEvent] = []
    extra = attributes or {}
    if status.alarm_bits:
        kind = gt06_alarms.TERMINAL_ALARMS.get(status.alarm_bits, EventKind.UNKNOWN_ALARM)
        raw = f"{source}:terminal:{status.alarm_bits}"
        events.append(DeviceEvent(imei, time, kind, raw, dict(extra)))
    if status.voltage_level is not None and not status.charging:
        level_kind = _VOLTAGE_LEVEL_EVENTS.get(status.voltage_level)
        if level_kind is not None and all(level_kind != event.kind for event in events):
            raw = f"{source}:voltage_level:{status.voltage_level}"
            events.append(DeviceEvent(imei, time, level_kind, raw, dict(extra)))
    return events


def with_status(fix: Fix, status: TerminalStatus) -> Fix:
    attributes = dict(fix.attributes)
    attributes.update(charging=status.charging, acc_on=status.acc_on, gsm_signal=status.gsm_signal)
    if status.power_v is not None:
        attributes["power_v"] = status.power_v
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


def lbs_end(content: bytes, at: int, cell_size: int) -> int:
    """Where the status block starts after an LBS length byte at ``at``.

    The length byte counts itself on most firmware (9 for a 2G cell) and not on some (8);
    Traccar reads the cell either way and skips what the length says beyond it, which is
    what this does. A length of 0 means "no cell": some firmware then pads 45 zero bytes
    (a multi-cell block left empty), others go straight on to the status block.
    """
    if at >= len(content):
        raise DecodeError("truncated", "LBS length")
    length = content[at]
    if length:
        return at + 1 + max(length - 1, cell_size)
    padded = at + 1 + 45
    if len(content) >= padded + 4 and not any(content[at + 10 : padded]):
        return padded
    return at + 1
