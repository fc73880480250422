"""Teltonika Codec 8 and Codec 8 Extended over TCP (FMB, FMC, FMM, TMT, TAT... families).

Connection
----------
1. The device opens with its IMEI: 2-byte big-endian length, then the IMEI in ASCII
   (``000F`` + 15 digits). The server answers one byte: ``0x01`` accept, ``0x00`` reject.
2. Then AVL data packets, each answered with the number of records accepted as a 4-byte
   big-endian integer. A packet that is not acknowledged with the right count is sent again,
   so a packet with a bad CRC is rejected (``DecodeError``), never half-acknowledged.

AVL data packet
---------------
::

    offset  size  field
    0       4     preamble, zero
    4       4     data field length N: bytes from codec id to the second record count
    8       1     codec id: 0x08 (Codec 8), 0x8E (Codec 8 Extended), 0x0C (Codec 12)
    9       1     number of records
    10      ...   records
    8+N-1   1     number of records again (must match)
    8+N     4     CRC-16/IBM (ARC: reflected 0xA001, init 0) over offsets 8 .. 8+N-1,
                  in the low two bytes                    total = N + 12 bytes

Record::

    0   8  timestamp, Unix milliseconds (UTC)
    8   1  priority: 0 low, 1 high, 2 panic
    9   4  longitude, signed, 1e-7 degree
    13  4  latitude, signed, 1e-7 degree
    17  2  altitude, metres (signed)
    19  2  angle, degrees from north
    21  1  satellites in use (0: no fix; coordinates are then the last known)
    22  2  speed, km/h
    24  IO element

IO element, Codec 8 (ids and counts one byte)::

    event IO id (1) | total count (1) |
    n1 (1) then n1 x [id (1), value (1)] | n2 (1), n2 x [id, value (2)] |
    n4 (1), n4 x [id, value (4)]         | n8 (1), n8 x [id, value (8)]

Codec 8 Extended widens every id and count to two bytes and adds a last group
``nX (2), nX x [id (2), length (2), value (length)]``. The event IO id names the IO element
that triggered the record (0 = periodic record).

Codec 12 (commands): data field is ``0C, 01, type (0x05 command / 0x06 response),
size (4), text, 01``; ``encode_codec12_command`` builds one, and responses from the device
decode to ``command_response``. They are not acknowledged.

Events
------
Every IO element is sent in every record, so events come only from the record's *event* IO
id (the element whose change caused the record); otherwise a GNSS status of "no fix"
repeated in each record would become an event each time. Mapped ids (Teltonika FMB AVL ID
table): 236 Alarm = 1 -> SOS; 252 Unplug = 1 -> external power cut; 318 GNSS jamming
1 (warning) / 2 (critical) -> GNSS jamming; 69 GNSS status 1 -> GPS regained, 2 -> GPS lost;
255 Over speeding -> overspeed. Raw IO values are always kept in ``Fix.attributes["io"]``
(keyed by the id as a string; NX values as hex), with 113 battery level in ``battery_pct``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from .crc import crc16_arc
from .records import (
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
CODEC_8 = 0x08
CODEC_8_EXTENDED = 0x8E
CODEC_12 = 0x0C
# Bound on one packet: 255 records of the largest plausible size, well above what devices
# send (about 1.3 KB by default), and small enough that a bogus length cannot make a
# connection buffer grow without limit.
MAX_PACKET_SIZE = 65_536
_HEADER_SIZE = 8
_TRAILER_SIZE = 4
_MAX_IMEI_LENGTH = 20

IO_GSM_SIGNAL = 21
IO_EXTERNAL_VOLTAGE = 66
IO_BATTERY_VOLTAGE = 67
IO_GNSS_STATUS = 69
IO_BATTERY_LEVEL = 113
IO_HDOP = 182
IO_ALARM = 236
IO_IGNITION = 239
IO_MOVEMENT = 240
IO_UNPLUG = 252
IO_OVER_SPEEDING = 255
IO_GNSS_JAMMING = 318


def _event_for(io_id: int, value: int | str) -> tuple[EventKind, dict[str, object]] | None:
    if not isinstance(value, int):
        return None
    if io_id == IO_ALARM and value == 1:
        return EventKind.SOS, {}
    if io_id == IO_UNPLUG and value == 1:
        return EventKind.EXTERNAL_POWER_CUT, {}
    if io_id == IO_GNSS_JAMMING and value in (1, 2):
        return EventKind.GNSS_JAMMING, {"level": "warning" if value == 1 else "critical"}
    if io_id == IO_GNSS_STATUS and value == 1:
        return EventKind.GPS_REGAINED, {}
    if io_id == IO_GNSS_STATUS and value == 2:
        return EventKind.GPS_LOST, {}
    if io_id == IO_OVER_SPEEDING:
        return EventKind.OVERSPEED, {"speed_kmh": value}
    return None


class Handshake(NamedTuple):
    imei: str
    consumed: int


@dataclass(frozen=True, slots=True)
class TeltonikaResult:
    """A decoded AVL packet: records, the acknowledgement to send, and any command answer."""

    codec: int
    record_count: int
    records: list[Record] = field(default_factory=list)
    reply: bytes | None = None
    command_response: str | None = None


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
    """Total size of the AVL packet at the start of ``buffer``; ``None`` until 8 bytes arrived.

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
    """Wrap records (or a Codec 12 body) in preamble, lengths, counts and CRC."""
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
    return encode_packet(CODEC_12, 1, b"\x05" + len(command).to_bytes(4, "big") + command)


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


