"""TK103 / GPS103 decoder, pinned with frames real units sent (``frames/tk103.txt``: Traccar's
Gps103ProtocolDecoderTest); expected values worked out by hand from the layout in
``tk103``'s docstring."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ontrack.tracking.protocols import tk103
from ontrack.tracking.protocols.records import DecodeError, DeviceEvent, EventKind, Fix
from tests.tracking.protocols.frame_files import frame_starting, load_frames

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def fix_of(frame: bytes) -> Fix:
    records = tk103.decode(frame, now=NOW).records
    fixes = [record for record in records if isinstance(record, Fix)]
    assert len(fixes) == 1, f"one fix expected, got {records}"
    return fixes[0]


def events_of(frame: bytes) -> list[tuple[EventKind, datetime]]:
    records = tk103.decode(frame, now=NOW).records
    return [(record.kind, record.time) for record in records if isinstance(record, DeviceEvent)]


def test_every_real_frame_splits_alone() -> None:
    for frame in load_frames("tk103"):
        split = tk103.split_frames(frame)
        assert split.frames == [frame], frame
        assert (split.rest, split.skipped) == (b"", 0)


def test_at_least_95_percent_of_the_real_frames_decode() -> None:
    frames = load_frames("tk103")
    failed = []
    for frame in frames:
        try:
            tk103.decode(frame, now=NOW)
        except DecodeError:
            failed.append(frame)

    assert len(failed) <= len(frames) * 0.05, failed


def test_a_report_gives_its_utc_position() -> None:
    fix = fix_of(frame_starting("tk103", "imei:359710045559474"))

    assert fix.device_id == "359710045559474"
    assert fix.time == datetime(2015, 10, 30, 0, 1, 1, tzinfo=UTC)
    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 5), round(fix.lon, 5)) == (54.72306, 25.21512)
    assert fix.valid


def test_the_utc_date_is_the_day_before_when_local_midnight_has_passed() -> None:
    """Local 03:00 on the 27th, GPS 23:59:57: the fix is from the 26th in UTC."""
    fix = fix_of(frame_starting("tk103", "imei:359710049092324"))

    assert fix.time == datetime(2015, 10, 26, 23, 59, 57, tzinfo=UTC)
    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 5), round(fix.lon, 5)) == (24.49193, 44.40971)


def test_a_slashed_local_date_is_read() -> None:
    fix = fix_of(frame_starting("tk103", "imei:359710040656622"))

    assert fix.time == datetime(2013, 2, 27, 12, 59, 52, tzinfo=UTC)
    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 5), round(fix.lon, 5)) == (-34.84905, 138.47792)


def test_speed_is_converted_from_knots_and_course_kept() -> None:
    fix = fix_of(frame_starting("tk103", "imei:863070010423167,tracker,1211060621"))

    assert fix.speed_kmh == pytest.approx(15.85 * 1.852)
    assert fix.course == 347.84


def test_western_longitudes_are_negative() -> None:
    fix = fix_of(frame_starting("tk103", "imei:012497000208821,tracker,1301080525"))

    assert (fix.lat, fix.lon) == pytest.approx((-22.475465, -68.927213), abs=1e-6)


@pytest.mark.parametrize(
    ("keyword", "kind"),
    [
        ("help me", EventKind.SOS),
        ("low battery", EventKind.LOW_BATTERY),
        ("move", EventKind.MOVEMENT),
        ("speed", EventKind.OVERSPEED),
        ("stockade", EventKind.UNKNOWN_ALARM),
    ],
)
def test_alarm_keywords_become_events_at_the_fix_time(keyword: str, kind: EventKind) -> None:
    frame = frame_starting("tk103", f"imei:359586015829802,{keyword},")

    assert events_of(frame) == [(kind, datetime(2008, 9, 23, 6, 29, 47, tzinfo=UTC))]


def test_ac_alarm_is_a_power_cut() -> None:
    frame = frame_starting("tk103", "imei:862106021237716,ac alarm")

    assert [kind for kind, _ in events_of(frame)] == [EventKind.EXTERNAL_POWER_CUT]


def test_an_sos_without_gps_is_still_an_sos_stamped_on_arrival() -> None:
    frame = frame_starting("tk103", "imei:359710049075097,help me")

    assert events_of(frame) == [(EventKind.SOS, NOW)]


def test_a_report_without_gps_and_without_alarm_gives_nothing() -> None:
    result = tk103.decode(frame_starting("tk103", "imei:863070016871385"), now=NOW)

    assert result.records == []
    assert result.supported


def test_a_login_is_answered_load_at_once() -> None:
    result = tk103.decode(frame_starting("tk103", "##,imei:359586015829802"), now=NOW)

    assert (result.identifier, result.reply) == ("359586015829802", b"LOAD")
    assert not result.reply_when_durable
    assert result.records == []


def test_a_heartbeat_is_answered_on_at_once() -> None:
    result = tk103.decode(frame_starting("tk103", "359586015829802;"), now=NOW)

    assert (result.identifier, result.reply) == ("359586015829802", b"ON")


def test_a_heartbeat_glued_to_a_report_names_the_report_imei() -> None:
    fix = fix_of(frame_starting("tk103", "359769031878322imei"))

    assert fix.device_id == "359769031878322"
    assert fix.time == datetime(2016, 2, 15, 22, 18, 11, tzinfo=UTC)


def test_obd_reports_are_not_supported() -> None:
    result = tk103.decode(frame_starting("tk103", "imei:868683027758113,OBD"), now=NOW)

    assert result.records == []
    assert not result.supported


def test_frames_split_on_semicolons_and_line_ends() -> None:
    login = frame_starting("tk103", "##,imei:359586015829802")
    report = frame_starting("tk103", "imei:359710045559474")

    split = tk103.split_frames(login + b"\r\n" + report + b"359586015829802\n" + b"imei:35")

    assert split.frames == [login, report, b"359586015829802\n"]
    assert (split.rest, split.skipped) == (b"imei:35", 0)


def test_the_single_locate_command() -> None:
    assert tk103.encode_command((), "359586015829802", tk103.LOCATE_COMMAND) == (
        b"**,imei:359586015829802,B;"
    )


def test_garbage_raises_decode_error() -> None:
    with pytest.raises(DecodeError):
        tk103.decode(b"hello;", now=NOW)


def test_the_encoder_round_trips() -> None:
    when = datetime(2026, 3, 1, 9, 15, 30, tzinfo=UTC)
    frame = tk103.encode_report(
        "359586015829802", time=when, lat=-41.878101, lon=-87.629799, speed_kmh=30
    )

    fix = fix_of(frame)

    assert fix.time == when
    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 5), round(fix.lon, 5)) == (-41.8781, -87.6298)
    assert fix.speed_kmh == pytest.approx(30, abs=0.01)
