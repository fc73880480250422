"""Teltonika AVL packets over TCP: Codec 8, 8 Extended, 16, GH3000 (codec 7), and the text
codecs 12-15 (FMB, FMC, FMM, FM63XY, TMT, TAT, GH3000... families).

Connection
----------
1. The device opens with its IMEI: 2-byte big-endian length, then the IMEI in ASCII
   (``000F`` + 15 digits). The server answers one byte: ``0x01`` accept, ``0x00`` reject.
2. Then packets, each AVL packet answered with the number of records accepted as a 4-byte
   big-endian integer. A packet that is not acknowledged with the right count is sent again.
   Text packets (codecs 12-15) are not acknowledged.

Packet
------
::

    offset  size  field
    0       4     preamble, zero
    4       4     data field length N: bytes from codec id to the second record count
    8       1     codec id (table below)
    9       1     number of records
    10      ...   records
    8+N-1   1     number of records again (must match)
    8+N     4     CRC-16/IBM (ARC: reflected 0xA001, init 0) over offsets 8 .. 8+N-1,
                  in the low two bytes                    total = N + 12 bytes

    codec  name               event id  generation  counts  IO ids  groups
    0x08   Codec 8            1         -           1       1       1, 2, 4, 8 bytes
    0x8E   Codec 8 Extended   2         -           2       2       1, 2, 4, 8, then NX
    0x10   Codec 16           2         1 byte      1       2       1, 2, 4, 8
    0x07   GH3000             -         -           1       1       masked, 1, 2, 4 (below)

Record (codecs 8, 8E, 16)::

    0   8  timestamp, Unix milliseconds (UTC)
    8   1  priority: 0 low, 1 high, 2 panic
    9   4  longitude, signed, 1e-7 degree
    13  4  latitude, signed, 1e-7 degree
    17  2  altitude, metres (signed)
    19  2  angle, degrees from north
    21  1  satellites in use (0: no fix; coordinates are then the last known)
    22  2  speed, km/h
    24  IO element: event IO id | [generation type] | total count |
        n1, n1 x [id, value (1)] | n2, n2 x [id, value (2)] | n4 ... | n8 ...
        and in Codec 8 Extended nX (2), nX x [id (2), length (2), value (length)]

The event IO id names the IO element that triggered the record (0 = periodic record).
FM63XY units configured for it (Traccar's ``teltonika.extended``) add a 16-byte group after
the 8-byte one; a packet that does not parse with the standard layout is tried with that
group, so no setting is needed. The total count is not checked: the NX and 16-byte groups
are counted differently across firmware, and the parse consuming the packet exactly is the
stronger check.

GH3000 record (codec 7)::

    0   4  bits 31-30 priority, bits 29-0 seconds since 2007-01-01 00:00 UTC
    4   1  global mask: bit 0 GPS element, bits 1/2/3 IO groups of 1/2/4-byte values
    5   GPS element: mask (1) then, per set bit, 0 latitude + longitude (float32 each),
        1 altitude (2), 2 angle (1, x 360/256), 3 speed km/h (1), 4 satellites (1),
        5 LAC + cell id (2 + 2), 6 signal quality (1), 7 operator code (4)
    ... IO groups as in Codec 8, only those the global mask names.

A GH3000 record without a GPS element has no position: its events are kept, the fix is
dropped (reason ``no_position``).

Text codecs (one message per packet)::

    12 (0x0C)  type (1) | size (4) | text                      commands and responses
    13 (0x0D)  type (1) | size (4) | timestamp | text          responses with a time
    14 (0x0E)  type (1) | size (4) | IMEI (8, BCD) | text       responses to IMEI-checked
    15 (0x0F)  type (1) | size (4) | timestamp (4) | IMEI | text  FMX6 serial messages

Type 0x05 is a command, 0x06 a response (0x11 a Codec 14 refusal, 0x0D a camera transfer,
0x0B a Codec 15 message). Responses and Codec 13/15 messages decode to
``command_response``; other types decode to nothing, without an error. The Codec 13
timestamp is 4 bytes of Unix seconds in the current specification and was 8 bytes of
milliseconds in earlier ones; ``size`` counts it in some firmware and not in others, so
both are recognised from the packet length.

Tolerance (what a mature server does)
-------------------------------------
- A CRC mismatch does not reject the packet: a share of units in the field send wrong CRCs,
  and refusing them makes the unit resend the same packet for ever. The packet is decoded
  when its structure parses exactly, and ``crc_mismatch`` says so; ``strict_crc=True``
  rejects it instead. A packet that neither matches its CRC nor parses is rejected with
  reason ``crc_mismatch``.
- The length field frames the stream (``packet_length``); ``decode_packet`` reads the
  packet it is given, as Traccar's decoder does, so a whole packet whose length field is
  wrong still decodes (``length_mismatch``).
- A record that parses but cannot be used (time outside the accepted window, coordinates
  out of range, no position at all) is dropped on its own and listed in ``dropped`` with a
  reason; the other records are kept and the whole count is acknowledged, so that one bad
  record does not block the unit's queue.

Events
------
Every IO element is sent in every record, so events come only from the record's *event* IO
id (the element whose change caused the record); otherwise a GNSS status of "no fix"
repeated in each record would become an event each time. Mapped ids (Teltonika FMB AVL ID
table): 236 Alarm = 1 -> SOS; 252 Unplug = 1 -> external power cut; 66 External voltage
below ``EXTERNAL_POWER_CUT_MV`` -> external power cut; 113 Battery level at or below
``LOW_BATTERY_PCT`` / ``CRITICAL_BATTERY_PCT`` -> low / critical battery; 318 GNSS jamming
1 (warning) / 2 (critical) -> GNSS jamming; 69 GNSS status 1 -> GPS regained, 2 -> GPS lost;
255 Over speeding -> overspeed; 242 Man down, 246 Towing, 247 Crash, 249 GSM jamming ->
unknown alarm (named in ``alarm``). GH3000 has no event id and sends its alarm element only
in alarm records: 222 = 1 -> SOS. Raw IO values are always kept in ``Fix.attributes["io"]``
(keyed by the id as a string; NX and 16-byte values as hex).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import NamedTuple

from .crc import crc16_arc
from .records import (
    EARLIEST_TIME,
    LATEST_TIME,
    DecodeError,
    DeviceEvent,
    EventKind,
    Fix,
    Record,
    checked_coordinates,
    time_from_epoch_ms,
)

DEFAULT_PORT = 5027
HANDSHAKE_ACCEPT = b"\x01"
HANDSHAKE_REJECT = b"\x00"
CODEC_GH3000 = 0x07
CODEC_8 = 0x08
CODEC_8_EXTENDED = 0x8E
CODEC_16 = 0x10
CODEC_12 = 0x0C
CODEC_13 = 0x0D
CODEC_14 = 0x0E
CODEC_15 = 0x0F
MESSAGE_COMMAND = 0x05
MESSAGE_RESPONSE = 0x06
# Bound on one packet: 255 records of the largest plausible size, well above what devices
# send (about 1.3 KB by default), and small enough that a bogus length cannot make a
# connection buffer grow without limit.
MAX_PACKET_SIZE = 65_536
_HEADER_SIZE = 8
_TRAILER_SIZE = 4
_MAX_IMEI_LENGTH = 20
_GH3000_EPOCH_S = 1_167_609_600  # 2007-01-01 00:00:00 UTC

IO_GSM_SIGNAL = 21
IO_EXTERNAL_VOLTAGE = 66
IO_BATTERY_VOLTAGE = 67
IO_GNSS_STATUS = 69
IO_BATTERY_LEVEL = 113
IO_HDOP = 182
IO_ALARM = 236
IO_IGNITION = 239
IO_MOVEMENT = 240
IO_MAN_DOWN = 242
IO_TOWING = 246
IO_CRASH = 247
IO_GSM_JAMMING = 249
IO_UNPLUG = 252
IO_OVER_SPEEDING = 255
IO_GNSS_JAMMING = 318
GH3000_IO_BATTERY_LEVEL = 1
GH3000_IO_HDOP = 20
GH3000_IO_ALARM = 222

# External voltage below this is "no external supply" rather than a weak one: a vehicle
# battery sags to 10-11 V, a charger reads 5 V, and a cut wire reads a few hundred mV.
EXTERNAL_POWER_CUT_MV = 3_000
LOW_BATTERY_PCT = 20
CRITICAL_BATTERY_PCT = 5

IoValue = int | str
EventMapping = tuple[EventKind, dict[str, object]]
_UNKNOWN_ALARMS = {IO_MAN_DOWN: "man_down", IO_TOWING: "towing", IO_CRASH: "crash",
                   IO_GSM_JAMMING: "gsm_jamming"}  # fmt: skip


def _fm_event(io_id: int, value: IoValue) -> EventMapping | None:
    """The event an FM-family record triggered by ``io_id`` reports, if any."""
    if not isinstance(value, int):
        return None
    if io_id == IO_ALARM and value == 1:
        return EventKind.SOS, {}
    if io_id == IO_UNPLUG and value == 1:
        return EventKind.EXTERNAL_POWER_CUT, {}
    if io_id == IO_EXTERNAL_VOLTAGE and value < EXTERNAL_POWER_CUT_MV:
        return EventKind.EXTERNAL_POWER_CUT, {"external_voltage_v": value / 1000}
    if io_id == IO_BATTERY_LEVEL and value <= CRITICAL_BATTERY_PCT:
        return EventKind.CRITICAL_BATTERY, {"battery_pct": value}
    if io_id == IO_BATTERY_LEVEL and value <= LOW_BATTERY_PCT:
        return EventKind.LOW_BATTERY, {"battery_pct": value}
    if io_id == IO_GNSS_JAMMING and value in (1, 2):
        return EventKind.GNSS_JAMMING, {"level": "warning" if value == 1 else "critical"}
    if io_id == IO_GNSS_STATUS and value == 1:
        return EventKind.GPS_REGAINED, {}
    if io_id == IO_GNSS_STATUS and value == 2:
        return EventKind.GPS_LOST, {}
    if io_id == IO_OVER_SPEEDING:
        return EventKind.OVERSPEED, {"speed_kmh": value}
    if io_id in _UNKNOWN_ALARMS and value:
        return EventKind.UNKNOWN_ALARM, {"alarm": _UNKNOWN_ALARMS[io_id]}
    return None


def _gh3000_event(io_id: int, value: IoValue) -> EventMapping | None:
    if io_id == GH3000_IO_ALARM and value == 1:
        return EventKind.SOS, {}
    return None


def _volts(millivolts: int) -> float:
    return millivolts / 1000


def _tenths(value: int) -> float:
    return value / 10


# IO id -> (attribute name, conversion), per family: the same id means different things on
# an FM unit and on a GH3000.
_FM_NAMED: dict[int, tuple[str, Callable[[int], object]]] = {
    IO_IGNITION: ("ignition", bool),
    IO_MOVEMENT: ("motion", bool),
    IO_GSM_SIGNAL: ("gsm_signal", int),
    IO_EXTERNAL_VOLTAGE: ("external_voltage_v", _volts),
    IO_BATTERY_VOLTAGE: ("battery_voltage_v", _volts),
    IO_HDOP: ("hdop", _tenths),
}
_GH3000_NAMED: dict[int, tuple[str, Callable[[int], object]]] = {
    IO_MOVEMENT: ("motion", bool),
    IO_BATTERY_VOLTAGE: ("battery_voltage_v", _volts),
    GH3000_IO_HDOP: ("hdop", _tenths),
}


@dataclass(frozen=True, slots=True)
class _Family:
    """How one device family's IO ids are read: named attributes, battery, events."""

    named: Mapping[int, tuple[str, Callable[[int], object]]]
    battery_level_io: int
    event_for: Callable[[int, IoValue], EventMapping | None]


