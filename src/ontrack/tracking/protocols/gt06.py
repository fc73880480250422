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
moves by one byte (total = L + 6). The CRC still covers length .. serial. Any message may
come in either form; the reply takes the form of the frame it answers.

The contents of the messages (GPS, cells, status, alarms, information, Wi-Fi...) are laid
out in ``gt06_messages``; their alarm tables, with sources, in ``gt06_alarms``. Messages
decoded: 0x01 login (IMEI as BCD, optional type (2) and time zone (2): bits 15-4 = hours *
100 + minutes, bit 3 set = west); positions 0x10 0x11 0x12 0x1A 0x1E 0x22 0x2A 0x2D 0x31
0x32 0x34 0x37 0x38 0x61 0xA0 0xA3; alarms 0x16 0x19 0x26 0x27 0x95 0xA2 (LW 4G) 0xA4 0xA5,
extended 0x32 / 0x33; status 0x13 0x23 0x36; 0x70 modules; 0x94 information; LBS / Wi-Fi
0x17 0x18 0x24 0x28 0x2C 0x2E 0x69 0xA1 0xA2 0xF3; 0x15 / 0x21 answers to an online command
(0x80); 0x8A time request; 0x8C 0x66 0x9B 0xF2 kept as raw information.

Replies
-------
Login, location, status, heartbeat, alarm and LBS frames are acknowledged by echoing the
protocol number and serial in an empty frame of the same kind (short or extended) with a
fresh CRC, as the Concox manuals and Traccar do: a unit that gets no acknowledgement to its
login drops the connection and retries, and many units keep re-sending (or hold back) what
was not acknowledged. The gateway sends the acknowledgement of a frame with records only
once they are durable. 0x70 and 0xF2 are acknowledged in the short form whatever their own
form. A time request is answered with 0x8A carrying the time as the unit reports it (UTC
shifted by ``time_offset_minutes``); a 0x17 / 0x69 Wi-Fi frame with its own BCD time in a
frame of length 0, as those units expect. Information (0x94), command answers, extended
vendor data and address requests get no reply; other short frames of unknown type are
acknowledged (``supported=False``), or the unit would reconnect.

Quirks
------
- A share of real devices send a CRC that does not match CRC-ITU. ``decode`` counts the
  mismatch (``crc_mismatch``) and decodes anyway; ``strict_crc=True`` rejects such frames.
- Several firmwares send a length byte that disagrees with the frame (0x17 / 0x69 put the
  Wi-Fi count there; some logins and heartbeats miscount by a few bytes). The splitter then
  cuts the frame at its stop bits, and ``decode`` reads it by its real size and says so
  (``length_mismatch``).
- Many units report local time (often GMT+8) instead of UTC: pass the per-device
  ``time_offset_minutes`` and it is subtracted from every device time.
- Some firmware sends the voltage byte as a percentage (values above 6); values 7-100 are
  taken as a percentage, 0-6 as the level (``VOLTAGE_LEVEL_PCT``).
- A frame whose GPS block is junk (no fix yet, zeroed date) still yields its events and
  status, stamped with ``now``; a location frame then yields no fix but is acknowledged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from . import gt06_messages as messages
from .crc import crc16_x25
from .gt06_fields import GPS_BLOCK_SIZE, VOLTAGE_LEVEL_PCT, Decoded, Message, TerminalStatus
from .records import DecodeError, Record

__all__ = [
    "DEFAULT_PORT",
    "EXTENDED_START",
    "MAX_FRAME_SIZE",
    "SHORT_START",
    "STOP",
    "VOLTAGE_LEVEL_PCT",
    "Gt06Result",
    "SplitResult",
    "TerminalStatus",
    "crc_itu",
    "decode",
    "encode_command",
    "encode_command_response",
    "encode_frame",
    "encode_gps_lbs",
    "split_frames",
]

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
MSG_WIFI = 0x17
MSG_STRING_INFO_EXTENDED = 0x21
MSG_GPS_LBS_EXTENDED = 0x22
MSG_HEARTBEAT = 0x23
MSG_ALARM_2 = 0x26
MSG_ALARM_3 = 0x27
MSG_WIFI_2 = 0x69
MSG_GPS_MODULAR = 0x70
MSG_COMMAND = 0x80
MSG_TIME_REQUEST = 0x8A

COORDINATE_SCALE = 1_800_000.0


