"""GT06 decoder, pinned with frames real devices sent (traccar's Gt06ProtocolDecoderTest and
the Concox GT06 manual's own login example); expected values worked out by hand from the
layout in ``gt06``'s docstring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ontrack.tracking.protocols import gt06
from ontrack.tracking.protocols.crc import reflected_crc16
from ontrack.tracking.protocols.records import DecodeError, DeviceEvent, EventKind, Fix

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
IMEI = "864717003283581"

# Login from the GT06 manual: IMEI 0123456789012345, serial 1; the manual's answer follows.
MANUAL_LOGIN = bytes.fromhex("78780D01012345678901234500018CDD0D0A")
MANUAL_LOGIN_REPLY = bytes.fromhex("787805010001D9DC0D0A")
LOGIN = bytes.fromhex("78780D01086471700328358100093F040D0A")
LOGIN_WITH_TIMEZONE = bytes.fromhex("787811010863586038760942a0010000010aa4000d0a")
GPS_LBS_EXTENDED = bytes.fromhex(
    "787822220F0C1D023305C9027AC8180C46586000140001CC00287D001F71000001000820860D0A"
)
GPS_LBS = bytes.fromhex("78781f120f0a140e150bc505e51e780293a9e800540000f601006e0055da00035f240d0a")
ALARM_VIBRATION = bytes.fromhex(
    "787825160F0C1D0A2B21C8027AC8040C46581000146F0901CC00287D001F714804040301001C84CF0D0A"
)
ALARM_REMOVED = bytes.fromhex(
    "7878251613020C12141AC5027951430C2A16F60014000900000000001A00007C550300020002F1E70D0A"
)
STATUS = bytes.fromhex("78780a13c40604000201298f5b0d0a")
HEARTBEAT_GK310 = bytes.fromhex("78780B23C00122040001000818720D0A")
TIME_REQUEST = bytes.fromhex("7878058A000688290D0A")
COMMAND_RESPONSE = bytes.fromhex(
    "7878281520000000003c49434349443a38393838323339303030303039373330323635303e00020d446f260d0a"
)


def decode(frame: bytes, **options: object) -> gt06.Gt06Result:
    return gt06.decode(frame, imei=IMEI, now=NOW, **options)  # type: ignore[arg-type]


def test_crc_itu_matches_the_crc16_x25_check_value() -> None:
    assert gt06.crc_itu(b"123456789") == 0x906E


@given(st.binary(max_size=300))
def test_crc_itu_equals_the_table_driven_reflected_crc(data: bytes) -> None:
    """The C-backed CRC (bit-reversed ``crc_hqx``) is the textbook reflected X-25 CRC."""
    assert gt06.crc_itu(data) == reflected_crc16(0x8408, init=0xFFFF, xorout=0xFFFF)(data)


def test_login_from_the_manual_is_answered_with_the_manuals_reply() -> None:
    result = gt06.decode(MANUAL_LOGIN, imei=None, now=NOW)

    assert result.imei == "123456789012345"
    assert result.reply == MANUAL_LOGIN_REPLY
    assert result.records == []
    assert not result.crc_mismatch


def test_login_identifies_the_imei_and_echoes_the_serial() -> None:
    result = gt06.decode(LOGIN, imei=None, now=NOW)

    assert result.imei == "864717003283581"
    assert result.serial == 0x0009
    assert result.reply == gt06.encode_frame(0x01, b"", 0x0009)
    assert result.reply[:6] == bytes.fromhex("787805010009")


def test_extended_login_reports_the_device_time_zone() -> None:
    result = gt06.decode(LOGIN_WITH_TIMEZONE, imei=None, now=NOW)

    assert result.imei == "863586038760942"
    assert result.device_utc_offset_minutes == 0
    assert result.serial == 0x010A


def test_login_with_non_bcd_imei_is_rejected() -> None:
    frame = gt06.encode_frame(0x01, bytes.fromhex("0A6471700328358F"), 1)

    with pytest.raises(DecodeError) as error:
        gt06.decode(frame, imei=None, now=NOW)
    assert error.value.reason == "bad_imei"


def test_data_before_login_is_rejected() -> None:
    with pytest.raises(DecodeError) as error:
        gt06.decode(GPS_LBS, imei=None, now=NOW)
    assert error.value.reason == "not_logged_in"


def test_gps_lbs_extended_decodes_position_time_and_cell() -> None:
    result = decode(GPS_LBS_EXTENDED)

    (fix,) = result.records
    assert isinstance(fix, Fix)
    assert fix.device_id == IMEI
    assert fix.time == datetime(2015, 12, 29, 2, 51, 5, tzinfo=UTC)
    assert fix.lat == pytest.approx(0x027AC818 / 1_800_000)  # 23.1116933 N
    assert fix.lon == pytest.approx(0x0C465860 / 1_800_000)  # 114.4092978 E
    assert fix.speed_kmh == 0.0
    assert fix.course == 0.0
    assert fix.satellites == 9
    assert fix.valid is True
    assert fix.attributes["cell"] == {"mcc": 460, "mnc": 0, "lac": 0x287D, "cell_id": 0x1F71}
    assert result.reply == gt06.encode_frame(0x22, b"", 0x0008), (
        "location frames are acknowledged like the others (Concox units hold back or resend "
        "what was not acknowledged)"
    )


def test_gps_lbs_decodes_the_position_traccar_pins() -> None:
    (fix,) = decode(GPS_LBS).records

    assert isinstance(fix, Fix)
    assert fix.time == datetime(2015, 10, 20, 14, 21, 11, tzinfo=UTC)
    assert fix.lat == pytest.approx(54.94535, abs=1e-5)
    assert fix.lon == pytest.approx(24.01762, abs=1e-5)
    assert fix.satellites == 5
    assert fix.speed_kmh == 0
    # course/status 0x5400: bit 12 positioned, bit 10 north, bit 11 clear (east), course 0
    assert fix.course == 0
    assert fix.valid is True
    assert fix.attributes["cell"] == {"mcc": 246, "mnc": 1, "lac": 0x006E, "cell_id": 0x0055DA}


def test_south_and_west_come_from_the_course_status_flags() -> None:
    frame = gt06.encode_gps_lbs(time=NOW, lat=-33.5, lon=-70.25, satellites=7, course=90)

    (fix,) = decode(frame).records

    assert isinstance(fix, Fix)
    assert (fix.lat, fix.lon) == (pytest.approx(-33.5), pytest.approx(-70.25))
    assert fix.course == 90


def test_time_offset_turns_device_local_time_into_utc() -> None:
    (fix,) = decode(GPS_LBS_EXTENDED, time_offset_minutes=8 * 60).records

    assert isinstance(fix, Fix)
    assert fix.time == datetime(2015, 12, 28, 18, 51, 5, tzinfo=UTC)


def test_alarm_frame_yields_fix_event_status_and_acknowledgement() -> None:
    result = decode(ALARM_VIBRATION)

    fix, event = result.records
    assert isinstance(fix, Fix)
    assert isinstance(event, DeviceEvent)
    assert fix.time == datetime(2015, 12, 29, 10, 43, 33, tzinfo=UTC)
    assert fix.lat == pytest.approx(0x027AC804 / 1_800_000)
    assert fix.lon == pytest.approx(0x0C465810 / 1_800_000)
    assert fix.course == 0x06F  # 111 degrees
    assert fix.satellites == 8
    assert fix.battery_pct == 60  # voltage level 4 of 6 ("medium")
    assert event.kind is EventKind.VIBRATION
    assert event.raw_code == "gt06:alarm:0x03"
    assert event.time == fix.time
    assert result.status is not None
    assert result.status.gsm_signal == 4
    assert result.reply == gt06.encode_frame(0x16, b"", 0x001C)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (0x01, EventKind.SOS),
        (0x02, EventKind.EXTERNAL_POWER_CUT),
        (0x03, EventKind.VIBRATION),
        (0x04, EventKind.GEOFENCE_ENTER),
        (0x05, EventKind.GEOFENCE_EXIT),
        (0x06, EventKind.OVERSPEED),
        (0x09, EventKind.MOVEMENT),
        (0x0C, EventKind.POWER_ON),
        (0x0E, EventKind.EXTERNAL_POWER_LOW),
        (0x0F, EventKind.EXTERNAL_POWER_LOW),
        (0x11, EventKind.POWER_OFF),
        (0x13, EventKind.TAMPER),
        (0x14, EventKind.UNKNOWN_ALARM),  # door: no normalised kind, the code is kept
        (0x18, EventKind.DEVICE_REMOVED),
        (0x19, EventKind.LOW_BATTERY),
        (0x23, EventKind.FALL),
        (0x29, EventKind.HARSH_ACCELERATION),
        (0x2A, EventKind.HARSH_CORNERING),
        (0x2B, EventKind.HARSH_CORNERING),
        (0x2C, EventKind.COLLISION),
        (0x30, EventKind.HARSH_BRAKING),
    ],
)
def test_alarm_code_of_an_0x26_frame_is_its_event_kind(code: int, kind: EventKind) -> None:
    location = gt06.encode_gps_lbs(time=NOW, lat=40.7, lon=-74.0, cell=(310, 26, 1, 2))
    status = bytes([0x40, 5, 4, code, 0x02])  # GPS on, voltage level 5 ("high")
    frame = gt06.encode_frame(0x26, location[4:22] + bytes([9]) + location[22:30] + status, 9)

    result = decode(frame)

    fix, *events = result.records
    assert isinstance(fix, Fix)
    assert fix.battery_pct == 80
    assert [(e.kind, e.raw_code) for e in events if isinstance(e, DeviceEvent)] == [
        (kind, f"gt06:alarm:0x{code:02x}")
    ], "the alarm code alone; a high voltage level adds no battery event"
    assert result.reply == gt06.encode_frame(0x26, b"", 9)


@pytest.mark.parametrize(("level", "pct"), [(1, 5), (2, 15), (3, 35), (6, 100)])
def test_voltage_level_reads_as_a_percentage_in_the_band_its_name_says(
    level: int, pct: int
) -> None:
    frame = gt06.encode_frame(0x13, bytes([0x40, level, 3, 0, 2]), 5)

    result = decode(frame)

    assert result.status is not None
    assert result.status.battery_pct == pct


def test_terminal_info_removal_bits_raise_device_removed() -> None:
    result = decode(ALARM_REMOVED)

    events = [record for record in result.records if isinstance(record, DeviceEvent)]
    assert [event.kind for event in events] == [EventKind.DEVICE_REMOVED]
    assert result.status is not None
    assert result.status.charging is True


def test_alarm_with_junk_gps_still_yields_the_event_at_now() -> None:
    content = bytes(18) + bytes.fromhex("00") + bytes.fromhex("40 06 04 01 02")
    frame = gt06.encode_frame(0x16, content, 7)

    result = decode(frame)

    (event,) = result.records
    assert isinstance(event, DeviceEvent)
    assert event.kind is EventKind.SOS
    assert event.time == NOW
    assert event.attributes == {"gps_unusable": "bad_time"}


def test_status_heartbeat_reports_charging_battery_and_is_acknowledged() -> None:
    result = decode(STATUS)

    assert result.records == []
    assert result.status == gt06.TerminalStatus(
        armed=False,
        acc_on=False,
        charging=True,
        gps_tracking=True,
        oil_cut=True,
        alarm_bits=0,
        battery_pct=100,
        voltage_level=6,
        power_v=None,
        gsm_signal=4,
    )
    assert result.reply == gt06.encode_frame(0x13, b"", 0x0129)


def test_heartbeat_with_very_low_voltage_level_raises_low_battery() -> None:
    frame = gt06.encode_frame(0x13, bytes([0x40, 2, 3, 0, 2]), 5)

    (event,) = decode(frame).records

    assert isinstance(event, DeviceEvent)
    assert event.kind is EventKind.LOW_BATTERY
    assert event.time == NOW


def test_gk310_heartbeat_carries_battery_voltage() -> None:
    result = decode(HEARTBEAT_GK310)

    assert result.status is not None
    assert result.status.power_v == pytest.approx(2.90)
    assert result.reply == gt06.encode_frame(0x23, b"", 0x0008)


def test_time_request_is_answered_with_the_time() -> None:
    result = decode(TIME_REQUEST)

    assert (
        result.reply
        == bytes.fromhex("78780B8A")
        + bytes([24, 5, 1, 12, 0, 0])
        + bytes.fromhex("0006")
        + gt06.crc_itu(bytes.fromhex("0B8A1805010C00000006")).to_bytes(2, "big")
        + b"\r\n"
    )


def test_command_response_text_is_returned() -> None:
    assert decode(COMMAND_RESPONSE).command_response == "<ICCID:89882390000097302650>"


def test_bad_crc_is_counted_and_decoded_by_default() -> None:
    corrupted = GPS_LBS_EXTENDED[:-4] + b"\x00\x00" + GPS_LBS_EXTENDED[-2:]

    result = decode(corrupted)

    assert result.crc_mismatch is True
    assert len(result.records) == 1


def test_bad_crc_is_rejected_in_strict_mode() -> None:
    corrupted = GPS_LBS_EXTENDED[:-4] + b"\x00\x00" + GPS_LBS_EXTENDED[-2:]

    with pytest.raises(DecodeError) as error:
        decode(corrupted, strict_crc=True)
    assert error.value.reason == "crc_mismatch"


def test_unknown_short_message_type_is_acknowledged_but_decodes_to_nothing() -> None:
    """As Traccar does: a unit whose frame goes unanswered reconnects."""
    frame = gt06.encode_frame(0x1F, bytes(8), 2)

    result = decode(frame)

    assert (result.supported, result.records) == (False, [])
    assert result.reply == gt06.encode_frame(0x1F, b"", 2)


def test_unknown_extended_message_type_gets_no_reply() -> None:
    result = decode(gt06.encode_frame(0xFD, bytes(8), 2, extended=True))

    assert (result.supported, result.records, result.reply) == (False, [], None)


def test_online_command_frame_layout() -> None:
    frame = gt06.encode_command("WHERE#", serial=1, server_flag=0x01020304)

    assert frame[:4] == bytes.fromhex("7878 10 80")
    assert frame[4] == 4 + 6
    assert frame[5:9] == bytes.fromhex("01020304")
    assert frame[9:15] == b"WHERE#"
    assert frame[15:17] == b"\x00\x01"
    assert int.from_bytes(frame[17:19], "big") == gt06.crc_itu(frame[2:17])
    assert frame[-2:] == b"\r\n"


def test_splitter_cuts_a_stream_with_garbage_and_a_partial_tail() -> None:
    stream = b"\x00garbage" + LOGIN + b"\x0d\x0a" + STATUS + GPS_LBS[:10]

    frames, rest, skipped = gt06.split_frames(stream)

    assert frames == [LOGIN, STATUS]
    assert rest == GPS_LBS[:10]
    assert skipped == len(b"\x00garbage") + 2


def test_splitter_resyncs_after_a_false_start_marker() -> None:
    false_start = b"\x78\x78\x30\x01\x02"  # claims 0x30 bytes; no stop bits where it says
    stream = false_start + GPS_LBS + STATUS

    frames, rest, skipped = gt06.split_frames(stream)

    assert frames == [GPS_LBS, STATUS]
    assert rest == b""
    assert skipped == len(false_start)


def test_splitter_waits_while_a_plausible_frame_is_incomplete() -> None:
    false_start = b"\x78\x78\x30\x01\x02"

    assert gt06.split_frames(false_start + GPS_LBS) == ([], false_start + GPS_LBS, 0)


def test_splitter_keeps_a_lone_start_byte() -> None:
    assert gt06.split_frames(b"abc\x79") == ([], b"\x79", 3)


def test_splitter_handles_extended_frames() -> None:
    extended = gt06.encode_frame(0x13, bytes([0x40, 6, 4, 0, 2]), 9, extended=True)

    assert gt06.split_frames(extended + STATUS).frames == [extended, STATUS]
    assert decode(extended).reply == gt06.encode_frame(0x13, b"", 9, extended=True)


@given(
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    # Hypothesis takes naive bounds (it refuses aware ones); timezones= makes the values aware.
    moment=st.datetimes(
        datetime(2000, 1, 1),  # noqa: DTZ001
        datetime(2099, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    speed=st.integers(0, 255),
    course=st.integers(0, 359),
    satellites=st.integers(0, 15),
    valid=st.booleans(),
)
def test_encoded_location_round_trips(
    lat: float,
    lon: float,
    moment: datetime,
    speed: int,
    course: int,
    satellites: int,
    valid: bool,
) -> None:
    moment = moment.replace(microsecond=0)
    frame = gt06.encode_gps_lbs(
        time=moment,
        lat=lat,
        lon=lon,
        speed_kmh=speed,
        course=course,
        satellites=satellites,
        valid=valid,
    )

    result = gt06.decode(frame, imei=IMEI, strict_crc=True, now=NOW)

    (fix,) = result.records
    assert isinstance(fix, Fix)
    resolution = 1 / 1_800_000
    assert fix.lat is not None
    assert abs(fix.lat - lat) <= resolution
    assert fix.lon is not None
    assert abs(fix.lon - lon) <= resolution
    assert fix.time == moment
    assert (fix.speed_kmh, fix.course, fix.satellites, fix.valid) == (
        speed,
        course,
        satellites,
        valid,
    )
    assert fix.time - moment == timedelta(0)


def test_splitter_cuts_a_miscounted_frame_at_its_stop_bits_when_a_frame_follows() -> None:
    miscounted = bytearray(STATUS)
    miscounted[2] = 0x30  # claims more than it holds

    frames, rest, skipped = gt06.split_frames(bytes(miscounted) + GPS_LBS)

    assert frames == [bytes(miscounted), GPS_LBS]
    assert (rest, skipped) == (b"", 0)


def test_splitter_holds_a_miscounted_tail_until_flushed() -> None:
    """Stop bits at the end of what has arrived may be inside a frame still arriving; only
    the caller knows the stream went quiet."""
    miscounted = bytearray(STATUS)
    miscounted[2] = 0x30

    assert gt06.split_frames(bytes(miscounted)) == ([], bytes(miscounted), 0)
    assert gt06.split_frames(bytes(miscounted), flush=True) == ([bytes(miscounted)], b"", 0)


def test_splitter_cuts_a_frame_whose_length_byte_is_too_small() -> None:
    wifi = bytes.fromhex("787800691710231108500200cc080c4e2fa5640c4e2fa66e0d0a")

    assert gt06.split_frames(wifi + STATUS).frames == [wifi, STATUS]


def test_miscounted_frame_is_decoded_by_its_real_size_and_flagged() -> None:
    miscounted = bytearray(GPS_LBS_EXTENDED)
    miscounted[2] -= 2

    result = decode(bytes(miscounted))

    assert result.length_mismatch is True
    assert result.crc_mismatch is True, "its CRC covered the length byte it sent"
    (fix,) = result.records
    assert isinstance(fix, Fix)
    assert fix.time == datetime(2015, 12, 29, 2, 51, 5, tzinfo=UTC)
    assert result.reply == gt06.encode_frame(0x22, b"", 0x0008)


def test_location_frame_without_a_fix_yet_is_acknowledged_and_stores_nothing() -> None:
    frame = gt06.encode_frame(0x12, bytes(18) + bytes.fromhex("01cc00287d001f71"), 3)

    result = decode(frame)

    assert result.records == []
    assert result.info == {"gps_unusable": "bad_time"}
    assert result.reply == gt06.encode_frame(0x12, b"", 3)


def test_terminal_info_bits_count_only_in_alarm_frames_without_an_alarm_code() -> None:
    location = gt06.encode_gps_lbs(time=NOW, lat=40.7, lon=-74.0)
    gps_and_cell = location[4:22] + bytes([9]) + location[22:30]
    vibration_bits = 0x40 | (1 << 3)
    with_code = gt06.encode_frame(0x16, gps_and_cell + bytes([vibration_bits, 2, 4, 0x30, 2]), 1)
    without_code = gt06.encode_frame(0x16, gps_and_cell + bytes([vibration_bits, 2, 4, 0, 2]), 2)

    coded = [r.kind for r in decode(with_code).records if isinstance(r, DeviceEvent)]
    uncoded = [r.kind for r in decode(without_code).records if isinstance(r, DeviceEvent)]

    assert coded == [EventKind.HARSH_BRAKING], "neither the bits nor the low level add events"
    assert uncoded == [EventKind.VIBRATION, EventKind.LOW_BATTERY]


def test_heartbeat_with_battery_percentage_and_alarm_byte() -> None:
    """The 14+ byte 0x13 (OBD units): info, signal (2), alarm, language, battery %..."""
    frame = gt06.encode_frame(0x13, bytes.fromhex("40 001f 01 02 2d") + bytes(8), 6)

    result = decode(frame)

    assert result.status is not None
    assert result.status.battery_pct == 45
    assert [(r.kind, r.time) for r in result.records if isinstance(r, DeviceEvent)] == [
        (EventKind.SOS, NOW)
    ]


def test_extended_form_of_an_alarm_is_answered_in_the_extended_form() -> None:
    location = gt06.encode_gps_lbs(time=NOW, lat=40.7, lon=-74.0)
    content = location[4:22] + bytes([9]) + location[22:30] + bytes([0x40, 5, 4, 0x01, 2])
    frame = gt06.encode_frame(0x26, content, 0x0102, extended=True)

    result = decode(frame)

    assert [r.kind for r in result.records if isinstance(r, DeviceEvent)] == [EventKind.SOS]
    assert result.reply == gt06.encode_frame(0x26, b"", 0x0102, extended=True)


def test_an_alarm_code_the_table_does_not_know_leaves_the_terminal_info_bits_their_say() -> None:
    location = gt06.encode_gps_lbs(time=NOW, lat=40.7, lon=-74.0)
    sos_bits = 0x40 | (4 << 3)
    content = location[4:22] + bytes([9]) + location[22:30] + bytes([sos_bits, 5, 4, 0x1C, 2])

    result = decode(gt06.encode_frame(0x16, content, 1))

    assert [(r.kind, r.raw_code) for r in result.records if isinstance(r, DeviceEvent)] == [
        (EventKind.UNKNOWN_ALARM, "gt06:alarm:0x1c"),
        (EventKind.SOS, "gt06:alarm:terminal:4"),
    ]