_FM = _Family(_FM_NAMED, IO_BATTERY_LEVEL, _fm_event)
_GH3000 = _Family(_GH3000_NAMED, GH3000_IO_BATTERY_LEVEL, _gh3000_event)


class Handshake(NamedTuple):
    imei: str
    consumed: int


class DroppedRecord(NamedTuple):
    """A record that was parsed but yields no fix: its position in the packet and why."""

    position: int
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class TeltonikaResult:
    """A decoded packet: records, the acknowledgement to send, and any text message.

    ``record_count`` is what the packet announced; ``records`` holds the fixes and events
    of the usable ones, ``dropped`` the others. ``crc_mismatch`` and ``length_mismatch``
    mark a packet decoded although its CRC or its length field did not match.
    """

    codec: int
    record_count: int
    records: list[Record] = field(default_factory=list)
    reply: bytes | None = None
    command_response: str | None = None
    message_type: int | None = None
    message_time: datetime | None = None
    dropped: list[DroppedRecord] = field(default_factory=list)
    crc_mismatch: bool = False
    length_mismatch: bool = False


# CRC-16/ARC ("CRC-16/IBM" in Teltonika's documents): reflected 0x8005, init 0.
crc16_ibm = crc16_arc


def parse_handshake(buffer: bytes) -> Handshake | None:
    """The IMEI greeting, or ``None`` while it is incomplete. Raises on a malformed one."""
    if len(buffer) < 2:
        return None
    length = int.from_bytes(buffer[:2], "big")
    if not 1 <= length <= _MAX_IMEI_LENGTH:
        raise DecodeError("bad_imei_length", str(length))
    if len(buffer) < 2 + length:
        return None
    raw = buffer[2 : 2 + length]
    if not raw.isdigit():
        raise DecodeError("bad_imei", raw.hex())
    return Handshake(raw.decode("ascii"), 2 + length)