class Reply(enum.Enum):
    """What the server answers a frame with (built by ``gt06``)."""

    NONE = "none"
    ACK = "ack"  # empty frame echoing protocol and serial, in the frame's own form
    ACK_SHORT = "ack_short"  # the same, always in the short form (0x70, 0xF2)
    TIME = "time"  # 0x8A: the current time
    WIFI_TIME = "wifi_time"  # 0x17 / 0x69 Wi-Fi form: the frame's BCD time echoed


_ACK, _SHORT_ACK, _NONE = Reply.ACK, Reply.ACK_SHORT, Reply.NONE

# protocol -> (content decoder, reply). Extended frames look in _EXTENDED first: the same
# number means another layout there (0x32, 0x33) or the vendor data has no reply.
_SHORT: dict[int, tuple[messages.Decoder, Reply]] = {
    **dict.fromkeys(
        (0x10, 0x11, 0x12, 0x17, 0x22, 0x2D, 0x34, 0x37, 0x61, 0xA0), (messages.location, _ACK)
    ),
    **dict.fromkeys((0x1A, 0x1E, 0x31, 0x32, 0xA3), (messages.gps_only, _ACK)),
    0x2A: (messages.gps_only, _NONE),  # address request: the unit wants a street, not an ack
    **dict.fromkeys((0x16, 0x26, 0x27, 0xA4), (messages.alarm, _ACK)),
    **dict.fromkeys((0x19, 0xA5), (messages.lbs_alarm, _ACK)),
    0x13: (messages.heartbeat, _ACK),
    0x23: (messages.heartbeat_gk310, _ACK),
    0x36: (messages.heartbeat_modules, _ACK),
    0x95: (messages.camera_alarm, _ACK),
    0x70: (messages.modular, _SHORT_ACK),
    0x94: (messages.information, _NONE),
    **dict.fromkeys((0x18, 0x24, 0x28, 0x2C, 0x2E, 0xA1, 0xA2), (messages.network, _ACK)),
    0xF3: (messages.network, _NONE),
    0xF2: (messages.passthrough, _SHORT_ACK),
}
_EXTENDED: dict[int, tuple[messages.Decoder, Reply]] = {
    **dict.fromkeys((0x32, 0x33), (messages.az735, _ACK)),
    0x38: (messages.location_extended_0x38, _NONE),
    **dict.fromkeys((0x8C, 0x66, 0x65, 0x9B), (messages.passthrough, _NONE)),
}
_LW4G_CONTENT = 59  # 0xA2 of LW 4G units (length 0x40): GPS + status, not Wi-Fi
_SR411_CONTENT = 41  # 0x24 of the SR411 mini (length 0x2E): GPS first, not a cell list
_COMMANDS = frozenset({0x80, 0x81, 0x82})  # server-to-unit; a unit echoing one gets nothing


class SplitResult(NamedTuple):
    """``frames`` complete frames, ``rest`` an incomplete tail, ``skipped`` garbage bytes.

    Invariant: ``sum(map(len, frames)) + skipped + len(rest) == len(buffer)``.
    """

    frames: list[bytes]
    rest: bytes
    skipped: int


@dataclass(frozen=True, slots=True)
class Gt06Result:
    """What one frame said, and what to answer.

    ``imei`` is the IMEI from a login frame, or the ``imei`` the caller passed in.
    ``reply`` is ``None`` when the device expects no answer. ``info`` is what the frame
    said that is neither a fix nor an event (ICCID, external volts, cells...).
    """

    protocol: int
    serial: int
    extended: bool
    imei: str | None
    records: list[Record] = field(default_factory=list)
    reply: bytes | None = None
    crc_mismatch: bool = False
    length_mismatch: bool = False
    supported: bool = True
    status: TerminalStatus | None = None
    command_response: str | None = None
    command_flag: int | None = None  # the server flag of the command answered (0x15 / 0x21)
    device_utc_offset_minutes: int | None = None
    info: dict[str, object] = field(default_factory=dict)


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


