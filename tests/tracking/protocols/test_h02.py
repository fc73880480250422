"""H02 decoder, pinned with frames real units sent (``frames/h02.txt``: Traccar's
H02ProtocolDecoderTest); expected values worked out by hand from the layout in ``h02``'s
docstring."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ontrack.tracking.protocols import h02
from ontrack.tracking.protocols.records import DecodeError, DeviceEvent, EventKind, Fix
from tests.tracking.protocols.frame_files import frame_starting, load_frames

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def fix_of(frame: bytes, **options: int) -> Fix:
    records = h02.decode(frame, now=NOW, **options).records
    fixes = [record for record in records if isinstance(record, Fix)]
    assert len(fixes) == 1, f"one fix expected, got {records}"
    return fixes[0]


def events_of(frame: bytes) -> list[EventKind]:
    records = h02.decode(frame, now=NOW).records
    return [record.kind for record in records if isinstance(record, DeviceEvent)]


def test_every_real_frame_splits_alone_and_decodes() -> None:
    for frame in load_frames("h02"):
        split = h02.split_frames(frame)
        assert split.frames == [frame], frame
        assert (split.rest, split.skipped) == (b"", 0)
        result = h02.decode(frame, now=NOW)
        assert result.identifier.isdigit()


def test_a_v1_frame_gives_its_position_time_and_speed() -> None:
    fix = fix_of(frame_starting("h02", "*HQ,4210051415,V1"))

    assert fix.device_id == "4210051415"
    assert fix.time == datetime(2015, 12, 22, 16, 45, 49, tzinfo=UTC)
    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 5), round(fix.lon, 5)) == (9.93978, -84.11178)
    assert fix.valid
    assert fix.speed_kmh == 0.0
    assert fix.attributes["status"] == "FFFFFBFF"


def test_speed_is_converted_from_knots() -> None:
    fix = fix_of(frame_starting("h02", "*HQ,353588020068342,V1,084436"))

    assert fix.speed_kmh == pytest.approx(57.78 * 1.852)
    assert fix.course == 40.0


def test_an_empty_validity_field_is_not_a_valid_fix() -> None:
    fix = fix_of(frame_starting("h02", "*HQ,355488020119695"))

    assert not fix.valid
    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 5), round(fix.lon, 5)) == (28.46021, 77.06414)


@pytest.mark.parametrize(
    ("prefix", "lat", "lon"),
    [
        ("*HQ,1451316409", -23.48349, -46.85975),  # -dd-mm.mmmm
        ("*HQ,5905101893", -37.95565, 145.06170),  # ddmmmmmm without a point
        ("*HQ,354188045498669", -7.03153, -34.83900),  # one-digit degrees
        ("*HQ,353588020068342,V1,062840", 52.68541, 9.91582),  # two-digit longitude
    ],
)
def test_every_coordinate_notation_is_read(prefix: str, lat: float, lon: float) -> None:
    fix = fix_of(frame_starting("h02", prefix))

    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 5), round(fix.lon, 5)) == (lat, lon)


def test_a_battery_field_before_the_date_is_read_as_a_level() -> None:
    fix = fix_of(frame_starting("h02", "*HQ,4210209006"))

    assert fix.time == datetime(2018, 9, 8, 5, 40, 48, tzinfo=UTC)
    assert fix.battery_pct == 60  # level 4 of 6


def test_a_cleared_status_bit_19_is_a_power_cut() -> None:
    assert events_of(frame_starting("h02", "*HQ,4210209006")) == [EventKind.EXTERNAL_POWER_CUT]


def test_an_all_ones_status_raises_no_alarm() -> None:
    assert events_of(frame_starting("h02", "*HQ,4210051415")) == []


def test_a_cleared_status_bit_1_is_an_sos() -> None:
    """Binary frame, status FFFFFBFD."""
    frame = frame_starting("h02", "2441060008")

    assert events_of(frame) == [EventKind.SOS]


def test_a_binary_frame_gives_its_position() -> None:
    fix = fix_of(frame_starting("h02", "2441060008"))

    assert fix.device_id == "4106000826"
    assert fix.time == datetime(2015, 8, 31, 21, 53, 21, tzinfo=UTC)
    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 5), round(fix.lon, 5)) == (4.69898, -74.06972)
    assert fix.valid
    assert fix.battery_pct == 100


def test_a_short_binary_frame_in_the_southern_hemisphere() -> None:
    fix = fix_of(frame_starting("h02", "2427051711"))

    assert fix.time == datetime(2013, 6, 14, 21, 33, 39, tzinfo=UTC)
    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 5), round(fix.lon, 5)) == (50.04308, 14.56304)


def test_binary_frames_of_both_lengths_split_from_one_stream() -> None:
    long = frame_starting("h02", "2441060008")
    short = frame_starting("h02", "2441060116")
    text = frame_starting("h02", "*HQ,4210051415")

    split = h02.split_frames(long + short + b"\r\n" + text + long)

    assert split.frames == [long, short, text, long]
    assert split.skipped == 0


def test_a_v1_frame_is_answered_with_the_time_after_durable() -> None:
    result = h02.decode(frame_starting("h02", "*HQ,4210051415"), now=NOW)

    assert result.reply == b"*HQ,4210051415,V4,V1,20260301120000#"
    assert result.reply_when_durable


def test_a_link_keepalive_gives_its_battery_and_no_position() -> None:
    result = h02.decode(frame_starting("h02", "*HQ,1700086468,LINK"), now=NOW)

    assert result.records == []
    assert result.reply is None
    assert result.battery_pct == 84


def test_cell_only_frames_decode_to_nothing() -> None:
    for prefix in ("*HQ,1600068860,NBR", "*HQ,355488020882405,V3", "*HQ,4109198974,#"):
        result = h02.decode(frame_starting("h02", prefix), now=NOW)
        assert result.records == []
        assert not result.supported


def test_the_device_clock_offset_is_subtracted() -> None:
    fix = fix_of(frame_starting("h02", "*HQ,4210051415"), time_offset_minutes=480)

    assert fix.time == datetime(2015, 12, 22, 8, 45, 49, tzinfo=UTC)


def test_a_zeroed_frame_without_alarm_is_refused() -> None:
    frame = b"*HQ,353588020068342,V1,000000,V,0.0000,0,0.0000,0,0.00,0.00,000000,ffffffff#"

    with pytest.raises(DecodeError) as caught:
        h02.decode(frame, now=NOW)
    assert caught.value.reason == "bad_time"


def test_an_sos_without_a_usable_position_is_still_an_sos() -> None:
    frame = b"*HQ,353588020068342,V1,000000,V,0.0000,0,0.0000,0,0.00,0.00,000000,fffffffd#"

    records = h02.decode(frame, now=NOW).records

    assert [(r.kind, r.time) for r in records if isinstance(r, DeviceEvent)] == [
        (EventKind.SOS, NOW)
    ]


def test_the_encoder_round_trips() -> None:
    when = datetime(2026, 3, 1, 9, 15, 30, tzinfo=UTC)
    frame = h02.encode_v1("4210051415", time=when, lat=41.878101, lon=-87.629799, speed_kmh=30)

    fix = fix_of(frame)

    assert fix.time == when
    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 5), round(fix.lon, 5)) == (41.8781, -87.6298)
    assert fix.speed_kmh == pytest.approx(30, abs=0.01)