def packet_length(buffer: bytes) -> int | None:
    """Total size of the packet at the start of ``buffer``; ``None`` until 8 bytes arrived.

    Lets the gateway wait for exactly one packet; raises on a non-zero preamble or a data
    length outside what a packet can hold.
    """
    if len(buffer) < _HEADER_SIZE:
        return None
    if buffer[:4] != b"\x00\x00\x00\x00":
        raise DecodeError("bad_preamble", buffer[:4].hex())
    data_length = int.from_bytes(buffer[4:8], "big")
    total = _HEADER_SIZE + data_length + _TRAILER_SIZE
    if data_length < 3 or total > MAX_PACKET_SIZE:
        raise DecodeError("bad_length", str(data_length))
    return total


def encode_packet(codec: int, record_count: int, body: bytes) -> bytes:
    """Wrap records (or a text message) in preamble, lengths, counts and CRC."""
    data = bytes([codec, record_count]) + body + bytes([record_count])
    return (
        b"\x00\x00\x00\x00"
        + len(data).to_bytes(4, "big")
        + data
        + crc16_ibm(data).to_bytes(4, "big")
    )


def encode_codec12_command(text: str) -> bytes:
    """A Codec 12 command packet, e.g. ``"getgps"`` for an on-demand position."""
    command = text.encode("ascii")
    return encode_packet(
        CODEC_12, 1, bytes([MESSAGE_COMMAND]) + len(command).to_bytes(4, "big") + command
    )


