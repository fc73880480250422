"""Meitrack decoder, pinned with frames real units sent (``frames/meitrack.txt``: Traccar's
MeitrackProtocolDecoderTest and the vendor's protocol examples); expected values worked out by
hand from the layout in ``meitrack``'s docstring."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from ontrack.tracking.protocols import meitrack
from ontrack.tracking.protocols.records import DecodeError, DeviceEvent, EventKind, Fix
from tests.tracking.protocols.frame_files import frame_starting, load_frames

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
CRLF = b"\r\n"


def fix_of(frame: bytes, **options: int) -> Fix:
    records = meitrack.decode(frame, now=NOW, **options).records
    fixes = [record for record in records if isinstance(record, Fix)]
    assert len(fixes) == 1, f"one fix expected, got {records}"
    return fixes[0]


def events_of(frame: bytes) -> list[EventKind]:
    records = meitrack.decode(frame, now=NOW).records
    return [record.kind for record in records if isinstance(record, DeviceEvent)]


def test_at_least_95_percent_of_the_real_position_frames_give_a_fix() -> None:
    frames = [frame for frame in load_frames("meitrack") if b",AAA," in frame]
    fixes = [frame for frame in frames if any(isinstance(record, Fix) for record in
             meitrack.decode(frame, now=NOW).records)]  # fmt: skip

    assert len(fixes) >= 0.95 * len(frames), f"{len(fixes)} of {len(frames)}"


def test_every_real_frame_in_a_stream_is_cut_out_whole() -> None:
    """Even the two whose length field miscounts end at their ``*XX\\r\\n`` (one that
    counts too long waits for the next frame's bytes before it is cut)."""
    frames = load_frames("meitrack")
    for frame, after in itertools.pairwise(frames):
        split = meitrack.split_frames(frame + CRLF + after + CRLF + frame + CRLF)
        assert split.frames[:2] == [frame + CRLF, after + CRLF], frame
        assert split.skipped == 0


def test_a_scheduled_report_gives_its_position_time_and_motion() -> None:
    fix = fix_of(frame_starting("meitrack", "$$D149"))

    assert fix.device_id == "867047043162018"
    assert fix.time == datetime(2021, 10, 1, 10, 52, 40, tzinfo=UTC)
    assert (fix.lat, fix.lon) == (-1.264865, 36.800705)
    assert fix.valid
    assert fix.satellites == 9
    assert (fix.speed_kmh, fix.course, fix.altitude_m) == (41.0, 323.0, 1697.0)
    assert fix.attributes["event"] == 35
    assert fix.attributes["hdop"] == 1.0


def test_the_time_is_shifted_by_the_devices_clock_offset() -> None:
    fix = fix_of(frame_starting("meitrack", "$$D149"), time_offset_minutes=180)

    assert fix.time == datetime(2021, 10, 1, 7, 52, 40, tzinfo=UTC)


def test_a_v_report_is_kept_as_an_invalid_fix() -> None:
    fix = fix_of(frame_starting("meitrack", "$$F153,867144025101013"))

    assert not fix.valid
    assert fix.satellites == 0


def test_a_negative_altitude_is_read() -> None:
    fix = fix_of(frame_starting("meitrack", "$$Q128"))

    assert fix.altitude_m == -14.0
    assert fix.attributes["event"] == 34


@pytest.mark.parametrize("prefix", ["$$T143", "$$m140", "$$G127"])
def test_event_1_is_an_sos(prefix: str) -> None:
    assert events_of(frame_starting("meitrack", prefix)) == [EventKind.SOS]


def test_the_sos_carries_the_position_and_its_raw_code() -> None:
    records = meitrack.decode(frame_starting("meitrack", "$$G127"), now=NOW).records
    event = next(record for record in records if isinstance(record, DeviceEvent))

    assert event.raw_code == "meitrack:event:1:sos"
    assert event.time == datetime(2010, 3, 13, 9, 56, 53, tzinfo=UTC)
    assert event.attributes == {"lat": 22.538169, "lon": 114.075958}


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (17, EventKind.LOW_BATTERY),
        (18, EventKind.EXTERNAL_POWER_LOW),
        (22, EventKind.CHARGER_CONNECTED),
        (23, EventKind.EXTERNAL_POWER_CUT),
        (36, EventKind.MOVEMENT),
    ],
)
def test_alarm_event_codes_are_mapped(code: int, kind: EventKind) -> None:
    frame = frame_starting("meitrack", "$$W129").replace(b",AAA,35,", f",AAA,{code},".encode())

    assert events_of(frame) == [kind]


def test_a_report_without_alarm_raises_no_event() -> None:
    assert events_of(frame_starting("meitrack", "$$W129")) == []


def test_an_sos_whose_time_is_junk_is_still_an_sos_stamped_now() -> None:
    frame = frame_starting("meitrack", "$$G127").replace(b"100313095653", b"000000000000")
    records = meitrack.decode(frame, now=NOW).records

    assert [(type(r).__name__, r.time) for r in records] == [("DeviceEvent", NOW)]


def test_a_checksum_mismatch_is_decoded_and_flagged() -> None:
    result = meitrack.decode(frame_starting("meitrack", "$$V177"), now=NOW)

    assert result.crc_mismatch
    assert isinstance(result.records[0], Fix)
    assert not meitrack.decode(frame_starting("meitrack", "$$D149"), now=NOW).crc_mismatch


def test_an_aff_report_is_read_like_an_aaa() -> None:
    fix = fix_of(frame_starting("meitrack", "$$J163"))

    assert (fix.lat, fix.lon) == (58.588926, 16.180473)


def test_a_command_answer_is_kept_as_the_answer() -> None:
    result = meitrack.decode(frame_starting("meitrack", "$$D28"), now=NOW)

    assert result.command_response == "D03,OK"
    assert result.records == []


def test_the_locate_command_is_framed_as_in_the_manual() -> None:
    assert meitrack.encode_command((), "353358017784062", "A10") == (
        b"@@Q25,353358017784062,A10*6A\r\n"
    )


def test_an_encoded_report_decodes_to_what_was_encoded() -> None:
    frame = meitrack.encode_aaa("863835026871173", time=NOW, lat=-33.5, lon=151.25, event=1)
    split = meitrack.split_frames(frame)
    result = meitrack.decode(frame, now=NOW)

    assert split.frames == [frame]
    assert not result.crc_mismatch
    assert fix_of(frame).time == NOW
    assert events_of(frame) == [EventKind.SOS]


def test_an_incomplete_frame_waits_for_the_rest() -> None:
    frame = frame_starting("meitrack", "$$D149") + CRLF

    assert meitrack.split_frames(frame[:50]) == ([], frame[:50], 0)
    assert meitrack.split_frames(frame[:3]) == ([], frame[:3], 0)


def test_garbage_before_a_frame_is_skipped_and_counted() -> None:
    frame = frame_starting("meitrack", "$$D149") + CRLF

    assert meitrack.split_frames(b"xyz$" + frame) == ([frame], b"", 4)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"$$A20,12345,AAA,35,1,2,*00", "truncated"),
        (b"$$A20,12a45,AAA*00", "bad_id"),
        (b"$$A20,12345,AAA,35", "bad_frame"),
        (b"@@A20,12345,A10*00", "bad_frame"),
    ],
)
def test_bad_frames_raise_decode_errors(frame: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as raised:
        meitrack.decode(frame, now=NOW)

    assert raised.value.reason == reason