def split_frames(
    buffer: bytes, *, max_frame_size: int = MAX_FRAME_SIZE, flush: bool = False
) -> SplitResult:
    """Cut a TCP byte stream into frames.

    A frame normally ends where its length says, with the stop bits there. When it does not
    (a firmware that miscounts, or the Wi-Fi count in the length byte) the frame is cut at
    the first stop bits after its header instead, provided no start marker comes before
    them (that would make it a false start in garbage). If the length claims more bytes
    than have arrived, such a cut is made only when a start marker follows the stop bits,
    or with ``flush`` when they end the buffer: the caller passes ``flush=True`` once the
    stream has been quiet for a moment, so that a frame still arriving is not cut at stop
    bits inside its content, and a short frame its unit sends alone (a miscounted login
    awaiting its acknowledgement) is not held forever. ``decode`` reports the mismatch.
    Without ``flush`` the result does not depend on how the stream was cut into reads.

    Garbage before a start marker is skipped; a candidate with neither is skipped one byte
    at a time so the splitter resynchronises on the next marker. An incomplete frame (or a
    lone trailing 0x78/0x79) is returned in ``rest`` for the caller to prepend to the next
    read; a false start marker with a plausible length therefore holds the stream until that
    many bytes (at most ``max_frame_size``) have arrived. CRCs are not checked here.
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
        plausible = length >= _MIN_LENGTH and total <= max_frame_size
        complete = size - start >= total
        if plausible and complete and buffer[start + total - 2 : start + total] == STOP:
            frames.append(bytes(buffer[start : start + total]))
            position = start + total
            continue
        waiting = plausible and not complete
        cut = _cut_at_stop(buffer, start, header, max_frame_size, waiting=waiting, flush=flush)
        if cut > 0:
            frames.append(bytes(buffer[start:cut]))
            position = cut
        elif cut == 0:
            return SplitResult(frames, bytes(buffer[start:]), skipped)
        else:
            skipped += 1
            position += 1
    return SplitResult(frames, b"", skipped)


def _cut_at_stop(
    buffer: bytes, start: int, header: int, limit: int, *, waiting: bool, flush: bool
) -> int:
    """End of a frame cut at its stop bits, 0 to wait for more bytes, -1 for a false start."""
    stop = buffer.find(STOP, start + header + 1, start + limit)
    marker = _next_start(buffer, start + 2)
    if stop < 0:
        return 0 if waiting or (marker < 0 and len(buffer) - start < limit) else -1
    end = stop + 2
    if 0 <= marker < stop:
        return 0 if waiting else -1  # the claimed frame may still arrive whole
    if waiting and not (marker == end or (flush and end == len(buffer))):
        return 0
    return end


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
    the time-request reply; it defaults to the current time. A frame whose length field
    disagrees with its size is read by its size (``length_mismatch``); one too short to hold
    a serial and CRC, or a Wi-Fi frame with its count in the length byte, has neither.
    """
    envelope = _unwrap(frame)
    extended, protocol, body = envelope.extended, envelope.protocol, envelope.body
    length_mismatch, wifi_form = envelope.length_mismatch, envelope.wifi_form
    content, serial, crc_mismatch = envelope.content, envelope.serial, envelope.crc_mismatch
    if crc_mismatch and strict_crc:
        raise DecodeError("crc_mismatch")
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    offset = _checked_offset(time_offset_minutes)

    def reply_for(kind: Reply) -> bytes | None:
        if kind is Reply.TIME:
            return _time_reply(moment, offset, serial or 0, extended=extended)
        if kind is Reply.WIFI_TIME:
            return SHORT_START + bytes([0, protocol]) + content[:6] + STOP
        if serial is None or kind is Reply.NONE:
            return None
        return encode_frame(protocol, b"", serial, extended=extended and kind is Reply.ACK)

    device_imei = imei
    utc_offset: int | None = None
    flag: int | None = None
    text: str | None = None
    decoded = Decoded()
    if protocol == MSG_LOGIN:
        if len(content) < 8 <= len(body) - 1:
            content = body[1:]  # a login whose length byte counted a serial it lacks
        device_imei, utc_offset = _decode_login(content)
        reply = Reply.ACK
    elif imei is None:
        raise DecodeError("not_logged_in", f"protocol 0x{protocol:02x} before login")
    elif protocol == MSG_TIME_REQUEST:
        reply = Reply.TIME
    elif protocol in (MSG_STRING_INFO, MSG_STRING_INFO_EXTENDED):
        flag, text = _decode_command_response(protocol, content)
        reply = Reply.NONE
    else:
        decoder, reply = _handler(protocol, content, extended=extended, wifi_form=wifi_form)
        try:
            decoded = decoder(Message(protocol, content, extended, imei, offset, moment))
        except DecodeError as error:
            if not (length_mismatch and serial is not None and error.reason == "truncated"):
                raise
            # A miscounted frame that also lacks serial and CRC: its content runs to the
            # stop bits.
            content, serial, crc_mismatch = body[1:], None, False
            decoded = decoder(Message(protocol, content, extended, imei, offset, moment))
    return Gt06Result(
        protocol=protocol,
        serial=serial or 0,
        extended=extended,
        imei=device_imei,
        records=decoded.records,
        reply=reply_for(reply),
        crc_mismatch=crc_mismatch,
        length_mismatch=length_mismatch,
        supported=decoded.supported,
        status=decoded.status,
        command_response=text,
        command_flag=flag,
        device_utc_offset_minutes=utc_offset,
        info=decoded.info,
    )