class _Reader:
    __slots__ = ("data", "position")

    def __init__(self, data: bytes, position: int) -> None:
        self.data = data
        self.position = position

    def take(self, size: int) -> bytes:
        end = self.position + size
        if end > len(self.data):
            raise DecodeError("truncated", f"need {size} bytes at {self.position}")
        chunk = self.data[self.position : end]
        self.position = end
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def sint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big", signed=True)

    def float32(self) -> float:
        value: float = struct.unpack(">f", self.take(4))[0]
        return value

    @property
    def remaining(self) -> int:
        return len(self.data) - self.position


def decode_packet(packet: bytes, *, imei: str, strict_crc: bool = False) -> TeltonikaResult:
    """Decode one complete packet from device ``imei``.

    The data field is everything between the 8-byte header and the 4-byte CRC of
    ``packet``: the length field serves ``packet_length`` to frame the stream and is not
    needed again here. A packet handed over whole whose length field disagrees (captures
    with a zero length field exist) is decoded from its bytes and ``length_mismatch`` says
    so. Raises ``DecodeError`` only when the packet as a whole cannot be read; see the
    module docstring for what else is tolerated.
    """
    if len(packet) < _HEADER_SIZE + 3 + _TRAILER_SIZE:
        raise DecodeError("truncated", f"packet of {len(packet)} bytes")
    if packet[:4] != b"\x00\x00\x00\x00":
        raise DecodeError("bad_preamble", packet[:4].hex())
    data = packet[_HEADER_SIZE:-_TRAILER_SIZE]
    length_mismatch = int.from_bytes(packet[4:_HEADER_SIZE], "big") != len(data)
    crc_mismatch = crc16_ibm(data) != int.from_bytes(packet[-_TRAILER_SIZE:], "big")
    if crc_mismatch and strict_crc:
        raise DecodeError("crc_mismatch")
    try:
        result = _decode_data(data, imei)
    except DecodeError as error:
        if crc_mismatch:
            raise DecodeError("crc_mismatch", f"and {error}") from error
        raise
    if crc_mismatch or length_mismatch:
        return replace(result, crc_mismatch=crc_mismatch, length_mismatch=length_mismatch)
    return result


