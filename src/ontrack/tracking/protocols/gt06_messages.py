"""GT06 message contents: one decoder per layout family, each on the bytes between the
protocol number and the serial number (the "information content").

The frame itself (start bits, length, serial, CRC) and the choice of decoder and reply live
in ``gt06``; the alarm tables in ``gt06_alarms``; the blocks the messages share (GPS,
cell, status) and how they are read in ``gt06_fields``. Layouts, with offsets in the
content:

Message families (``protocol: layout``)
    0x10 GPS; 0x1A, 0x1E, 0x2A, 0x31, 0x32: GPS first, the rest vendor-specific (ignored);
    0x11, 0x12, 0x22, 0x2D, 0x37, 0xA0: GPS + cell + optional ACC (1), upload mode (1),
    re-upload (1), mileage (4); 0x34 (X1): data and alarm (4) + GPS; 0x61: IMEI (8) + GPS +
    cell (4-byte id) + iButton id (6); 0x38 (extended): GPS, upload mode, re-upload, cell
    type, cell, RSSI. Some 0x12 / 0x22 firmware put the IMEI (8), or a source byte + IMEI +
    device time (15), before the GPS block: the block is found where a valid date starts.
    0x16, 0x26, 0x27, 0xA4: GPS + LBS length (1) + cell + status block (+ fence).
    0x19 / 0xA5: cell + status block, no GPS. 0xA2 from LW 4G units (59 content bytes): GPS,
    4G cell, network (1), terminal info, power (2, 0.01 V), battery (1), GSM (1), alarm (1),
    language (1), odometer, hours, terminal id, inputs.
    0x13: status block (4th byte: extended port status on later firmware, not an alarm);
    14+ bytes: terminal info, signal (2), alarm, language, battery % (OBD and 22-byte forms).
    0x36: status block + alarm + language + modules (type 2, length 1; 0x18 battery volts,
    0x6A battery %). 0x23: terminal info, battery (2, 0.01 V), GSM, language.
    0x95 (JC100 / JC400): time (6) + event, or time, latitude, longitude, course/status (no
    satellites or speed) + event + event data (2) + video file names; JC400 (content opens
    FF FF): marker, version, time, satellites, lat, lon, course/status, speed (2), power (2).
    0x70 (extended): modules (type 2, length 2): 0x33 position (Unix time 4, satellites 1,
    altitude 2, lat, lon, speed, course/status), 0x2B event, 0x18 battery, 0x2A inputs.
    Extended 0x32 / 0x33 (AZ735): time, GPS length (0 = none), GPS, LBS length + cell + RSSI,
    more cells (length-prefixed), Wi-Fi (length-prefixed), status (0x33: A2/A3 low battery).
    0x94 information: sub-type (extended form) + data: 0x00 external volts (2, 0.01 V),
    0x04 status text, 0x05 door, 0x0A IMEI + IMSI + ICCID, 0x0B network or volts, 0x1B RFID,
    0x1E temperature / humidity. The short form carries only the external volts.
    LBS / Wi-Fi (no position; kept as information): 0x18, 0x24, 0x28, 0x2C, 0x2E, 0xA1,
    0xA2: time + cells (+ Wi-Fi); 0x17 / 0x69 whose "length" byte is the Wi-Fi count: BCD
    time + access points + cells; 0xF3: time + access points.

Decoders raise ``DecodeError`` for content they cannot read. A GPS block whose date is junk
(no fix yet) does not sink the frame: events and status are still reported, stamped ``now``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from . import gt06_alarms
from .gt06_fields import (
    GPS_BLOCK_SIZE,
    Decoded,
    Message,
    Reader,
    TerminalStatus,
    bcd_time,
    cell,
    coordinates,
    device_time,
    gps_fix,
    lbs_end,
    plausible_date,
    status_block,
    status_events,
    terminal_status,
    with_status,
)
from .records import DecodeError, DeviceEvent, EventKind, Fix, Record, time_from_epoch_seconds

# Where the GPS block may start in 0x12 / 0x22 frames: at once, after an IMEI (QH302R), or
# after a source byte, an IMEI and the device time (NT20).
_GPS_STARTS = (0, 8, 15)

_LOCATION_PREFIX = {0x34: 4, 0x61: 8}  # X1: data and alarm; 0x61: IMEI
_CELL_LAYOUT: dict[int, dict[str, bool]] = {
    0x11: {"long_id": True},
    0x12: {},
    0x17: {},
    0x22: {},
    0x2D: {},
    0x37: {},
    0xA0: {"wide": True},
    0x61: {"long_id": True},
}
_TAIL_TYPES = frozenset({0x22, 0x2D, 0x37, 0xA0})


def location(message: Message) -> Decoded:
    """A position, the serving cell and, for 0x22-like frames, ACC / mode / re-upload."""
    content = message.content
    protocol = message.protocol
    start = _LOCATION_PREFIX.get(protocol, 0)
    if protocol in (0x12, 0x22) and not plausible_date(content, 0):
        start = next((at for at in _GPS_STARTS if plausible_date(content, at)), 0)
    attributes: dict[str, object] = {"gt06_protocol": protocol}
    decoded = Decoded()
    if not content:
        decoded.info["gps_unusable"] = "empty"  # a keep-alive in location clothes
        return decoded
    try:
        fix = gps_fix(content, start, message.imei, message.offset, attributes)
    except DecodeError as error:
        if error.reason == "truncated":
            raise
        decoded.info["gps_unusable"] = error.reason  # no fix yet: acknowledged, not stored
        return decoded
    layout = _CELL_LAYOUT.get(protocol)
    reader = Reader(content, start + GPS_BLOCK_SIZE, "LBS block")
    if layout is not None and reader.remaining >= 8:
        try:
            attributes["cell"] = cell(reader, **layout)
        except DecodeError:
            reader.at = len(content)  # a vendor variant of the cell: the position stands
    if protocol == 0x61 and reader.remaining >= 6:
        attributes["ibutton"] = reader.take(6).hex()
    if protocol in _TAIL_TYPES and reader.remaining >= 3:
        acc, mode, reupload = reader.take(3)
        attributes.update(acc_on=bool(acc), upload_mode=mode, reupload=bool(reupload))
        if reader.remaining == 4:
            attributes["odometer_m"] = reader.uint(4)
    decoded.records.append(fix)
    return decoded


def location_extended_0x38(message: Message) -> Decoded:
    """0x38: GPS, upload mode, re-upload, cell type (>= 3: 4G widths), cell, RSSI."""
    attributes: dict[str, object] = {"gt06_protocol": message.protocol}
    fix, gps_error = _fix_or_reason(message, 0, attributes)
    if fix is None:
        return Decoded(info={"gps_unusable": gps_error})
    reader = Reader(message.content, GPS_BLOCK_SIZE, "0x38 cell")
    if reader.remaining >= 3:
        mode, reupload, cell_type = reader.take(3)
        attributes.update(upload_mode=mode, reupload=bool(reupload))
        with contextlib.suppress(DecodeError):
            attributes["cell"] = cell(reader, wide=cell_type >= 3)
    return Decoded(records=[fix])


def _fix_or_reason(
    message: Message, at: int, attributes: dict[str, object]
) -> tuple[Fix | None, str]:
    try:
        return gps_fix(message.content, at, message.imei, message.offset, attributes), ""
    except DecodeError as error:
        return None, error.reason


def _alarm_records(
    message: Message,
    fix: Fix | None,
    gps_error: str,
    status: TerminalStatus,
    alarm_code: int | None,
    source: str,
) -> list[Record]:
    """The fix (with the status levels) and the events.

    A known alarm code is the frame's word on what happened: the terminal info bits are
    only its coarse summary (a harsh-braking frame sets the "vibration" bits, an SOS frame
    of some firmware the "low battery" ones), so they count only in frames without an
    alarm code or with one the table does not know, and so do warning voltage levels (the
    level itself travels with the fix).
    """
    if fix is not None:
        fix = with_status(fix, status)
        time = fix.time
        attributes: dict[str, object] = {"lat": fix.lat, "lon": fix.lon}
    else:
        time = message.now
        attributes = {"gps_unusable": gps_error} if gps_error else {}
    events: list[DeviceEvent] = []
    kind = gt06_alarms.alarm_kind(alarm_code) if alarm_code is not None else None
    if kind is not None and alarm_code is not None:
        raw = f"gt06:alarm:0x{alarm_code:02x}"
        events.append(DeviceEvent(message.imei, time, kind, raw, dict(attributes)))
    if kind is None or kind is EventKind.UNKNOWN_ALARM:  # the code said nothing we know
        for event in status_events(status, message.imei, time, source, attributes):
            if all(event.kind != other.kind for other in events):
                events.append(event)
    records: list[Record] = [fix] if fix is not None else []
    records.extend(events)
    return records


# 0x16 variants told apart by their content size, as Traccar does: VXT01 (length 0x24)
# sends the cell without its length byte and an alarm byte of its own meaning (ignored: its
# terminal info bits carry the alarm); SEEWORLD (length 0x26) a 4-byte cell id.
_VXT01_ALARM = 31
_SEEWORLD_ALARM = 33


def alarm(message: Message) -> Decoded:
    """GPS + LBS length + cell + status block + alarm (0x16, 0x26, 0x27, 0xA4)."""
    content = message.content
    wide = message.protocol == 0xA4
    vxt01 = message.protocol == 0x16 and len(content) == _VXT01_ALARM
    long_id = message.protocol == 0x16 and len(content) == _SEEWORLD_ALARM
    if len(content) < GPS_BLOCK_SIZE + 1:
        raise DecodeError("truncated", "alarm GPS block")
    cell_at = GPS_BLOCK_SIZE if vxt01 else GPS_BLOCK_SIZE + 1
    if vxt01:
        status_at = cell_at + 8
    else:
        status_at = lbs_end(content, GPS_BLOCK_SIZE, 15 if wide else 9 if long_id else 8)
    reader = Reader(content, status_at, "alarm status block")
    status = status_block(reader)
    alarm_code = None if vxt01 else reader.u8()
    attributes: dict[str, object] = {"gt06_protocol": message.protocol}
    if status_at - cell_at >= 8:
        with contextlib.suppress(DecodeError):
            attributes["cell"] = cell(Reader(content, cell_at), wide=wide, long_id=long_id)
    fix, gps_error = _fix_or_reason(message, 0, attributes)
    records = _alarm_records(message, fix, gps_error, status, alarm_code, "gt06:alarm")
    return Decoded(records=records, status=status)


def lbs_alarm(message: Message) -> Decoded:
    """Cell + status block + alarm, no GPS (0x19; 0xA5 with the 4G cell)."""
    content = message.content
    if message.protocol == 0x19 and len(content) >= 18:
        return Decoded(supported=False)  # SPACE10X: time + several cells, no status
    reader = Reader(content, 0, "LBS alarm")
    network = cell(reader, wide=message.protocol == 0xA5)
    status = status_block(reader)
    alarm_code = reader.u8()
    records = _alarm_records(message, None, "", status, alarm_code, "gt06:lbs")
    decoded = Decoded(records=records, status=status)
    decoded.info["cell"] = network
    return decoded


def alarm_lw4g(message: Message) -> Decoded:
    """0xA2 of LW 4G units: GPS, 4G cell, network, info, power, battery, GSM, alarm."""
    content = message.content
    attributes: dict[str, object] = {"gt06_protocol": message.protocol}
    reader = Reader(content, GPS_BLOCK_SIZE, "0xA2 status")
    attributes["cell"] = cell(reader, wide=True)
    reader.u8()  # network indicator
    info = reader.u8()
    power = reader.uint(2) / 100
    battery, gsm, alarm_code = reader.take(3)
    status = terminal_status(info, level=battery, power_v=power, gsm=gsm)
    fix, gps_error = _fix_or_reason(message, 0, attributes)
    records = _alarm_records(message, fix, gps_error, status, alarm_code, "gt06:alarm")
    return Decoded(records=records, status=status)


def heartbeat(message: Message) -> Decoded:
    """0x13 in its lengths: the standard five bytes (and six- or seven-byte variants whose
    tail is port status or supply volts), or the 14+ byte form with a battery percentage and
    an alarm byte."""
    content = message.content
    reader = Reader(content, 0, "status")
    if len(content) >= 14:
        info = reader.u8()
        signal = reader.uint(2)
        alarm_code, _language, pct = reader.take(3)
        status = terminal_status(info, pct=pct, gsm=signal & 0x1F)
        records = _alarm_records(message, None, "", status, alarm_code, "gt06:status")
        return Decoded(records=records, status=status)
    status = status_block(reader)
    return Decoded(
        records=list(status_events(status, message.imei, message.now, "gt06:status")),
        status=status,
    )


def heartbeat_modules(message: Message) -> Decoded:
    """0x36 (Jimi 4G): status block, alarm, language, then modules with battery values."""
    reader = Reader(message.content, 0, "0x36 status")
    info, level, gsm, alarm_code, _language = reader.take(5)
    pct: int | None = None
    power: float | None = None
    while reader.remaining >= 3:
        module = reader.uint(2)
        value = reader.take(reader.u8())
        if module == 0x18 and len(value) == 2:
            power = int.from_bytes(value) / 100
        elif module == 0x6A and len(value) == 1:
            pct = value[0]
    status = terminal_status(info, level=level, gsm=gsm)
    if pct is not None or power is not None:
        status = terminal_status(info, pct=pct, power_v=power, gsm=gsm)
    records = _alarm_records(message, None, "", status, alarm_code, "gt06:status")
    return Decoded(records=records, status=status)


def heartbeat_gk310(message: Message) -> Decoded:
    """0x23: terminal info, battery voltage (0.01 V), GSM signal, language."""
    content = message.content
    if len(content) < 4:
        raise DecodeError("truncated", "status block")
    power = int.from_bytes(content[1:3]) / 100
    status = terminal_status(content[0], power_v=power, gsm=content[3])
    events = status_events(status, message.imei, message.now, "gt06:heartbeat")
    return Decoded(records=list(events), status=status)


def camera_alarm(message: Message) -> Decoded:
    """0x95 (JC100 / JC400): an event, with a position in the long forms."""
    content = message.content
    reader = Reader(content, 0, "0x95 alarm")
    attributes: dict[str, object] = {"gt06_protocol": message.protocol}
    fix: Fix | None = None
    long_form = len(content) > 7
    if content[:2] == b"\xff\xff":  # JC400: marker, version, then its own GPS layout
        reader.take(3)
        raw_time = reader.take(6)
        satellites = reader.u8() & 0x0F
        raw_lat, raw_lon, flags, speed = (
            reader.uint(4),
            reader.uint(4),
            reader.uint(2),
            reader.uint(2),
        )
        attributes["power_v"] = reader.uint(2) / 10
        fix = _camera_fix(message, raw_time, raw_lat, raw_lon, flags, attributes, speed, satellites)
    elif long_form:
        raw_time = reader.take(6)
        raw_lat, raw_lon, flags = reader.uint(4), reader.uint(4), reader.uint(2)
        fix = _camera_fix(message, raw_time, raw_lat, raw_lon, flags, attributes, None, None)
    else:
        time = device_time(reader.take(6), message.offset)
    event = reader.u8()
    if fix is not None:
        time = fix.time
    if reader.remaining > 2:
        reader.take(2)  # event data
        files = reader.take(reader.remaining).decode("ascii", errors="replace").strip("\x00")
        if files:
            attributes["video_files"] = files
    kind = gt06_alarms.CAMERA_EVENTS.get(event)
    if event == 0x01:
        kind = EventKind.SOS if long_form else EventKind.UNKNOWN_ALARM
    records: list[Record] = [fix] if fix is not None else []
    if event:
        kind = kind or EventKind.UNKNOWN_ALARM
        records.append(DeviceEvent(message.imei, time, kind, f"gt06:camera:0x{event:02x}"))
    return Decoded(records=records)


def _camera_fix(
    message: Message,
    raw_time: bytes,
    raw_lat: int,
    raw_lon: int,
    flags: int,
    attributes: dict[str, object],
    speed: int | None,
    satellites: int | None,
) -> Fix:
    lat, lon = coordinates(raw_lat, raw_lon, flags)
    return Fix(
        device_id=message.imei,
        time=device_time(raw_time, message.offset),
        lat=lat,
        lon=lon,
        speed_kmh=float(speed) if speed is not None else None,
        course=float(flags & 0x03FF),
        satellites=satellites,
        valid=bool(flags & 0x1000),
        attributes=attributes,
    )


def modular(message: Message) -> Decoded:
    """0x70: type-length-value modules; a position when module 0x33 is present."""
    reader = Reader(message.content, 0, "0x70 module")
    attributes: dict[str, object] = {"gt06_protocol": message.protocol}
    fix: Fix | None = None
    events: list[int] = []
    while reader.remaining >= 4:
        module, size = reader.uint(2), reader.uint(2)
        value = Reader(reader.take(size), 0, f"0x70 module 0x{module:02x}")
        if module == 0x33 and size >= 18:
            try:
                fix = _module_fix(message, value, attributes)
            except DecodeError as error:
                if error.reason == "truncated":
                    raise
                attributes["gps_unusable"] = error.reason  # zeroed before the first fix
        elif module == 0x2B and size >= 1:
            events.append(value.u8())
        elif module == 0x18 and size >= 2:
            attributes["battery_v"] = value.uint(2) / 100
        elif module == 0x2A and size >= 1:
            attributes["tamper_input"] = bool(value.u8() & 0xF0)
    time = fix.time if fix is not None else message.now
    records: list[Record] = [fix] if fix is not None else []
    for event in events:
        kind = gt06_alarms.MODULE_EVENTS.get(event)
        if kind is not None:
            records.append(DeviceEvent(message.imei, time, kind, f"gt06:module:0x{event:02x}"))
    return Decoded(records=records)


def _module_fix(message: Message, value: Reader, attributes: dict[str, object]) -> Fix:
    """Module 0x33: Unix time, satellites, altitude, latitude, longitude, speed, flags."""
    time = time_from_epoch_seconds(value.uint(4))
    satellites = value.u8()
    altitude = int.from_bytes(value.take(2), signed=True)
    raw_lat, raw_lon, speed, flags = value.uint(4), value.uint(4), value.u8(), value.uint(2)
    lat, lon = coordinates(raw_lat, raw_lon, flags)
    return Fix(
        device_id=message.imei,
        time=time,
        lat=lat,
        lon=lon,
        speed_kmh=float(speed),
        course=float(flags & 0x03FF),
        altitude_m=float(altitude),
        satellites=satellites,
        valid=bool(flags & 0x1000),
        attributes=attributes,
    )


def az735(message: Message) -> Decoded:
    """Extended 0x32 / 0x33 (AZ735): GPS with a length byte, cells, Wi-Fi, status."""
    content = message.content
    reader = Reader(content, 0, "AZ735")
    raw_time = reader.take(6)
    attributes: dict[str, object] = {"gt06_protocol": message.protocol}
    fix: Fix | None = None
    if reader.u8():
        block = raw_time + reader.take(GPS_BLOCK_SIZE - 6)
        fix = gps_fix(block, 0, message.imei, message.offset, attributes)
    time = fix.time if fix is not None else device_time(raw_time, message.offset)
    if content[reader.at : reader.at + 1] != b"\x00":
        reader.at = lbs_end(content, reader.at, 8)
        reader.u8()  # RSSI
    else:
        reader.u8()
    reader.take(reader.u8())  # further cells
    reader.take(reader.u8())  # Wi-Fi access points
    status = reader.u8()
    records: list[Record] = [fix] if fix is not None else []
    if message.protocol == 0x33:
        kind = {0xA2: EventKind.LOW_BATTERY, 0xA3: EventKind.LOW_BATTERY}.get(status)
        if status in (0xA4, 0xA5):
            kind = EventKind.UNKNOWN_ALARM
        if kind is not None:
            records.append(DeviceEvent(message.imei, time, kind, f"gt06:az735:0x{status:02x}"))
    return Decoded(records=records)


def information(message: Message) -> Decoded:
    """0x94: non-location data, returned as ``info`` (see the module doc)."""
    content = message.content
    decoded = Decoded()
    info = decoded.info
    if not message.extended:
        info["external_v"] = Reader(content, 0, "0x94").uint(2) / 100
        return decoded
    reader = Reader(content, 0, "0x94")
    subtype = reader.u8()
    info["subtype"] = subtype
    rest = content[1:]
    if subtype == 0x00:
        info["external_v"] = reader.uint(2) / 100
    elif subtype == 0x05:
        info["door_open"] = bool(rest[-1:] and rest[-1] & 0x01)
    elif subtype == 0x0A:
        reader.take(16)  # IMEI, IMSI
        info["iccid"] = reader.take(10).hex().replace("f", "")
    elif subtype == 0x0B and len(rest) == 1:
        info["network"] = "4G" if rest[0] else "2G"
    elif subtype == 0x0B:
        info["external_v"] = reader.uint(2) / 100
    elif subtype == 0x1E:
        info["temperature_c"] = int.from_bytes(reader.take(4), signed=True) / 10
        info["humidity_pct"] = int.from_bytes(reader.take(4), signed=True) / 10
    else:
        info["data"] = rest.decode("ascii", errors="replace")
    return decoded


def network(message: Message) -> Decoded:
    """LBS / Wi-Fi reports (no position): the device time and the serving cell, as info."""
    content = message.content
    reader = Reader(content, 0, "LBS report")
    decoded = Decoded()
    decoded.info["time"] = device_time(reader.take(6), message.offset).isoformat()
    if reader.remaining >= 8 and message.protocol != 0xF3:  # 0xF3: Wi-Fi only
        decoded.info["cell"] = cell(reader, wide=message.protocol in (0xA1, 0xA2))
    return decoded


def wifi_bcd(message: Message) -> Decoded:
    """0x17 / 0x69 whose length byte is the Wi-Fi count: BCD time, access points, cells."""
    decoded = Decoded()
    decoded.info["time"] = bcd_time(message.content[:6], message.offset).isoformat()
    return decoded


def passthrough(message: Message) -> Decoded:
    """0x9B serial passthrough, 0x8C / 0x66 OBD, 0xF2 peripherals: kept as info."""
    return Decoded(info={"data": message.content.hex()})


def gps_only(message: Message) -> Decoded:
    """Frames whose GPS block comes first and whose tail varies by vendor (0x10, 0x1A,
    0x1E, 0x2A, 0x31, 0x32, 0xA3): the position alone."""
    return location(message)


Decoder = Callable[[Message], Decoded]
