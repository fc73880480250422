"""Teltonika decoder, pinned with the example packets of Teltonika's Codec wiki page and
frames from traccar's TeltonikaProtocolDecoderTest; values worked out from the layout in
``teltonika``'s docstring. Many more real packets are in ``test_teltonika_real``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ontrack.tracking.protocols import teltonika
from ontrack.tracking.protocols.records import DecodeError, DeviceEvent, EventKind, Fix

IMEI = "356307042441013"
HANDSHAKE = bytes.fromhex("000F333536333037303432343431303133")
# Teltonika wiki, Codec 8 example 1: one record, no GPS fix, IO 21=3, 1=1, 66, 241, 78.
WIKI_CODEC8 = bytes.fromhex(
    "000000000000003608010000016B40D8EA30010000000000000000000000000000000105021503010101425E0F"
    "01F10000601A014E0000000000000000010000C7CF"
)
# Teltonika wiki, Codec 8 example 3: two records.
WIKI_CODEC8_TWO_RECORDS = bytes.fromhex(
    "000000000000004308020000016B40D57B480100000000000000000000000000000001010101000000000000016B"
    "40D5C198010000000000000000000000000000000101010101000000020000252C"
)
# Teltonika wiki, Codec 8 Extended example.
WIKI_CODEC8E = bytes.fromhex(
    "000000000000004A8E010000016B412CEE000100000000000000000000000000000000010005000100010100010011"
    "001D00010010015E2C880002000B000000003544C87A000E000000001DD7E06A00000100002994"
)
# traccar: an FMB record in Vienna with 15 IO elements.
CODEC8_WITH_FIX = bytes.fromhex(
    "000000000000004c08010000016818d500580009c28d9f1cb3757a00be00c60f0053000f06f0011503c80001011d"
    "00fc0007423799180053cdf80dce426f430f88190bb8560bb802f100005aa110002887e000010000ee8d"
)
# traccar: Codec 8 Extended with a variable-length element (id 256, the VIN).
CODEC8E_WITH_VIN = bytes.fromhex(
    "00000000000000818e0100000166e368a510000f0d8b5b20961c35008d010308000000000014000900ef0000f001"
    "00500100150400c800004501001e00002500002900000a00b5000800b60007004230dc0018000000430fcb004400"
    "5f001103de001200e50013001200240000000000000001010000113141314a433534343452373235323336370100"
    "005e99"
)
# Teltonika wiki, Codec 12 "getinfo" command.
WIKI_GETINFO = bytes.fromhex("000000000000000F0C010500000007676574696E666F0100004312")
CODEC12_RESPONSE = bytes.fromhex(
    "000000000000004f0c01060000004755555555777730362e343b30342e323b30302e303b30302e303b30302e303b"
    "30302e303b30302e303b30302e303b30312e333b30302e303b31302e373b30302e303b5353530d0a010000e371"
)
MOMENT = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def packet_with(record: bytes, *, extended: bool = False) -> bytes:
    codec = teltonika.CODEC_8_EXTENDED if extended else teltonika.CODEC_8
    return teltonika.encode_packet(codec, 1, record)


def test_crc16_ibm_matches_the_crc16_arc_check_value() -> None:
    assert teltonika.crc16_ibm(b"123456789") == 0xBB3D


def test_handshake_yields_the_imei_and_the_bytes_it_used() -> None:
    assert teltonika.parse_handshake(HANDSHAKE + b"\x00") == ("356307042441013", 17)


def test_incomplete_handshake_waits() -> None:
    assert teltonika.parse_handshake(HANDSHAKE[:10]) is None


def test_handshake_with_non_digits_is_rejected() -> None:
    with pytest.raises(DecodeError) as error:
        teltonika.parse_handshake(b"\x00\x03ab1")
    assert error.value.reason == "bad_imei"


def test_packet_length_is_known_from_the_header() -> None:
    assert teltonika.packet_length(WIKI_CODEC8[:7]) is None
    assert teltonika.packet_length(WIKI_CODEC8[:8]) == len(WIKI_CODEC8) == 0x36 + 12


def test_non_zero_preamble_is_rejected() -> None:
    with pytest.raises(DecodeError) as error:
        teltonika.packet_length(b"\x00\x00\x00\x01" + WIKI_CODEC8[4:])
    assert error.value.reason == "bad_preamble"


def test_wiki_codec8_example_decodes_time_and_io() -> None:
    result = teltonika.decode_packet(WIKI_CODEC8, imei=IMEI)

    assert result.reply == b"\x00\x00\x00\x01"
    (fix,) = result.records
    assert isinstance(fix, Fix)
    assert fix.time == datetime(2019, 6, 10, 10, 4, 46, tzinfo=UTC)  # 0x16B40D8EA30 ms
    assert (fix.lat, fix.lon, fix.satellites, fix.valid) == (0.0, 0.0, 0, False)
    assert fix.attributes["priority"] == 1
    assert fix.attributes["event_io_id"] == 1
    assert fix.attributes["io"] == {"21": 3, "1": 1, "66": 0x5E0F, "241": 0x601A, "78": 0}
    assert fix.attributes["external_voltage_v"] == pytest.approx(24.079)


def test_wiki_two_record_packet_is_acknowledged_with_two() -> None:
    result = teltonika.decode_packet(WIKI_CODEC8_TWO_RECORDS, imei=IMEI)

    assert result.reply == b"\x00\x00\x00\x02"
    assert [record.time for record in result.records] == [
        datetime(2019, 6, 10, 10, 1, 1, tzinfo=UTC),
        datetime(2019, 6, 10, 10, 1, 19, tzinfo=UTC),
    ]


def test_wiki_codec8_extended_example_decodes_wide_io() -> None:
    (fix,) = teltonika.decode_packet(WIKI_CODEC8E, imei=IMEI).records

    assert isinstance(fix, Fix)
    assert fix.time == datetime(2019, 6, 10, 11, 36, 32, tzinfo=UTC)
    assert fix.attributes["io"] == {
        "1": 1,
        "17": 0x001D,
        "16": 0x015E2C88,
        "11": 0x3544C87A,
        "14": 0x1DD7E06A,
    }


def test_record_with_fix_decodes_position_speed_and_course() -> None:
    (fix,) = teltonika.decode_packet(CODEC8_WITH_FIX, imei=IMEI).records

    assert isinstance(fix, Fix)
    assert fix.time == datetime(2019, 1, 4, 12, 27, 19, tzinfo=UTC)
    assert fix.lon == pytest.approx(0x09C28D9F / 1e7)  # 16.3745183 E
    assert fix.lat == pytest.approx(0x1CB3757A / 1e7)  # 48.1523066 N
    assert fix.altitude_m == 0x00BE  # 190 m
    assert fix.course == 0x00C6  # 198 degrees
    assert fix.satellites == 15
    assert fix.speed_kmh == 0x0053  # 83 km/h
    assert fix.valid is True
    assert fix.attributes["motion"] is True
    assert fix.attributes["battery_voltage_v"] == pytest.approx(3.976)


def test_variable_length_io_is_kept_as_hex() -> None:
    (fix,) = teltonika.decode_packet(CODEC8E_WITH_VIN, imei=IMEI).records

    assert isinstance(fix, Fix)
    assert bytes.fromhex(fix.attributes["io"]["256"]) == b"1A1JC5444R7252367"
    assert fix.lat == pytest.approx(54.6708533)
    assert fix.lon == pytest.approx(25.2545883)


def test_bad_crc_is_decoded_and_flagged_so_the_device_is_not_stuck() -> None:
    corrupted = WIKI_CODEC8[:-1] + b"\x00"

    result = teltonika.decode_packet(corrupted, imei=IMEI)

    assert result.crc_mismatch is True
    assert result.reply == b"\x00\x00\x00\x01"
    assert len(result.records) == 1


def test_bad_crc_is_rejected_in_strict_mode() -> None:
    corrupted = WIKI_CODEC8[:-1] + b"\x00"

    with pytest.raises(DecodeError) as error:
        teltonika.decode_packet(corrupted, imei=IMEI, strict_crc=True)
    assert error.value.reason == "crc_mismatch"


def test_bad_crc_on_a_packet_that_does_not_parse_is_reported_as_crc_mismatch() -> None:
    corrupted = bytearray(WIKI_CODEC8)
    corrupted[36] ^= 0x10  # the count of 1-byte IO elements: 18 no longer fit the packet

    with pytest.raises(DecodeError) as error:
        teltonika.decode_packet(bytes(corrupted), imei=IMEI)
    assert error.value.reason == "crc_mismatch"


def test_codec12_command_matches_the_wiki_example() -> None:
    assert teltonika.encode_codec12_command("getinfo") == WIKI_GETINFO


def test_codec12_response_is_returned_and_not_acknowledged() -> None:
    result = teltonika.decode_packet(CODEC12_RESPONSE, imei=IMEI)

    assert result.reply is None
    assert result.command_response is not None
    assert result.command_response.startswith("UUUUww06.4;04.2;")


@pytest.mark.parametrize(
    ("io_id", "value", "kind"),
    [
        (236, 1, EventKind.SOS),
        (252, 1, EventKind.EXTERNAL_POWER_CUT),
        (318, 2, EventKind.GNSS_JAMMING),
        (69, 2, EventKind.GPS_LOST),
        (69, 1, EventKind.GPS_REGAINED),
        (255, 97, EventKind.OVERSPEED),
        (66, 412, EventKind.EXTERNAL_POWER_CUT),
        (113, 18, EventKind.LOW_BATTERY),
        (113, 4, EventKind.CRITICAL_BATTERY),
        (247, 1, EventKind.UNKNOWN_ALARM),
        (242, 1, EventKind.UNKNOWN_ALARM),
    ],
)
def test_triggering_io_element_becomes_an_event(io_id: int, value: int, kind: EventKind) -> None:
    record = teltonika.encode_record(
        time=MOMENT,
        lat=52.1,
        lon=4.3,
        satellites=6,
        event_io_id=io_id,
        io={io_id: value},
        extended=True,  # ids above 255 (318) need Codec 8 Extended
    )

    fix, event = teltonika.decode_packet(packet_with(record, extended=True), imei=IMEI).records

    assert isinstance(event, DeviceEvent)
    assert event.kind is kind
    assert event.raw_code == f"teltonika:io:{io_id}={value}"
    assert event.time == fix.time == MOMENT


def test_io_elements_that_did_not_trigger_the_record_are_not_events() -> None:
    record = teltonika.encode_record(
        time=MOMENT, lat=52.1, lon=4.3, event_io_id=0, io={69: 2, 236: 1, 113: 40}
    )

    (fix,) = teltonika.decode_packet(packet_with(record), imei=IMEI).records

    assert isinstance(fix, Fix)
    assert fix.battery_pct == 40


def test_record_count_mismatch_is_rejected() -> None:
    record = teltonika.encode_record(time=MOMENT, lat=1.0, lon=1.0)
    packet = teltonika.encode_packet(teltonika.CODEC_8, 2, record)

    with pytest.raises(DecodeError) as error:
        teltonika.decode_packet(packet, imei=IMEI)
    assert error.value.reason == "truncated"


@given(
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    millis=st.integers(946_684_800_000, 4_000_000_000_000),
    altitude=st.integers(-32768, 32767),
    angle=st.integers(0, 360),
    satellites=st.integers(0, 255),
    speed=st.integers(0, 65535),
    io=st.dictionaries(st.integers(1, 65535), st.integers(0, 2**64 - 1), max_size=8),
    extended=st.booleans(),
)
def test_encoded_records_round_trip(
    lat: float,
    lon: float,
    millis: int,
    altitude: int,
    angle: int,
    satellites: int,
    speed: int,
    io: dict[int, int],
    extended: bool,
) -> None:
    if not extended:
        io = {key % 256: value for key, value in io.items()}
    moment = datetime.fromtimestamp(millis / 1000, tz=UTC)
    record = teltonika.encode_record(
        time=moment,
        lat=lat,
        lon=lon,
        altitude=altitude,
        angle=angle,
        satellites=satellites,
        speed=speed,
        io=dict(io),
        extended=extended,
    )

    fix = teltonika.decode_packet(packet_with(record, extended=extended), imei=IMEI).records[0]

    assert isinstance(fix, Fix)
    assert fix.lat is not None
    assert abs(fix.lat - lat) <= 1e-7
    assert fix.lon is not None
    assert abs(fix.lon - lon) <= 1e-7
    assert abs((fix.time - moment).total_seconds()) <= 0.001
    assert (fix.altitude_m, fix.course, fix.satellites, fix.speed_kmh) == (
        altitude,
        angle,
        satellites,
        speed,
    )
    assert fix.attributes["io"] == {str(key): value for key, value in io.items()}


@pytest.mark.parametrize(("io_id", "value"), [(66, 12_400), (113, 80), (252, 0), (236, 0)])
def test_levels_that_are_not_alarms_are_not_events(io_id: int, value: int) -> None:
    record = teltonika.encode_record(
        time=MOMENT, lat=52.1, lon=4.3, satellites=6, event_io_id=io_id, io={io_id: value}
    )

    records = teltonika.decode_packet(packet_with(record), imei=IMEI).records

    assert [type(record) for record in records] == [Fix]


def test_a_record_with_an_impossible_time_is_dropped_and_the_others_kept() -> None:
    clockless = teltonika.encode_record(time=datetime(1980, 1, 6, tzinfo=UTC), lat=1.0, lon=1.0)
    good = teltonika.encode_record(time=MOMENT, lat=52.1, lon=4.3, satellites=6)

    result = teltonika.decode_packet(
        teltonika.encode_packet(teltonika.CODEC_8, 2, clockless + good), imei=IMEI
    )

    assert result.reply == (2).to_bytes(4, "big"), "the unusable record is acknowledged too"
    assert [record.time for record in result.records] == [MOMENT]
    assert [(d.position, d.reason) for d in result.dropped] == [(0, "time_out_of_range")]


def test_a_record_with_impossible_coordinates_keeps_its_alarm() -> None:
    record = bytearray(
        teltonika.encode_record(
            time=MOMENT, lat=10.0, lon=0.0, satellites=6, event_io_id=236, io={236: 1}
        )
    )
    record[13:17] = (1_000_000_000).to_bytes(4, "big")  # latitude 100 degrees

    result = teltonika.decode_packet(packet_with(bytes(record)), imei=IMEI)

    (event,) = result.records
    assert isinstance(event, DeviceEvent)
    assert event.kind is EventKind.SOS
    assert "lat" not in event.attributes
    assert [(d.position, d.reason) for d in result.dropped] == [(0, "lat_out_of_range")]


def test_a_wrong_total_io_count_is_tolerated() -> None:
    record = bytearray(teltonika.encode_record(time=MOMENT, lat=1.0, lon=1.0, io={21: 3}))
    record[25] = 7  # total count: firmware disagree on what it counts; the parse checks

    (fix,) = teltonika.decode_packet(packet_with(bytes(record)), imei=IMEI).records

    assert isinstance(fix, Fix)
    assert fix.attributes["io"] == {"21": 3}


def test_unknown_codec_is_rejected() -> None:
    with pytest.raises(DecodeError) as error:
        teltonika.decode_packet(teltonika.encode_packet(0x42, 0, b""), imei=IMEI)
    assert error.value.reason == "unsupported_codec"