def _decode_data(data: bytes, imei: str) -> TeltonikaResult:
    codec, count = data[0], data[1]
    if data[-1] != count:
        raise DecodeError("record_count_mismatch", f"{count} != {data[-1]}")
    if codec in _TEXT_CODECS:
        return _decode_message(data, codec)
    if codec == CODEC_GH3000:
        raw_records = _parse_all(data, count, _parse_gh3000_record)
        family = _GH3000
    elif codec in _LAYOUTS:
        raw_records = _parse_with_layouts(data, count, _LAYOUTS[codec])
        family = _FM
    else:
        raise DecodeError("unsupported_codec", f"0x{codec:02x}")
    records: list[Record] = []
    dropped: list[DroppedRecord] = []
    for index, raw in enumerate(raw_records):
        try:
            records.extend(_records_from(raw, imei, family))
        except _Unusable as unusable:
            records.extend(unusable.events)
            dropped.append(DroppedRecord(index, unusable.reason, unusable.detail))
        except DecodeError as error:
            dropped.append(DroppedRecord(index, error.reason, error.detail))
    return TeltonikaResult(codec, count, records, reply=count.to_bytes(4, "big"), dropped=dropped)


# --- AVL records: structure ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Layout:
    """Field widths of one codec's IO element (see the table in the module docstring)."""

    event_width: int
    count_width: int
    id_width: int
    generation_type: bool = False
    variable_group: bool = False
    sixteen_byte_group: bool = False


_LAYOUT_8 = _Layout(event_width=1, count_width=1, id_width=1)
_LAYOUT_8E = _Layout(event_width=2, count_width=2, id_width=2, variable_group=True)
_LAYOUT_16 = _Layout(event_width=2, count_width=1, id_width=2, generation_type=True)


def _with_sixteen_byte_group(layout: _Layout) -> _Layout:
    return _Layout(
        layout.event_width,
        layout.count_width,
        layout.id_width,
        layout.generation_type,
        layout.variable_group,
        sixteen_byte_group=True,
    )


# Per codec: the layouts to try, standard first.
_LAYOUTS: dict[int, tuple[_Layout, ...]] = {
    codec: (layout, _with_sixteen_byte_group(layout))
    for codec, layout in ((CODEC_8, _LAYOUT_8), (CODEC_8_EXTENDED, _LAYOUT_8E),
                          (CODEC_16, _LAYOUT_16))
}  # fmt: skip


