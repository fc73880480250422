"""Stops and gaps of a day's track, from hand-built reports (no database)."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import given
from hypothesis import strategies as st

from ontrack.tracking.stops import MIN_DWELL, Gap, GapKind, Report, speed_at, track_shape

DAY = dt.datetime(2026, 12, 5, 14, 0, tzinfo=dt.UTC)
HOME = (40.7357, -74.1724)
COURT = (40.7336, -74.1711)  # about 260 m from HOME
NEAR_HOME = (40.7360, -74.1724)  # about 33 m from HOME


def at(minute: float, place: tuple[float, float], speed_kmh: float | None = None) -> Report:
    return Report(DAY + dt.timedelta(minutes=minute), place[0], place[1], speed_kmh=speed_kmh)


def no_fix(minute: float) -> Report:
    return Report(DAY + dt.timedelta(minutes=minute), None, None, valid=False)


def minutes(m: float) -> dt.datetime:
    return DAY + dt.timedelta(minutes=m)


def test_an_empty_day_has_no_segment_gap_or_stop() -> None:
    shape = track_shape([])
    assert (shape.segments, shape.gaps, shape.stops) == ([], [], [])


def test_a_single_fix_is_one_segment_and_no_stop() -> None:
    shape = track_shape([at(0, HOME)])
    assert [len(s) for s in shape.segments] == [1]
    assert shape.stops == []
    assert shape.gaps == []


def test_a_dwell_of_five_minutes_within_the_radius_is_a_stop_with_its_times() -> None:
    reports = [
        at(0, COURT),
        *(at(m, HOME if m % 2 else NEAR_HOME) for m in range(1, 8)),
        at(9, COURT),
    ]
    (stop,) = track_shape(reports).stops
    assert (stop.start, stop.end) == (minutes(1), minutes(7))
    assert stop.duration == dt.timedelta(minutes=6)
    assert stop.fixes == 7
    assert abs(stop.lat - HOME[0]) < 0.001


def test_a_dwell_shorter_than_the_minimum_is_no_stop() -> None:
    reports = [at(0, COURT), *(at(m, HOME) for m in range(1, 5)), at(6, COURT)]
    assert track_shape(reports).stops == []


def test_the_minimum_dwell_and_radius_are_the_callers() -> None:
    reports = [at(0, COURT), *(at(m, HOME) for m in range(1, 4)), at(5, COURT)]
    assert track_shape(reports, min_dwell=dt.timedelta(minutes=2)) != track_shape(reports)
    (stop,) = track_shape(reports, min_dwell=dt.timedelta(minutes=2)).stops
    assert (stop.start, stop.end) == (minutes(1), minutes(3))
    # With a radius wider than HOME to COURT, the whole track is one place.
    (wide,) = track_shape(reports, radius_m=500).stops
    assert (wide.start, wide.end) == (minutes(0), minutes(5))


def test_a_stop_still_going_at_the_end_of_the_day_ends_at_its_last_fix() -> None:
    reports = [at(0, COURT), *(at(m, HOME) for m in range(10, 21))]
    (stop,) = track_shape(reports).stops
    assert (stop.start, stop.end) == (minutes(10), minutes(20))


def test_reports_without_a_fix_break_the_track_into_segments_with_a_no_fix_gap() -> None:
    reports = [at(0, COURT), at(1, COURT), no_fix(2), no_fix(3), at(4, HOME)]
    shape = track_shape(reports)
    assert [len(s) for s in shape.segments] == [2, 1]
    assert shape.gaps == [Gap(minutes(1), minutes(4), GapKind.NO_FIX)]


def test_a_stop_never_spans_a_period_without_a_fix() -> None:
    reports = [*(at(m, HOME) for m in range(0, 4)), no_fix(5), *(at(m, HOME) for m in range(6, 9))]
    assert track_shape(reports).stops == []


def test_a_silence_longer_than_the_threshold_is_a_gap_and_shorter_is_not() -> None:
    reports = [at(0, COURT), at(10, HOME), at(40, HOME)]
    shape = track_shape(reports, silence_after=dt.timedelta(minutes=15))
    assert shape.gaps == [Gap(minutes(10), minutes(40), GapKind.SILENCE)]
    assert [len(s) for s in shape.segments] == [2, 1]
    # Neither side of the silence lasts five minutes, and the stop does not span it.
    assert shape.stops == []


def test_reports_without_a_fix_at_the_start_and_end_of_the_day_are_gaps_of_their_own() -> None:
    reports = [no_fix(0), no_fix(1), at(2, HOME), at(3, HOME), no_fix(4), no_fix(9)]
    shape = track_shape(reports)
    assert shape.gaps == [
        Gap(minutes(0), minutes(2), GapKind.NO_FIX),
        Gap(minutes(3), minutes(9), GapKind.NO_FIX),
    ]
    assert [len(s) for s in shape.segments] == [2]


def test_a_day_of_reports_without_a_fix_is_one_gap_and_nothing_to_draw() -> None:
    shape = track_shape([no_fix(0), no_fix(30)])
    assert shape.segments == []
    assert shape.gaps == [Gap(minutes(0), minutes(30), GapKind.NO_FIX)]


def test_an_invalid_report_with_coordinates_is_no_place_the_person_was() -> None:
    flagged = Report(minutes(5), HOME[0], HOME[1], valid=False)
    shape = track_shape([*(at(m, COURT) for m in range(0, 3)), flagged, at(6, COURT)])
    assert [len(s) for s in shape.segments] == [3, 1]
    assert shape.gaps[0].kind == GapKind.NO_FIX


def test_the_speed_is_the_devices_else_derived_from_the_previous_fix() -> None:
    (segment,) = track_shape([at(0, HOME), at(1, COURT), at(2, HOME, speed_kmh=7.0)]).segments
    assert speed_at(segment, 0) is None
    derived = speed_at(segment, 1)
    assert derived is not None
    assert 14 < derived < 18  # ~260 m in a minute
    assert speed_at(segment, 2) == 7.0


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=20 * 60),  # seconds since the previous report
            st.booleans(),  # a fix, or a report without one
            st.floats(min_value=-0.001, max_value=0.001),  # about ±110 m from HOME
            st.floats(min_value=-0.001, max_value=0.001),
        ),
        max_size=60,
    )
)
def test_stops_last_long_enough_never_overlap_and_never_span_a_gap(
    steps: list[tuple[int, bool, float, float]],
) -> None:
    reports, t = [], DAY
    for seconds, valid, dlat, dlon in steps:
        t += dt.timedelta(seconds=seconds)
        reports.append(Report(t, HOME[0] + dlat, HOME[1] + dlon, valid=valid))
    shape = track_shape(reports)
    for stop in shape.stops:
        assert stop.duration >= MIN_DWELL
        assert not any(stop.start < gap.end and gap.start < stop.end for gap in shape.gaps)
    for before, after in itertools.pairwise(shape.stops):
        assert before.end < after.start
    assert sum(len(s) for s in shape.segments) == sum(1 for r in reports if r.valid)
