"""Suntech decoder, pinned with reports real units sent (``frames/suntech.txt``: Traccar's
SuntechProtocolDecoderTest); expected values worked out by hand from the layout in
``suntech``'s docstring and the ST300/340 operation manual."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ontrack.tracking.protocols import suntech
from ontrack.tracking.protocols.records import DecodeError, DeviceEvent, EventKind, Fix
from tests.tracking.protocols.frame_files import frame_starting, load_frames

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def fix_of(frame: bytes, **options: int) -> Fix:
    records = suntech.decode(frame, now=NOW, **options).records
    fixes = [record for record in records if isinstance(record, Fix)]
    assert len(fixes) == 1, f"one fix expected, got {records}"
    return fixes[0]


def events_of(frame: bytes) -> list[DeviceEvent]:
    records = suntech.decode(frame, now=NOW).records
    return [record for record in records if isinstance(record, DeviceEvent)]


def test_at_least_95_percent_of_the_real_reports_give_a_fix() -> None:
    frames = [frame for frame in load_frames("suntech") if b"ALV;" not in frame]
    fixes = [frame for frame in frames if any(isinstance(record, Fix) for record in
             suntech.decode(frame, now=NOW).records)]  # fmt: skip

    assert len(fixes) >= 0.95 * len(frames), f"{len(fixes)} of {len(frames)}"


def test_every_real_report_splits_alone_at_its_line_end() -> None:
    for frame in load_frames("suntech"):
        assert suntech.split_frames(frame + b"\r") == ([frame], b"", 0), frame


def test_a_legacy_status_report_gives_its_position_time_and_motion() -> None:
    fix = fix_of(frame_starting("suntech", "ST300STT;007238270"))

    assert fix.device_id == "007238270"
    assert fix.time == datetime(2019, 2, 20, 12, 5, 4, tzinfo=UTC)
    assert (fix.lat, fix.lon) == (4.644623, -74.076922)
    assert (fix.speed_kmh, fix.course, fix.satellites) == (10.39, 202.77, 20)
    assert fix.valid
    assert fix.attributes["ignition"] is True
    assert fix.attributes["power_v"] == 14.10


def test_the_time_is_shifted_by_the_devices_clock_offset() -> None:
    fix = fix_of(frame_starting("suntech", "ST300STT;007238270"), time_offset_minutes=-300)

    assert fix.time == datetime(2019, 2, 20, 17, 5, 4, tzinfo=UTC)


def test_a_report_without_a_fix_is_kept_as_an_invalid_fix() -> None:
    fix = fix_of(frame_starting("suntech", "ST300STT;205027329"))

    assert not fix.valid


@pytest.mark.parametrize(
    ("prefix", "lat", "lon"),
    [
        ("SA200STT;317652;042;20120718", -15.618755, -56.083241),  # no model field
        ("ST500STT", 19.338432, -99.179817),  # no cell field
        ("ST600STT;008594432", 19.337897, -99.064489),  # cell block of five
        ("ST410STT;007638094", -15.57186, -56.062637),  # cells before the date
        ("STT;100850000", 37.479323, 126.887827),  # universal
        ("ST910;Location;907510186", 19.301833, -99.190657),  # ST910 with a cell
    ],
)
def test_every_family_layout_is_read(prefix: str, lat: float, lon: float) -> None:
    fix = fix_of(frame_starting("suntech", prefix))

    assert (fix.lat, fix.lon) == (lat, lon)


def test_an_emergency_panic_is_an_sos() -> None:
    events = events_of(frame_starting("suntech", "SA200EMG"))

    assert [(event.kind, event.raw_code) for event in events] == [
        (EventKind.SOS, "suntech:emg:1:panic")
    ]
    assert events[0].time == datetime(2012, 7, 18, 15, 35, 41, tzinfo=UTC)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (1, EventKind.SOS),
        (3, EventKind.EXTERNAL_POWER_CUT),
        (4, EventKind.UNKNOWN_ALARM),
    ],
)
def test_emergency_ids_are_mapped_and_none_is_lost(code: int, kind: EventKind) -> None:
    frame = frame_starting("suntech", "SA200EMG")[:-1] + str(code).encode()

    assert [event.kind for event in events_of(frame)] == [kind]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (41, EventKind.EXTERNAL_POWER_CUT),
        (40, EventKind.CHARGER_CONNECTED),
        (14, EventKind.EXTERNAL_POWER_LOW),
        (1, EventKind.OVERSPEED),
    ],
)
def test_alert_ids_are_mapped(code: int, kind: EventKind) -> None:
    frame = frame_starting("suntech", "ST300ALT;007239104").replace(
        b";100000;33;", f";100000;{code};".encode()
    )

    assert [event.kind for event in events_of(frame)] == [kind]


def test_an_alert_without_an_alarm_meaning_is_kept_on_the_fix_only() -> None:
    frame = frame_starting("suntech", "ST300ALT;007239104")

    assert events_of(frame) == []
    assert fix_of(frame).attributes["alt_id"] == 33


def test_a_universal_alert_id_follows_the_input_and_output_states() -> None:
    frame = frame_starting("suntech", "ALT;0520000295")

    assert fix_of(frame).attributes["alt_id"] == 9


def test_an_st910_emergency_is_its_sos_button() -> None:
    events = events_of(frame_starting("suntech", "ST910;Emergency;238569"))

    assert [event.kind for event in events] == [EventKind.SOS]


def test_an_emergency_whose_fields_are_junk_is_still_an_alarm_stamped_now() -> None:
    records = suntech.decode(b"ST300EMG;205027329;03;374;junk;1", now=NOW).records

    assert [(type(r).__name__, r.time) for r in records] == [("DeviceEvent", NOW)]


def test_a_keep_alive_decodes_to_nothing() -> None:
    result = suntech.decode(frame_starting("suntech", "SA200ALV"), now=NOW)

    assert (result.identifier, result.records, result.supported) == ("317652", [], True)


def test_a_command_answer_is_kept_with_the_device_id() -> None:
    result = suntech.decode(b"ST300CMD;Res;100850000;010;Reboot", now=NOW)

    assert result.identifier == "100850000"
    assert result.command_response == "010;Reboot"


def test_the_status_request_is_framed_with_the_units_family() -> None:
    result = suntech.decode(frame_starting("suntech", "ST600STT;008594432"), now=NOW)

    assert suntech.encode_command(result.header, "008594432", "StatusReq") == (
        b"ST600CMD;008594432;02;StatusReq\r"
    )


def test_an_encoded_report_decodes_to_what_was_encoded() -> None:
    frame = suntech.encode_report("205027329", time=NOW, lat=-33.5, lon=151.25, kind="EMG")
    split = suntech.split_frames(frame)

    assert split.frames == [frame[:-1]]
    fix = fix_of(frame)
    assert (fix.time, fix.lat, fix.lon) == (NOW, -33.5, 151.25)
    assert [event.kind for event in events_of(frame)] == [EventKind.SOS]


def test_an_incomplete_report_waits_for_its_line_end() -> None:
    frame = frame_starting("suntech", "ST300STT;007238270")

    assert suntech.split_frames(frame[:40]) == ([], frame[:40], 0)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"HELLO", "truncated"),
        (b"ST300STT;12a;04", "bad_id"),
        (b"ST300STT;205027329;03;374", "no_time"),
        (b"STT;100850000;3F;26", "unsupported_mask"),
        (b"\xff\xfe;1", "not_ascii"),
    ],
)
def test_bad_reports_raise_decode_errors(frame: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as raised:
        suntech.decode(frame, now=NOW)

    assert raised.value.reason == reason