@dataclass(slots=True)
class _RawRecord:
    """One record as read, before any check; ``lat``/``lon`` are ``None`` without a GPS
    element (GH3000)."""

    time_ms: int
    priority: int
    lat: float | None
    lon: float | None
    io: dict[int, IoValue]
    altitude: float | None = None
    angle: float | None = None
    satellites: int | None = None
    speed: float | None = None
    event_io_id: int | None = None
    generation_type: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


def _parse_all(data: bytes, count: int, parse: Callable[[_Reader], _RawRecord]) -> list[_RawRecord]:
    """Read ``count`` records that must fill the data field exactly."""
    reader = _Reader(data[:-1], 2)
    records = [parse(reader) for _ in range(count)]
    if reader.remaining:
        raise DecodeError("trailing_bytes", str(reader.remaining))
    return records


def _parse_with_layouts(data: bytes, count: int, layouts: tuple[_Layout, ...]) -> list[_RawRecord]:
    """The records under the first layout that reads the packet exactly; the first layout's
    error when none does."""
    first_error: DecodeError | None = None
    for layout in layouts:
        try:
            return _parse_all(data, count, partial(_parse_record, layout=layout))
        except DecodeError as error:
            first_error = first_error or error
    assert first_error is not None
    raise first_error


def _parse_record(reader: _Reader, layout: _Layout) -> _RawRecord:
    time_ms = reader.uint(8)
    priority = reader.uint(1)
    lon = reader.sint(4) / 1e7
    lat = reader.sint(4) / 1e7
    altitude = reader.sint(2)
    angle = reader.uint(2)
    satellites = reader.uint(1)
    speed = reader.uint(2)
    event_io_id = reader.uint(layout.event_width)
    generation_type = reader.uint(1) if layout.generation_type else None
    reader.uint(layout.count_width)  # total IO count: not trusted (module docstring)
    io: dict[int, IoValue] = {}
    for value_size in (1, 2, 4, 8):
        for _ in range(reader.uint(layout.count_width)):
            io_id = reader.uint(layout.id_width)
            io[io_id] = reader.uint(value_size)
    if layout.sixteen_byte_group:
        for _ in range(reader.uint(layout.count_width)):
            io_id = reader.uint(layout.id_width)
            io[io_id] = reader.take(16).hex()
    if layout.variable_group:
        for _ in range(reader.uint(2)):
            io_id = reader.uint(2)
            io[io_id] = reader.take(reader.uint(2)).hex()
    return _RawRecord(
        time_ms,
        priority,
        lat,
        lon,
        io,
        altitude=float(altitude),
        angle=float(angle),
        satellites=satellites,
        speed=float(speed),
        event_io_id=event_io_id,
        generation_type=generation_type,
    )


def _parse_gh3000_record(reader: _Reader) -> _RawRecord:
    stamp = reader.uint(4)
    priority = stamp >> 30
    time_ms = ((stamp & 0x3FFF_FFFF) + _GH3000_EPOCH_S) * 1000
    global_mask = reader.uint(1)
    record = _RawRecord(time_ms, priority, None, None, {})
    if global_mask & 0x01:
        _parse_gh3000_gps(reader, record)
    for bit, value_size in ((0x02, 1), (0x04, 2), (0x08, 4)):
        if global_mask & bit:
            for _ in range(reader.uint(1)):
                io_id = reader.uint(1)
                record.io[io_id] = reader.uint(value_size)
    return record


def _parse_gh3000_gps(reader: _Reader, record: _RawRecord) -> None:
    mask = reader.uint(1)
    if mask & 0x01:
        record.lat = reader.float32()
        record.lon = reader.float32()
    if mask & 0x02:
        record.altitude = float(reader.uint(2))
    if mask & 0x04:
        record.angle = reader.uint(1) * 360 / 256
    if mask & 0x08:
        record.speed = float(reader.uint(1))
    if mask & 0x10:
        record.satellites = reader.uint(1)
    if mask & 0x20:
        record.extra["lac"] = reader.uint(2)
        record.extra["cell_id"] = reader.uint(2)
    if mask & 0x40:
        record.extra["gsm_signal"] = reader.uint(1)
    if mask & 0x80:
        record.extra["operator"] = reader.uint(4)