class _Envelope(NamedTuple):
    extended: bool
    protocol: int
    body: bytes  # protocol number .. CRC, as sent
    content: bytes
    serial: int | None
    crc_mismatch: bool
    length_mismatch: bool
    wifi_form: bool


def _unwrap(frame: bytes) -> _Envelope:
    """Start, length and stop bits checked; content, serial and CRC verdict taken out."""
    if len(frame) > MAX_FRAME_SIZE:
        raise DecodeError("frame_too_long", str(len(frame)))
    extended = frame[:2] == EXTENDED_START
    if not extended and frame[:2] != SHORT_START:
        raise DecodeError("bad_start")
    header = 4 if extended else 3
    if len(frame) < header + 1 + 2:
        raise DecodeError("truncated", str(len(frame)))
    if frame[-2:] != STOP:
        raise DecodeError("bad_stop")
    body = frame[header:-2]
    length_mismatch = int.from_bytes(frame[2:header], "big") != len(body)
    protocol = body[0]
    wifi_form = length_mismatch and not extended and protocol in (MSG_WIFI, MSG_WIFI_2)
    if wifi_form or len(body) < _MIN_LENGTH:  # these firmwares send neither serial nor CRC
        return _Envelope(
            extended, protocol, body, body[1:], None, False, length_mismatch, wifi_form
        )
    crc_mismatch = crc_itu(frame[2:-4]) != int.from_bytes(body[-2:], "big")
    serial = int.from_bytes(body[-4:-2], "big")
    return _Envelope(
        extended, protocol, body, body[1:-4], serial, crc_mismatch, length_mismatch, wifi_form
    )


def _unsupported(message: Message) -> Decoded:
    return Decoded(supported=False)


def _handler(
    protocol: int, content: bytes, *, extended: bool, wifi_form: bool
) -> tuple[messages.Decoder, Reply]:
    if wifi_form:
        return messages.wifi_bcd, Reply.WIFI_TIME
    if protocol == 0xA2 and len(content) == _LW4G_CONTENT:
        return messages.alarm_lw4g, Reply.ACK
    if protocol == 0x24 and len(content) == _SR411_CONTENT:
        return messages.gps_only, Reply.ACK
    if protocol == 0xA3 and len(content) < GPS_BLOCK_SIZE:
        return messages.heartbeat, Reply.ACK  # SEEWORLD: a status block, not a fence alarm
    if extended and protocol in _EXTENDED:
        return _EXTENDED[protocol]
    if protocol in _SHORT:
        return _SHORT[protocol]
    if extended or protocol in _COMMANDS:
        return _unsupported, Reply.NONE
    return _unsupported, Reply.ACK


_ZERO_OFFSET = timedelta(0)


def _checked_offset(minutes: int) -> timedelta:
    if minutes == 0:
        return _ZERO_OFFSET
    if not -16 * 60 <= minutes <= 16 * 60:
        raise ValueError("time_offset_minutes must be within ±16 h")
    return timedelta(minutes=minutes)


def _time_reply(moment: datetime, offset: timedelta, serial: int, *, extended: bool) -> bytes:
    local = moment.astimezone(UTC) + offset
    if not 2000 <= local.year <= 2099:
        raise ValueError("now is outside the GT06 date range")
    time_bytes = bytes(
        [local.year - 2000, local.month, local.day, local.hour, local.minute, local.second]
    )
    return encode_frame(MSG_TIME_REQUEST, time_bytes, serial, extended=extended)


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
        + round(abs(lat) * COORDINATE_SCALE).to_bytes(4, "big")
        + round(abs(lon) * COORDINATE_SCALE).to_bytes(4, "big")
        + bytes([speed_kmh])
        + flags.to_bytes(2, "big")
        + mcc.to_bytes(2, "big")
        + bytes([mnc])
        + lac.to_bytes(2, "big")
        + cell_id.to_bytes(3, "big")
    )
    return encode_frame(MSG_GPS_LBS, content, serial)
