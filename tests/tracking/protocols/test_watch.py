"""Watch / 3G decoder, pinned with frames real watches sent (``frames/watch.txt``: Traccar's
WatchProtocolDecoderTest and the vendor's published protocol); expected values worked out
by hand from the layout in ``watch``'s docstring."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ontrack.tracking.protocols import watch
from ontrack.tracking.protocols.records import DecodeError, DeviceEvent, EventKind, Fix
from tests.tracking.protocols.frame_files import frame_starting, load_frames

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def fix_of(frame: bytes, **options: int) -> Fix:
    records = watch.decode(frame, now=NOW, **options).records
    fixes = [record for record in records if isinstance(record, Fix)]
    assert len(fixes) == 1, f"one fix expected, got {records}"
    return fixes[0]


def events_of(frame: bytes) -> list[EventKind]:
    records = watch.decode(frame, now=NOW).records
    return [record.kind for record in records if isinstance(record, DeviceEvent)]


def test_every_real_frame_splits_alone_and_decodes() -> None:
    for frame in load_frames("watch"):
        split = watch.split_frames(frame)
        assert split.frames == [frame], frame
        assert (split.rest, split.skipped) == (b"", 0)
        assert watch.decode(frame, now=NOW).identifier.isdigit()


def test_a_link_keepalive_is_answered_lk_at_once() -> None:
    result = watch.decode(frame_starting("watch", "[SG*8800000015*0002*LK]"), now=NOW)

    assert result.reply == b"[SG*8800000015*0002*LK]"
    assert not result.reply_when_durable
    assert result.records == []


def test_the_answer_uses_the_vendor_code_the_watch_used() -> None:
    result = watch.decode(frame_starting("watch", "[3G*8800000015*000D*LK"), now=NOW)

    assert result.reply == b"[3G*8800000015*0002*LK]"
    assert result.battery_pct == 100


def test_a_ud_frame_gives_position_time_battery() -> None:
    fix = fix_of(frame_starting("watch", "[SG*8800000015*0087*UD"))

    assert fix.device_id == "8800000015"
    assert fix.time == datetime(2014, 4, 22, 13, 46, 52, tzinfo=UTC)
    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 5), round(fix.lon, 5)) == (22.57171, 113.86140)
    assert fix.valid
    assert fix.satellites == 7
    assert fix.altitude_m == 100.0
    assert fix.battery_pct == 90
    assert fix.attributes["gsm_signal"] == 60


def test_a_western_longitude_is_negative() -> None:
    fix = fix_of(frame_starting("watch", "[SG*9059056143"))

    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 5), round(fix.lon, 5)) == (41.465, -81.53128)


def test_a_minus_sign_makes_a_coordinate_negative_whatever_the_letter() -> None:
    fix = fix_of(frame_starting("watch", "[3G*6105117105"))

    assert fix.lat is not None
    assert fix.lon is not None
    assert (round(fix.lat, 5), round(fix.lon, 5)) == (-33.48037, -70.76307)
    assert not fix.valid


def test_padded_fields_and_an_empty_hemisphere_are_read() -> None:
    padded = fix_of(frame_starting("watch", "[3G*4700222306")).lon
    no_hemisphere = fix_of(frame_starting("watch", "[SG*9051000884")).lon
    assert padded is not None
    assert no_hemisphere is not None
    assert round(padded, 5) == 9.15747
    assert round(no_hemisphere, 5) == 0.36951


def test_a_miscounted_length_field_does_not_lose_the_frame() -> None:
    """``009B`` = 155, but the content is 158 bytes long: the watch miscounted."""
    frame = frame_starting("watch", "[SG*9051000884")

    assert watch.split_frames(frame + frame).frames == [frame, frame]


def test_an_sos_alarm_is_answered_al_once_durable() -> None:
    frame = frame_starting("watch", "[3G*8809008845")

    result = watch.decode(frame, now=NOW)

    assert result.reply == b"[3G*8809008845*0002*AL]"
    assert result.reply_when_durable
    assert events_of(frame) == [EventKind.SOS]


def test_status_bit_20_is_the_watch_taken_off() -> None:
    assert events_of(frame_starting("watch", "[ZJ*014111001332708")) == [EventKind.DEVICE_REMOVED]


def test_status_bit_21_is_a_fall() -> None:
    assert events_of(frame_starting("watch", "[3G*8308373902")) == [EventKind.FALL]


def test_the_zj_variant_is_answered_with_its_index() -> None:
    result = watch.decode(frame_starting("watch", "[ZJ*014111001332708"), now=NOW)

    assert result.reply == b"[ZJ*014111001332708*0075*0002*AL]"
    assert result.header == ("ZJ", "0075")


def test_a_voice_poll_is_answered_with_its_own_word() -> None:
    result = watch.decode(frame_starting("watch", "[3G*8800000015*0003*TKQ]"), now=NOW)

    assert result.reply == b"[3G*8800000015*0003*TKQ]"


def test_health_readings_decode_to_nothing() -> None:
    for prefix in ("[CS*8800000015*0008*PULSE", "[3G*6005412902*0008*heart"):
        result = watch.decode(frame_starting("watch", prefix), now=NOW)
        assert result.records == []
        assert result.reply is None
        assert not result.supported


def test_the_locate_command_and_its_acknowledgement() -> None:
    command = watch.encode_command(("3G",), "8800000015", watch.LOCATE_COMMAND)

    assert command == b"[3G*8800000015*0002*CR]"
    assert watch.decode(command, now=NOW).command_response == "CR"


def test_an_alarm_with_a_zeroed_date_is_stamped_now() -> None:
    frame = watch.encode_frame(
        "SG", "8800000015", "AL,000000,000000,V,0,N,0,E,0,0,0,0,100,50,0,0,00010000,0,0"
    )

    records = watch.decode(frame, now=NOW).records

    assert [(r.kind, r.time) for r in records if isinstance(r, DeviceEvent)] == [
        (EventKind.SOS, NOW)
    ]


def test_a_location_with_a_zeroed_date_is_refused() -> None:
    frame = watch.encode_frame(
        "SG", "8800000015", "UD,000000,000000,V,0,N,0,E,0,0,0,0,100,50,0,0,00000000,0,0"
    )

    with pytest.raises(DecodeError) as caught:
        watch.decode(frame, now=NOW)
    assert caught.value.reason == "bad_time"


def test_frames_cut_anywhere_are_reassembled() -> None:
    stream = b"".join(load_frames("watch"))
    for cut in range(0, len(stream), 7):
        first = watch.split_frames(stream[:cut])
        second = watch.split_frames(first.rest + stream[cut:])
        assert first.frames + second.frames == load_frames("watch")


def test_the_encoder_round_trips() -> None:
    when = datetime(2026, 3, 1, 9, 15, 30, tzinfo=UTC)
    frame = watch.encode_position("SG", "8800000015", time=when, lat=41.8781, lon=-87.6298,
                                  battery_pct=42)  # fmt: skip

    fix = fix_of(frame)

    assert fix.time == when
    assert fix.battery_pct == 42
    assert (fix.lat, fix.lon) == (41.8781, -87.6298)