# --- AVL records: meaning ------------------------------------------------------------------


class _Unusable(Exception):
    """A record with a usable time but no usable position: its events survive."""

    def __init__(self, reason: str, detail: str, events: list[DeviceEvent]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        self.events = events


def _records_from(raw: _RawRecord, imei: str, family: _Family) -> list[Record]:
    """The fix and events of one record; raises ``DecodeError`` for a bad time and
    ``_Unusable`` for a record without a usable position."""
    time = time_from_epoch_ms(raw.time_ms)
    events = _events_from(raw, imei, time, family)
    if raw.lat is None or raw.lon is None:
        raise _Unusable("no_position", "no GPS element", events)
    try:
        lat, lon = checked_coordinates(raw.lat, raw.lon)
    except DecodeError as error:
        raise _Unusable(error.reason, error.detail, events) from error
    attributes: dict[str, object] = {"priority": raw.priority}
    if raw.event_io_id is not None:
        attributes["event_io_id"] = raw.event_io_id
    if raw.generation_type is not None:
        attributes["generation_type"] = raw.generation_type
    attributes["io"] = {str(key): value for key, value in raw.io.items()}
    attributes.update(raw.extra)
    for io_id, (name, convert) in family.named.items():
        value = raw.io.get(io_id)
        if isinstance(value, int):
            attributes[name] = convert(value)
    battery = raw.io.get(family.battery_level_io)
    # Teltonika: without a fix the coordinates are the last known ones and satellites 0.
    # A GH3000 position without a satellite count is the unit's own fix.
    valid = raw.satellites is None or raw.satellites > 0
    fix = Fix(
        device_id=imei,
        time=time,
        lat=lat,
        lon=lon,
        speed_kmh=raw.speed,
        course=raw.angle,
        altitude_m=raw.altitude,
        satellites=raw.satellites,
        valid=valid,
        battery_pct=battery if isinstance(battery, int) and 0 <= battery <= 100 else None,
        attributes=attributes,
    )
    return [fix, *events]


def _events_from(raw: _RawRecord, imei: str, time: datetime, family: _Family) -> list[DeviceEvent]:
    if raw.event_io_id is not None:
        triggers = [raw.event_io_id] if raw.event_io_id in raw.io else []
    else:
        triggers = list(raw.io)  # GH3000: no event id (module docstring)
    events = []
    for io_id in triggers:
        value = raw.io[io_id]
        mapped = family.event_for(io_id, value)
        if mapped is None:
            continue
        kind, extra = mapped
        attributes: dict[str, object] = {"priority": raw.priority}
        if raw.lat is not None and raw.lon is not None and _in_range(raw.lat, raw.lon):
            attributes.update(lat=raw.lat, lon=raw.lon)
        attributes.update(extra)
        events.append(DeviceEvent(imei, time, kind, f"teltonika:io:{io_id}={value}", attributes))
    return events


def _in_range(lat: float, lon: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180


# --- text messages (codecs 12-15) ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _TextLayout:
    """What precedes the text in one text codec's message."""

    timestamp: bool
    imei: bool


_TEXT_CODECS = {
    CODEC_12: _TextLayout(timestamp=False, imei=False),
    CODEC_13: _TextLayout(timestamp=True, imei=False),
    CODEC_14: _TextLayout(timestamp=False, imei=True),
    CODEC_15: _TextLayout(timestamp=True, imei=True),
}
_DEVICE_MESSAGE_CODECS = (CODEC_13, CODEC_15)  # device-originated text, any type
_IMEI_SIZE = 8
_PRINTABLE = frozenset(range(32, 127)) | {9, 10, 13}


def _decode_message(data: bytes, codec: int) -> TeltonikaResult:
    count = data[1]
    if count != 1:
        raise DecodeError("unsupported_message_count", str(count))
    layout = _TEXT_CODECS[codec]
    reader = _Reader(data[:-1], 2)
    kind = reader.uint(1)
    size = reader.uint(4)
    body = reader.take(reader.remaining)
    prefix = _IMEI_SIZE if layout.imei else 0
    time: datetime | None = None
    if layout.timestamp:
        time, stamp_size = _message_time(body, size)
        prefix += stamp_size
    if size not in (len(body), len(body) - prefix):
        raise DecodeError("bad_message_size", f"{size} for {len(body)} bytes")
    text = body[prefix:]
    response = None
    if kind == MESSAGE_RESPONSE or codec in _DEVICE_MESSAGE_CODECS:
        response = _text(text)
    return TeltonikaResult(
        codec, count, command_response=response, message_type=kind, message_time=time
    )


def _message_time(body: bytes, size: int) -> tuple[datetime | None, int]:
    """The timestamp at the start of ``body`` and its size (module docstring: 4-byte seconds,
    or in older firmware 8-byte milliseconds); the time is ``None`` when implausible."""
    if len(body) < 4:
        raise DecodeError("truncated", "message timestamp")
    seconds = int.from_bytes(body[:4], "big")
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    plausible = EARLIEST_TIME <= moment < LATEST_TIME
    if plausible or len(body) < 8 or size == len(body) - 4:
        return (moment if plausible else None), 4
    try:
        return time_from_epoch_ms(int.from_bytes(body[:8], "big")), 8
    except DecodeError:
        return None, 4


def _text(raw: bytes) -> str:
    """Printable text as text, anything else as hex (binary answers of serial devices)."""
    if all(byte in _PRINTABLE for byte in raw):
        return raw.decode("ascii").strip()
    return raw.hex()


# --- encoding (simulators and tests) -------------------------------------------------------


def encode_record(
    *,
    time: datetime,
    lat: float,
    lon: float,
    altitude: int = 0,
    angle: int = 0,
    satellites: int = 0,
    speed: int = 0,
    priority: int = 0,
    event_io_id: int = 0,
    io: Mapping[int, int | bytes] | None = None,
    extended: bool = False,
) -> bytes:
    """One AVL record as a device encodes it; for simulators and tests.

    Integer IO values go into the smallest group (1, 2, 4 or 8 bytes) that holds them;
    ``bytes`` values go into the variable-length group (Codec 8 Extended only).
    """
    width = 2 if extended else 1
    groups: dict[int, list[tuple[int, int]]] = {1: [], 2: [], 4: [], 8: []}
    variable: list[tuple[int, bytes]] = []
    for io_id, value in (io or {}).items():
        if isinstance(value, bytes):
            if not extended:
                raise ValueError("variable-length IO needs Codec 8 Extended")
            variable.append((io_id, value))
            continue
        size = next(size for size in (1, 2, 4, 8) if value < 1 << (8 * size))
        groups[size].append((io_id, value))
    millis = round((time.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000)
    out = bytearray(millis.to_bytes(8, "big"))
    out.append(priority)
    out += round(lon * 1e7).to_bytes(4, "big", signed=True)
    out += round(lat * 1e7).to_bytes(4, "big", signed=True)
    out += altitude.to_bytes(2, "big", signed=True)
    out += angle.to_bytes(2, "big") + bytes([satellites]) + speed.to_bytes(2, "big")
    out += event_io_id.to_bytes(width, "big")
    out += (sum(map(len, groups.values())) + len(variable)).to_bytes(width, "big")
    for size, members in groups.items():
        out += len(members).to_bytes(width, "big")
        for io_id, int_value in members:
            out += io_id.to_bytes(width, "big") + int_value.to_bytes(size, "big")
    if extended:
        out += len(variable).to_bytes(2, "big")
        for io_id, raw in variable:
            out += io_id.to_bytes(2, "big") + len(raw).to_bytes(2, "big") + raw
    return bytes(out)