def decode_packet(packet: bytes, *, imei: str) -> TeltonikaResult:
    """Decode one complete AVL packet (as sized by ``packet_length``) from device ``imei``."""
    total = packet_length(packet)
    if total is None or total != len(packet):
        raise DecodeError("bad_length", f"packet {len(packet)}, header says {total}")
    data = packet[_HEADER_SIZE:-_TRAILER_SIZE]
    if crc16_ibm(data) != int.from_bytes(packet[-_TRAILER_SIZE:], "big"):
        raise DecodeError("crc_mismatch")
    codec, count = data[0], data[1]
    if data[-1] != count:
        raise DecodeError("record_count_mismatch", f"{count} != {data[-1]}")
    if codec == CODEC_12:
        return TeltonikaResult(codec, count, command_response=_decode_codec12(data))
    if codec not in (CODEC_8, CODEC_8_EXTENDED):
        raise DecodeError("unsupported_codec", f"0x{codec:02x}")
    reader = _Reader(data[:-1], 2)
    records: list[Record] = []
    for _ in range(count):
        records.extend(_decode_record(reader, imei, extended=codec == CODEC_8_EXTENDED))
    if reader.position != len(reader.data):
        raise DecodeError("trailing_bytes", str(len(reader.data) - reader.position))
    return TeltonikaResult(codec, count, records, reply=count.to_bytes(4, "big"))


def _decode_codec12(data: bytes) -> str:
    reader = _Reader(data[:-1], 2)
    kind = reader.uint(1)
    text = reader.take(reader.uint(4))
    if reader.position != len(reader.data):
        raise DecodeError("trailing_bytes", "codec 12")
    if kind != 0x06:
        raise DecodeError("unexpected_command", f"type 0x{kind:02x} from a device")
    return text.decode("ascii", errors="replace")


def _decode_record(reader: _Reader, imei: str, *, extended: bool) -> list[Record]:
    time = time_from_epoch_ms(reader.uint(8))
    priority = reader.uint(1)
    lon = reader.sint(4) / 1e7
    lat = reader.sint(4) / 1e7
    lat, lon = checked_coordinates(lat, lon)
    altitude = reader.sint(2)
    angle = reader.uint(2)
    satellites = reader.uint(1)
    speed = reader.uint(2)
    event_io_id, io = _decode_io(reader, extended=extended)
    attributes: dict[str, object] = {
        "priority": priority,
        "event_io_id": event_io_id,
        "io": {str(key): value for key, value in io.items()},
    }
    named: dict[int, tuple[str, Callable[[int], object]]] = {
        IO_IGNITION: ("ignition", bool),
        IO_MOVEMENT: ("motion", bool),
        IO_GSM_SIGNAL: ("gsm_signal", int),
        IO_EXTERNAL_VOLTAGE: ("external_voltage_v", lambda v: v / 1000),
        IO_BATTERY_VOLTAGE: ("battery_voltage_v", lambda v: v / 1000),
        IO_HDOP: ("hdop", lambda v: v / 10),
    }
    for io_id, (name, convert) in named.items():
        value = io.get(io_id)
        if isinstance(value, int):
            attributes[name] = convert(value)
    battery = io.get(IO_BATTERY_LEVEL)
    fix = Fix(
        device_id=imei,
        time=time,
        lat=lat,
        lon=lon,
        speed_kmh=float(speed),
        course=float(angle),
        altitude_m=float(altitude),
        satellites=satellites,
        valid=satellites > 0,
        battery_pct=battery if isinstance(battery, int) and 0 <= battery <= 100 else None,
        attributes=attributes,
    )
    records: list[Record] = [fix]
    if event_io_id in io:
        mapped = _event_for(event_io_id, io[event_io_id])
        if mapped is not None:
            kind, extra = mapped
            event_attributes: dict[str, object] = {"lat": lat, "lon": lon, "priority": priority}
            event_attributes.update(extra)
            raw = f"teltonika:io:{event_io_id}={io[event_io_id]}"
            records.append(DeviceEvent(imei, time, kind, raw, event_attributes))
    return records


def _decode_io(reader: _Reader, *, extended: bool) -> tuple[int, dict[int, int | str]]:
    width = 2 if extended else 1
    event_io_id = reader.uint(width)
    total = reader.uint(width)
    io: dict[int, int | str] = {}
    seen = 0
    for value_size in (1, 2, 4, 8):
        group = reader.uint(width)
        seen += group
        for _ in range(group):
            io_id = reader.uint(width)
            io[io_id] = reader.uint(value_size)
    if extended:
        group = reader.uint(2)
        seen += group
        for _ in range(group):
            io_id = reader.uint(2)
            io[io_id] = reader.take(reader.uint(2)).hex()
    if seen != total:
        raise DecodeError("io_count_mismatch", f"{seen} != {total}")
    return event_io_id, io


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
