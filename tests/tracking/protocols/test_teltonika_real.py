"""Teltonika packets sent by real devices (``frames/teltonika_real.txt``, each with its source).

Every packet must decode except captures cut short inside the CRC field, which must fail
with the reason the fixture names. The specific
tests pin what a packet of each kind decodes to; expected values are worked out from the
packet bytes (shown in the comments), not taken from the decoder.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import pytest

from ontrack.tracking.protocols import teltonika
from ontrack.tracking.protocols.records import DecodeError, DeviceEvent, EventKind, Fix

FIXTURE = Path(__file__).parent / "frames" / "teltonika_real.txt"
IMEI = "352093081452251"


class RealPacket(NamedTuple):
    data: bytes
    source: str
    expected_error: str | None


def _load() -> list[RealPacket]:
    packets = []
    for line in FIXTURE.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        hex_part, _, comment = line.partition("#")
        _, _, expected = comment.partition("expect:")
        packets.append(
            RealPacket(bytes.fromhex(hex_part.strip()), comment.strip(), expected.strip() or None)
        )
    return packets


PACKETS = _load()


def packet(source_start: str) -> bytes:
    """The one fixture packet whose source comment starts with ``source_start``."""
    (found,) = [p.data for p in PACKETS if p.source.startswith(source_start)]
    return found


def fixes(result: teltonika.TeltonikaResult) -> list[Fix]:
    return [record for record in result.records if isinstance(record, Fix)]


def events(result: teltonika.TeltonikaResult) -> list[DeviceEvent]:
    return [record for record in result.records if isinstance(record, DeviceEvent)]


def test_every_packet_not_known_to_be_broken_decodes() -> None:
    failures = []
    for real in PACKETS:
        if real.expected_error is not None:
            continue
        try:
            teltonika.decode_packet(real.data, imei=IMEI)
        except DecodeError as error:
            failures.append(f"{real.source}: {error}")
    assert not failures, "\n".join(failures)


def test_packets_known_to_be_broken_fail_with_the_reason_given() -> None:
    broken = [real for real in PACKETS if real.expected_error is not None]
    for real in broken:
        with pytest.raises(DecodeError) as error:
            teltonika.decode_packet(real.data, imei=IMEI)
        assert error.value.reason == real.expected_error, real.source
    assert len(broken) <= 2, "only captures cut short may fail"


def test_at_least_95_percent_of_the_real_packets_decode() -> None:
    decoded = 0
    for real in PACKETS:
        try:
            teltonika.decode_packet(real.data, imei=IMEI)
        except DecodeError:
            continue
        decoded += 1
    assert decoded / len(PACKETS) >= 0.95, f"{decoded} of {len(PACKETS)} decoded"


def test_the_fixture_covers_every_codec() -> None:
    codecs = {real.data[8] for real in PACKETS if real.expected_error is None}
    assert codecs >= {0x07, 0x08, 0x8E, 0x10, 0x0C, 0x0D, 0x0E, 0x0F}


def test_three_fmb_records_keep_their_own_times_and_positions() -> None:
    result = teltonika.decode_packet(packet("TR, Codec 8 FMB, 3 records"), imei=IMEI)

    assert result.reply == (3).to_bytes(4, "big")
    first, second, third = fixes(result)
    assert first.time == datetime(2022, 3, 28, 4, 53, 34, 230_000, tzinfo=UTC)  # 17fcedf4996
    assert (first.lat, first.lon) == (0x0EDED45D / 1e7, 0x280431BE / 1e7)  # Karachi
    assert (first.altitude_m, first.course, first.satellites) == (0x38, 0x12D, 0x10)
    assert second.time == datetime(2022, 3, 28, 4, 52, 53, 270_000, tzinfo=UTC)
    assert third.time == datetime(2021, 6, 4, 3, 19, 23, 160_000, tzinfo=UTC)  # a year older
    assert third.speed_kmh == 0x61


def test_fourteen_records_with_a_wrong_crc_all_decode() -> None:
    result = teltonika.decode_packet(packet("TR, Codec 8 FMB, 14 records"), imei=IMEI)

    assert result.crc_mismatch is True
    assert len(fixes(result)) == 14
    newest = fixes(result)[0]
    assert newest.time == datetime(2017, 7, 5, 12, 49, 14, tzinfo=UTC)  # 15d12cc2110
    assert (newest.lat, newest.lon) == (0x186742F5 / 1e7, -(2**32 - 0xFADAF627) / 1e7)  # Porto
    assert [fix.valid for fix in fixes(result)[:3]] == [True, False, False]  # 8, 0, 0 satellites


def test_codec8_extended_alarm_record_yields_an_sos_event() -> None:
    result = teltonika.decode_packet(packet("TR, Codec 8 Extended, 2 records"), imei=IMEI)

    (sos,) = events(result)
    assert sos.kind is EventKind.SOS
    assert sos.raw_code == "teltonika:io:236=1"
    assert sos.time == datetime(2021, 5, 10, 8, 19, 55, tzinfo=UTC)  # 179555c7bf8
    assert sos.attributes["lat"] == pytest.approx(-33.9656016)  # 0xebc142b0 signed


def test_fmc650_crash_and_unplug_records_become_events() -> None:
    result = teltonika.decode_packet(packet("TN, Codec 8 Extended FMC650"), imei=IMEI)

    assert len(fixes(result)) == 4
    assert [(event.kind, event.raw_code) for event in events(result)] == [
        (EventKind.UNKNOWN_ALARM, "teltonika:io:247=1"),
        (EventKind.EXTERNAL_POWER_CUT, "teltonika:io:252=1"),
        (EventKind.UNKNOWN_ALARM, "teltonika:io:247=5"),
    ]
    assert events(result)[0].attributes["alarm"] == "crash"


def test_codec16_wiki_example_has_generation_type_and_two_byte_ids() -> None:
    result = teltonika.decode_packet(packet("AZ, Codec 16 wiki example"), imei=IMEI)

    first, second = fixes(result)
    assert first.time == datetime(2019, 7, 10, 12, 6, 54, tzinfo=UTC)  # 16bdbc78330
    assert second.time == datetime(2019, 7, 10, 12, 6, 55, tzinfo=UTC)
    assert first.attributes["event_io_id"] == 11
    assert first.attributes["generation_type"] == 5  # on change
    assert first.attributes["io"] == {"1": 0, "3": 0, "11": 0x27, "66": 0x563A}


def test_codec16_fmb640_with_can_data_decodes_four_records() -> None:
    result = teltonika.decode_packet(packet("TN, Codec 16 FMB640"), imei=IMEI)

    assert len(fixes(result)) == 4
    assert fixes(result)[0].time == datetime(2020, 7, 17, 3, 25, 31, tzinfo=UTC)


def test_gh3000_records_without_gps_are_dropped_and_the_others_kept() -> None:
    result = teltonika.decode_packet(packet("TR, GH3000 (codec 7), 4 records"), imei=IMEI)

    assert result.reply == (4).to_bytes(4, "big"), "every record acknowledged"
    assert [(d.position, d.reason) for d in result.dropped] == [
        (0, "no_position"),
        (3, "no_position"),
    ]
    first, second = fixes(result)
    # 0x50aa17f3: priority 1, 0x10aa17f3 seconds after 2007-01-01
    assert first.time == datetime(2015, 11, 10, 21, 51, 47, tzinfo=UTC)
    assert first.lat == pytest.approx(44.7913055)  # float32 0x42332a4c
    assert first.lon == pytest.approx(18.4797592)  # float32 0x4193d68c
    assert (first.altitude_m, first.speed_kmh, first.satellites) == (141, 2, 9)
    assert first.attributes["priority"] == 1
    assert second.time == datetime(2015, 11, 10, 22, 6, 34, tzinfo=UTC)


def test_gh3000_cell_data_is_kept() -> None:
    result = teltonika.decode_packet(packet("TR, GH3000 (codec 7), 2 records"), imei=IMEI)

    first, _ = fixes(result)
    assert (first.attributes["lac"], first.attributes["cell_id"]) == (100, 0x83FF)
    assert first.lat == pytest.approx(44.4401894)  # Bucharest


def test_fm63xy_sixteen_byte_group_is_recognised_without_a_setting() -> None:
    empty = teltonika.decode_packet(packet("TR, Codec 8 with a 16-byte IO group"), imei=IMEI)
    used = teltonika.decode_packet(packet("TR, Codec 8 FM63XY with a 16-byte"), imei=IMEI)

    assert len(fixes(empty)) == len(fixes(used)) == 11
    assert fixes(used)[0].time == datetime(2017, 3, 9, 23, 25, 25, tzinfo=UTC)  # 15ab5642a88
    assert fixes(used)[0].lat == pytest.approx(-33.5423734)  # Santiago
    assert fixes(used)[0].lon == pytest.approx(-70.7061911)


def test_a_clock_1024_gps_weeks_behind_still_yields_every_record() -> None:
    result = teltonika.decode_packet(packet("navtrack/navtrack issue 94"), imei=IMEI)

    assert len(fixes(result)) == 10
    assert fixes(result)[0].time == datetime(2004, 1, 1, 0, 34, 43, tzinfo=UTC)  # f9ceda80b8
    assert not result.dropped


def test_codec13_timestamp_in_seconds_not_counted_in_the_size() -> None:
    result = teltonika.decode_packet(packet("TR, Codec 13 serial text"), imei=IMEI)

    assert result.command_response == "#GET DATAORDER"
    assert result.message_time == datetime(2016, 3, 16, 9, 15, 14, tzinfo=UTC)  # 56e92422
    assert result.reply is None, "text messages are not acknowledged"


def test_codec13_timestamp_in_milliseconds_from_older_firmware() -> None:
    result = teltonika.decode_packet(packet("TR, Codec 13 with millisecond"), imei=IMEI)

    assert result.command_response == "getinfo"
    assert result.message_time == datetime(2019, 7, 19, 13, 52, 52, tzinfo=UTC)  # 16c0a81c320


def test_codec14_response_carries_the_imei_before_the_text() -> None:
    result = teltonika.decode_packet(packet("AZ, Codec 14 getver"), imei=IMEI)

    assert result.command_response is not None
    assert result.command_response.startswith("Ver:03.18.14_04 GPS:AXN_5.10_3333 Hw:FMB120")


def test_codec15_message_has_time_imei_and_text() -> None:
    result = teltonika.decode_packet(packet("AZ, Codec 15"), imei=IMEI)

    assert result.command_response == "Hello!"
    assert result.message_time == datetime(2023, 11, 8, 10, 40, 36, tzinfo=UTC)  # 654b65a4


def test_codec12_binary_answer_is_kept_as_hex() -> None:
    result = teltonika.decode_packet(packet("TR, Codec 12 binary response"), imei=IMEI)

    assert result.command_response == "010300010015d5c5"


def test_codec12_camera_message_decodes_to_nothing() -> None:
    result = teltonika.decode_packet(packet("TR, Codec 12 camera message"), imei=IMEI)

    assert (result.command_response, result.reply, result.records) == (None, None, [])
    assert result.message_type == 0x0D


def test_a_zero_length_field_is_decoded_from_the_packet_bytes() -> None:
    result = teltonika.decode_packet(packet("TR, Codec 8 FM4100 with a zero length"), imei=IMEI)

    assert (result.length_mismatch, result.crc_mismatch) == (True, True)
    (fix,) = fixes(result)
    assert fix.time == datetime(2007, 7, 25, 6, 46, 38, 335_000, tzinfo=UTC)  # 113fc208dff
    assert (fix.lat, fix.lon) == (0x0F14F650 / 1e7, 0x209CCA80 / 1e7)
