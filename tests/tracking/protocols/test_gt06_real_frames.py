"""GT06 against the frames real units sent (``frames/gt06_real.txt``: Traccar's decoder
tests and the Concox VL03 manual's examples, each line naming its source and model).

Expected values were worked out by hand from the layouts in ``gt06_messages`` and checked
against what Traccar's tests assert for the same frame.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ontrack.tracking.protocols import gt06
from ontrack.tracking.protocols.records import DecodeError, DeviceEvent, EventKind, Fix

NOW = datetime(2026, 12, 5, 12, 0, 0, tzinfo=UTC)
IMEI = "864717003283581"
FIXTURE = Path(__file__).parent / "frames" / "gt06_real.txt"


@dataclass(frozen=True)
class Line:
    data: bytes
    source: str


def real_lines() -> list[Line]:
    lines = []
    for text in FIXTURE.read_text().splitlines():
        if not text.strip() or text.startswith("#"):
            continue
        hex_part, _, source = text.partition("  #")
        assert source.strip(), f"every frame names its source: {text[:40]}"
        lines.append(Line(bytes.fromhex(hex_part.strip()), source.strip()))
    return lines


def decode_line(line: Line) -> list[gt06.Gt06Result]:
    """As the gateway does: split the bytes (flushed: the unit sent nothing more), then
    decode each frame."""
    frames, _, _ = gt06.split_frames(line.data, flush=True)
    if not frames:
        raise DecodeError("no_frame", line.source)
    return [gt06.decode(frame, imei=IMEI, now=NOW) for frame in frames]


def frame(prefix: str) -> bytes:
    """The one fixture frame starting with ``prefix`` (hex, any case)."""
    (match,) = [line.data for line in real_lines() if line.data.hex().startswith(prefix.lower())]
    return match


def events(result: gt06.Gt06Result) -> list[tuple[EventKind, str]]:
    return [(r.kind, r.raw_code) for r in result.records if isinstance(r, DeviceEvent)]


def fixes(result: gt06.Gt06Result) -> list[Fix]:
    return [r for r in result.records if isinstance(r, Fix)]


def test_at_least_95_percent_of_real_frames_decode_without_error() -> None:
    lines = real_lines()
    failures = []
    for line in lines:
        try:
            decode_line(line)
        except DecodeError as error:
            failures.append(f"{error.reason}: {line.source}")

    decoded = len(lines) - len(failures)
    assert len(lines) >= 150, "the fixture holds the real frames"
    assert decoded / len(lines) >= 0.95, f"{decoded}/{len(lines)} decoded; failed: {failures}"


def test_at_least_90_percent_of_real_frames_are_understood_not_just_tolerated() -> None:
    """``supported`` is False for a message type decoded to nothing (photo, version...)."""
    lines = real_lines()
    understood = 0
    for line in lines:
        with contextlib.suppress(DecodeError):
            understood += all(result.supported for result in decode_line(line))

    assert understood / len(lines) >= 0.90, f"{understood}/{len(lines)} understood"


def test_concox_manual_tamper_alarm_is_a_tamper_event_with_its_position() -> None:
    result = gt06.decode(frame("787825260F0C1D030B26"), imei=IMEI, now=NOW)

    (fix,) = fixes(result)
    assert fix.time == datetime(2015, 12, 29, 3, 11, 38, tzinfo=UTC)
    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 5), round(fix.lon, 5)) == (23.11169, 114.4093)
    assert events(result) == [(EventKind.TAMPER, "gt06:alarm:0x13")]
    assert result.reply == gt06.encode_frame(0x26, b"", 0x000C)


def test_harsh_braking_is_not_reported_as_vibration() -> None:
    """The G18 sets the terminal info "vibration" bits with its 0x30 harsh-braking code;
    the code is the alarm, the bits only its coarse summary."""
    result = gt06.decode(frame("787825161a011c141001"), imei=IMEI, now=NOW)

    assert events(result) == [(EventKind.HARSH_BRAKING, "gt06:alarm:0x30")]


def test_sos_of_a_vxt01_comes_from_its_terminal_info_bits() -> None:
    """VXT01 (0x16, length 0x24) sends its cell without a length byte and an alarm byte of
    its own meaning; the SOS is in the terminal info bits (100)."""
    result = gt06.decode(frame("7878241617070a150e24"), imei=IMEI, now=NOW)

    (fix,) = fixes(result)
    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 4), round(fix.lon, 4)) == (18.4821, -69.9371)
    assert fix.attributes["cell"] == {"mcc": 370, "mnc": 2, "lac": 0x5336, "cell_id": 0x0027DB}
    assert events(result) == [(EventKind.SOS, "gt06:alarm:terminal:4")]


def test_seeworld_sos_with_a_four_byte_cell_id_is_an_sos() -> None:
    result = gt06.decode(frame("787826161709130f3a2d"), imei=IMEI, now=NOW)

    (fix,) = fixes(result)
    assert fix.attributes["cell"]["cell_id"] == 0x066D9B03
    assert fix.battery_pct == 62, "voltage byte above 6 is a percentage"
    assert events(result) == [(EventKind.SOS, "gt06:alarm:0x01")]


def test_4g_multi_fence_alarm_reads_the_wide_cell_and_the_low_battery_code() -> None:
    result = gt06.decode(frame("78782DA4150817073B10"), imei=IMEI, now=NOW)

    (fix,) = fixes(result)
    assert fix.attributes["cell"] == {"mcc": 460, "mnc": 1, "lac": 0x9A00, "cell_id": 0x0A6F2401}
    assert events(result) == [(EventKind.LOW_BATTERY, "gt06:alarm:0x19")]
    assert result.reply is not None
    assert result.reply[3] == 0xA4


def test_lbs_status_frame_without_gps_reports_its_alarm_at_now() -> None:
    result = gt06.decode(frame("78781219028f0a29e100"), imei=IMEI, now=NOW)

    (event,) = result.records
    assert isinstance(event, DeviceEvent)
    assert (event.kind, event.time) == (EventKind.SOS, NOW)
    assert result.info["cell"] == {"mcc": 655, "mnc": 10, "lac": 0x29E1, "cell_id": 0x0036F1}


def test_4g_location_0xa0_reads_position_and_wide_cell() -> None:
    result = gt06.decode(frame("787829a01707150f2d0e"), imei=IMEI, now=NOW)

    (fix,) = fixes(result)
    assert fix.time == datetime(2023, 7, 21, 15, 45, 14, tzinfo=UTC)
    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 4), round(fix.lon, 4)) == (-12.9367, -38.3964)
    assert fix.attributes["cell"]["mcc"] == 724
    assert fix.attributes["acc_on"] is False
    assert result.reply == gt06.encode_frame(0xA0, b"", 0x06ED)


def test_modular_0x70_frame_yields_its_position_and_removal_event() -> None:
    result = gt06.decode(frame("797900a8700000000102003500010100"), imei=IMEI, now=NOW)

    (fix,) = fixes(result)
    assert fix.time == datetime(2019, 9, 15, 13, 18, 16, tzinfo=UTC)
    assert fix.altitude_m == 213
    assert events(result) == [(EventKind.DEVICE_REMOVED, "gt06:module:0x14")]
    assert result.reply is not None, "0x70 is acknowledged in the short form"
    assert result.reply[:4] == bytes.fromhex("78780570"), "0x70 is acknowledged in the short form"


def test_camera_alarm_0x95_reads_collision_with_its_position() -> None:
    result = gt06.decode(frame("78785195140a020c2914"), imei=IMEI, now=NOW)

    (fix,) = fixes(result)
    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 2), round(fix.lon, 2)) == (50.0, 19.0)
    assert events(result) == [(EventKind.COLLISION, "gt06:camera:0x93")]


def test_wifi_frame_with_the_access_point_count_in_its_length_byte() -> None:
    """0x69 from a unit that writes its Wi-Fi count where the length belongs, and sends no
    serial or CRC: decoded by its real size, answered with its own BCD time."""
    data = frame("787800691710231108500200cc080c4e2fa564")

    result = gt06.decode(data, imei=IMEI, now=NOW)

    assert result.length_mismatch is True
    assert result.info["time"] == "2017-10-23T11:08:50+00:00"
    assert result.reply == bytes.fromhex("787800691710231108500d0a")


def test_login_cut_short_still_logs_in() -> None:
    result = gt06.decode(frame("78780d010359339075005244340d0a"), imei=None, now=NOW)

    assert result.imei == "359339075005244"
    assert result.length_mismatch is True
    assert result.reply is not None


def test_position_without_serial_and_crc_is_read_to_its_stop_bits() -> None:
    result = gt06.decode(frame("7878121011091c0b1b29"), imei=IMEI, now=NOW)

    (fix,) = fixes(result)
    assert fix.time == datetime(2017, 9, 28, 11, 27, 41, tzinfo=UTC)
    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 4), round(fix.lon, 4)) == (51.4469, 5.5217)
    assert result.length_mismatch is True, "no serial to echo"
    assert result.reply is None, "no serial to echo"


def test_information_0x94_returns_iccid_and_external_volts_without_reply() -> None:
    iccid = gt06.decode(frame("79790020940a0359857082366758"), imei=IMEI, now=NOW)
    volts = gt06.decode(frame("79790008940000ed0289d6860d0a"), imei=IMEI, now=NOW)

    assert iccid.info["iccid"] == "8966051912408052452"
    assert volts.info["external_v"] == pytest.approx(2.37)
    assert (iccid.records, iccid.reply, volts.reply) == ([], None, None)


def test_gps_block_after_an_imei_is_found_by_its_date() -> None:
    """QH302R puts its IMEI before the GPS block of a 0x12 frame."""
    result = gt06.decode(frame("7878271208667030665022971a"), imei=IMEI, now=NOW)

    (fix,) = fixes(result)
    assert fix.time == datetime(2026, 2, 12, 10, 30, 50, tzinfo=UTC)
    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 4), round(fix.lon, 4)) == (13.4889, 144.823)
