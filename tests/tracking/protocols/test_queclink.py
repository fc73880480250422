"""Queclink @Track decoder, pinned with frames real units sent (``frames/queclink.txt``:
Traccar's Gl200TextProtocolDecoderTest and the GL300 protocol document's examples);
expected values worked out by hand from the layout in ``queclink``'s docstring."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ontrack.tracking.protocols import queclink
from ontrack.tracking.protocols.records import DecodeError, DeviceEvent, EventKind, Fix
from tests.tracking.protocols.frame_files import frame_starting, load_frames

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def fixes_of(frame: bytes) -> list[Fix]:
    records = queclink.decode(frame, now=NOW).records
    return [record for record in records if isinstance(record, Fix)]


def events_of(frame: bytes) -> list[tuple[EventKind, datetime]]:
    records = queclink.decode(frame, now=NOW).records
    return [(record.kind, record.time) for record in records if isinstance(record, DeviceEvent)]


def test_every_real_frame_splits_alone() -> None:
    for frame in load_frames("queclink"):
        split = queclink.split_frames(frame)
        assert split.frames == [frame], frame
        assert (split.rest, split.skipped) == (b"", 0)


def test_at_least_95_percent_of_the_real_frames_decode() -> None:
    frames = load_frames("queclink")
    failed = []
    for frame in frames:
        try:
            queclink.decode(frame, now=NOW)
        except DecodeError:
            failed.append(frame)

    assert len(failed) <= len(frames) * 0.05, failed


def test_a_gl300_fixed_report_gives_its_position_and_battery() -> None:
    frame = frame_starting("queclink", "+RESP:GTFRI,1A0401,860599000508846")
    result = queclink.decode(frame, now=NOW)

    [fix] = fixes_of(frame)
    assert result.identifier == fix.device_id == "860599000508846"
    assert fix.time == datetime(2015, 6, 23, 15, 43, 1, tzinfo=UTC)
    assert (fix.lat, fix.lon) == (39.778885, -76.671089)
    assert (fix.speed_kmh, fix.course, fix.altitude_m) == (134.8, 154.0, 278.7)
    assert fix.valid
    assert fix.attributes["hdop"] == 1.0
    assert result.battery_pct == 99


def test_a_report_with_several_fixes_gives_each() -> None:
    fixes = fixes_of(frame_starting("queclink", "+RESP:GTFRI,1A0900,860599000306845"))

    assert [fix.time.second for fix in fixes] == [3, 19, 33, 48]
    assert fixes[-1].lat == 47.68204


def test_gps_accuracy_zero_is_a_repeated_last_position_not_a_valid_fix() -> None:
    [fix] = fixes_of(frame_starting("queclink", "+RESP:GTRTL,DF0200"))

    assert not fix.valid


def test_a_report_without_a_fix_since_power_on_gives_no_position() -> None:
    result = queclink.decode(frame_starting("queclink", "+BUFF:GTFRI,2E0503"), now=NOW)

    assert result.records == []


def test_buffered_reports_are_marked() -> None:
    [fix] = fixes_of(frame_starting("queclink", "+BUFF:GTFRI,060402"))

    assert fix.attributes["buffered"]


def test_reports_are_acknowledged_with_their_count_once_durable() -> None:
    result = queclink.decode(frame_starting("queclink", "+RESP:GTFRI,1A0401"), now=NOW)

    assert result.reply == b"+SACK:0F24$"
    assert result.reply_when_durable


def test_a_heartbeat_is_answered_at_once_with_version_and_count() -> None:
    result = queclink.decode(frame_starting("queclink", "+ACK:GTHBD"), now=NOW)

    assert result.identifier == "135790246811220"
    assert result.reply == b"+SACK:GTHBD,1A0401,11F0$"
    assert not result.reply_when_durable
    assert result.records == []


def test_sos_is_an_event_at_the_fix_time() -> None:
    frame = frame_starting("queclink", "+RESP:GTSOS,020102")

    assert events_of(frame) == [(EventKind.SOS, datetime(2009, 2, 14, 1, 32, 54, tzinfo=UTC))]


@pytest.mark.parametrize(
    ("prefix", "kind"),
    [
        ("+RESP:GTPFA", EventKind.POWER_OFF),
        ("+RESP:GTPNA,F50201", EventKind.POWER_ON),
        ("+RESP:GTMPN", EventKind.CHARGER_CONNECTED),
        ("+RESP:GTBPL", EventKind.LOW_BATTERY),
        ("+BUFF:GTBPL", EventKind.LOW_BATTERY),
    ],
)
def test_alarm_messages_become_events(prefix: str, kind: EventKind) -> None:
    assert [found for found, _ in events_of(frame_starting("queclink", prefix))] == [kind]


def test_a_power_off_without_position_is_stamped_with_its_send_time() -> None:
    frame = frame_starting("queclink", "+RESP:GTPFA")

    assert events_of(frame) == [(EventKind.POWER_OFF, datetime(2019, 2, 8, 12, 48, 49, tzinfo=UTC))]


def test_state_reports_give_a_position_and_no_event() -> None:
    frame = frame_starting("queclink", "+RESP:GTSTT,1A0401")

    assert len(fixes_of(frame)) == 1
    assert events_of(frame) == []


def test_a_command_acknowledgement_is_recorded_as_the_answer() -> None:
    result = queclink.decode(frame_starting("queclink", "+ACK:GTRTO,1A0800"), now=NOW)

    assert result.command_response is not None
    assert result.command_response.startswith("GTRTO,GL300,VER")


def test_a_configuration_acknowledgement_answers_no_command() -> None:
    frame = b"+ACK:GTSRI,1A0102,135790246811220,,0001,20100310172830,11F0$"

    assert queclink.decode(frame, now=NOW).command_response is None


def test_the_oldest_firmware_puts_the_imei_first() -> None:
    result = queclink.decode(frame_starting("queclink", "+RESP:GTTRI"), now=NOW)

    assert result.identifier == "862370030005908"


def test_a_cdma_unit_is_named_by_its_meid() -> None:
    result = queclink.decode(frame_starting("queclink", "+RESP:GTRTL,210102"), now=NOW)

    assert result.identifier == "A10000499AEF9B"


def test_frames_split_from_one_stream_past_garbage_and_a_plus_inside_a_field() -> None:
    sos = frame_starting("queclink", "+RESP:GTSOS,020102")
    phone = frame_starting("queclink", "+RESP:GTLBC")  # carries +8613800000000
    beat = frame_starting("queclink", "+ACK:GTHBD")

    split = queclink.split_frames(b"xx" + sos + b"\r\n" + phone + beat + b"+RESP:GT")

    assert split.frames == [sos, phone, beat]
    assert (split.rest, split.skipped) == (b"+RESP:GT", 2)


def test_the_locate_command_uses_the_model_default_password() -> None:
    gl300 = queclink.encode_command(("1A0800",), "860599000773978", queclink.LOCATE_COMMAND)
    gv300 = queclink.encode_command(("060100",), "135790246811220", queclink.LOCATE_COMMAND)

    assert gl300 == b"AT+GTRTO=gl300,1,,,,,,FFFF$"
    assert gv300 == b"AT+GTRTO=gv300,1,,,,,,FFFF$"


def test_garbage_raises_decode_error() -> None:
    for frame in (b"+RESP:XX$", b"+RESP:GTFRI$", b"+RESP:GTFRI,zz zz$", b"\xff+ACK:GTHBD$"):
        with pytest.raises(DecodeError):
            queclink.decode(frame, now=NOW)


def test_the_encoder_round_trips() -> None:
    when = datetime(2026, 3, 1, 9, 15, 30, tzinfo=UTC)
    frame = queclink.encode_report(
        "1A0800",
        "860599000773978",
        time=when,
        lat=-41.878101,
        lon=-87.629799,
        speed_kmh=30,
        battery_pct=64,
        count=0x11F0,
    )
    result = queclink.decode(frame, now=NOW)

    [fix] = fixes_of(frame)
    assert fix.time == when
    assert fix.valid
    assert (fix.lat, fix.lon, fix.speed_kmh) == (-41.878101, -87.629799, 30.0)
    assert result.battery_pct == 64
    assert result.reply == b"+SACK:11F0$"


def test_an_encoded_sos_decodes_to_an_sos() -> None:
    when = datetime(2026, 3, 1, 9, 15, 30, tzinfo=UTC)
    frame = queclink.encode_report(
        "1A0800", "860599000773978", time=when, lat=1.0, lon=2.0, message="GTSOS"
    )

    assert events_of(frame) == [(EventKind.SOS, when)]
