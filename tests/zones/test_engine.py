"""The zone engine on its own: geometry, accuracy rule, ordering, schedules across DST."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ontrack.zones import engine
from ontrack.zones.engine import (
    EXCLUSION,
    INCLUSION,
    Assignment,
    FixArrays,
    GeometryCache,
    Interval,
    ZoneSpec,
    compile_zones,
    evaluate,
    schedule_covers,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LAT, LON = 40.7128, -74.0060


@dataclass
class Fix:
    participant_id: int | None
    time: datetime
    lat: float
    lon: float
    accuracy_m: float | None = 5.0


def offset(
    north_m: float, east_m: float, lat: float = LAT, lon: float = LON
) -> tuple[float, float]:
    dlat = north_m / engine.M_PER_DEG
    dlon = east_m / (engine.M_PER_DEG * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def square(half_m: float, lat: float = LAT, lon: float = LON) -> dict[str, object]:
    corners = [
        offset(n, e, lat, lon)
        for n, e in ((-half_m, -half_m), (-half_m, half_m), (half_m, half_m), (half_m, -half_m))
    ]
    ring = [[c[1], c[0]] for c in corners]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def zone_set(*specs: ZoneSpec, participant_id: int = 1, time_zone: str = "UTC") -> engine.ZoneSet:
    return compile_zones(
        [Assignment(participant_id, spec, time_zone) for spec in specs], GeometryCache()
    )


def run(zs: engine.ZoneSet, *fixes: Fix, consecutive: int = 3) -> list[tuple[int, str]]:
    return [
        (t.zone_id, t.kind)
        for t in evaluate(zs, FixArrays.from_fixes(fixes), consecutive=consecutive)
    ]


def at(minutes: float, north_m: float = 0, east_m: float = 0, accuracy: float = 5.0) -> Fix:
    lat, lon = offset(north_m, east_m)
    return Fix(1, T0 + timedelta(minutes=minutes), lat, lon, accuracy)


def test_entering_an_exclusion_zone_wholly_is_one_entry_and_one_violation() -> None:
    zs = zone_set(ZoneSpec(7, 1, EXCLUSION, square(500)))
    assert run(zs, at(0, 2_000)) == []
    assert run(zs, at(1, 0)) == [(7, "entered"), (7, "violation")]
    assert run(zs, at(2, 10), at(3, -10)) == [], "staying inside emits nothing more"
    assert run(zs, at(4, 2_000)) == [(7, "left"), (7, "cleared")]


def test_a_multipolygon_zone_counts_a_fix_in_any_of_its_parts() -> None:
    first, second = square(100), square(100, *offset(0, 3_000))
    both = {"type": "MultiPolygon", "coordinates": [first["coordinates"], second["coordinates"]]}
    zs = zone_set(ZoneSpec(7, 1, EXCLUSION, both))
    assert run(zs, at(0, 0, 1_500)) == [], "between the parts is outside"
    assert run(zs, at(1, 0, 3_000)) == [(7, "entered"), (7, "violation")]
    assert run(zs, at(2, 0, 1_500)) == [(7, "left"), (7, "cleared")]


def test_a_fix_whose_accuracy_circle_crosses_the_boundary_needs_consecutive_fixes() -> None:
    zs = zone_set(ZoneSpec(7, 1, EXCLUSION, square(500)))
    near_edge = 480  # 20 m inside, accuracy 50 m: could be outside
    assert run(zs, at(0, near_edge, accuracy=50)) == []
    assert run(zs, at(1, near_edge, accuracy=50)) == []
    assert run(zs, at(2, near_edge, accuracy=50)) == [(7, "violation")], "third in a row"


def test_a_zone_with_its_own_run_length_uses_it_and_the_others_the_default() -> None:
    strict = ZoneSpec(7, 1, EXCLUSION, square(500), consecutive=1)
    usual = ZoneSpec(8, 1, EXCLUSION, square(500, *offset(0, 5_000)))
    zs = zone_set(strict, usual)
    near_edge = 480  # 20 m inside, accuracy 50 m: could be outside
    assert run(zs, at(0, 2_000)) == []
    assert run(zs, at(1, near_edge, accuracy=50)) == [(7, "entered"), (7, "violation")]
    other = at(2, 0, 5_000 + near_edge, accuracy=50)
    assert sorted(run(zs, other)) == [(7, "cleared"), (7, "left"), (8, "entered")], (
        "zone 8 needs three in a row"
    )


def test_the_buffer_widens_the_margin_a_fix_must_clear() -> None:
    zs = zone_set(ZoneSpec(7, 1, EXCLUSION, square(500), buffer_m=100))
    assert run(zs, at(0, 450, accuracy=5), consecutive=99) == []
    zs = zone_set(ZoneSpec(7, 1, EXCLUSION, square(500), buffer_m=10))
    assert run(zs, at(0, 450, accuracy=5), consecutive=99) == [(7, "violation")]


def test_leaving_a_circular_inclusion_zone_counts_only_beyond_accuracy() -> None:
    home = {"type": "Circle", "center": [LON, LAT], "radius_m": 100.0}
    zs = zone_set(ZoneSpec(3, 1, INCLUSION, home))
    assert run(zs, at(0, 0)) == []
    assert run(zs, at(1, 120, accuracy=40), consecutive=5) == [(3, "left")]
    assert run(zs, at(2, 300, accuracy=40), consecutive=5) == [(3, "violation")]
    assert run(zs, at(3, 10), consecutive=5) == [(3, "entered"), (3, "cleared")]


def test_a_participant_is_checked_only_against_their_own_zones() -> None:
    zs = compile_zones(
        [
            Assignment(1, ZoneSpec(1, 1, EXCLUSION, square(500))),
            Assignment(2, ZoneSpec(2, 1, EXCLUSION, square(500, lat=41.0))),
        ],
        GeometryCache(),
    )
    lat, lon = offset(0, 0)
    fixes = [Fix(2, T0, lat, lon), Fix(3, T0, lat, lon), Fix(None, T0, lat, lon)]
    assert evaluate(zs, FixArrays.from_fixes(fixes), consecutive=1) == []
    transitions = evaluate(zs, FixArrays.from_fixes([Fix(1, T0, lat, lon)]), consecutive=1)
    assert [(t.participant_id, t.zone_id, t.kind) for t in transitions] == [(1, 1, "violation")]


def test_several_fixes_of_one_device_in_a_batch_are_applied_in_time_order() -> None:
    zs = zone_set(ZoneSpec(7, 1, EXCLUSION, square(500)))
    assert run(zs, at(2, 2_000), at(1, 0), at(0, 2_000)) == [
        (7, "entered"),
        (7, "violation"),
        (7, "left"),
        (7, "cleared"),
    ]


def test_a_late_fix_does_not_flip_the_state_back() -> None:
    zs = zone_set(ZoneSpec(7, 1, EXCLUSION, square(500)))
    run(zs, at(10, 0))
    assert run(zs, at(5, 2_000)) == [], "an older fix from outside is ignored"
    assert zs.state_get(0).side == "inside"
    assert zs.state_get(0).violating


def test_an_edited_zone_is_rebuilt_and_an_unchanged_one_reused() -> None:
    cache = GeometryCache()
    spec = ZoneSpec(7, 1, EXCLUSION, square(500))
    first = cache.get(spec)
    assert cache.get(spec) is first
    assert cache.get(ZoneSpec(7, 2, EXCLUSION, square(50))) is not first


def test_a_zone_counts_only_between_its_active_dates() -> None:
    zs = zone_set(
        ZoneSpec(
            7,
            1,
            EXCLUSION,
            square(500),
            active_from=T0 + timedelta(hours=1),
            active_to=T0 + timedelta(hours=2),
        )
    )
    assert run(zs, at(0, 0)) == []
    assert run(zs, at(61, 0)) == [(7, "violation")]
    assert run(zs, at(121, 0)) == [(7, "cleared")], "the zone lapsing ends the violation"


WEEKNIGHTS = (Interval(frozenset({0, 1, 2, 3, 4}), 20 * 60, 6 * 60),)
NY = engine.ZoneInfo("America/New_York")


def test_a_curfew_crossing_midnight_covers_the_morning_after_a_weekday_only() -> None:
    friday_late = datetime(2026, 6, 5, 23, 0, tzinfo=NY)
    saturday_early = datetime(2026, 6, 6, 5, 0, tzinfo=NY)
    saturday_late = datetime(2026, 6, 6, 21, 0, tzinfo=NY)
    monday_early = datetime(2026, 6, 8, 5, 0, tzinfo=NY)
    assert schedule_covers(WEEKNIGHTS, friday_late, NY)
    assert schedule_covers(WEEKNIGHTS, saturday_early, NY)
    assert not schedule_covers(WEEKNIGHTS, saturday_late, NY)
    assert not schedule_covers(WEEKNIGHTS, monday_early, NY), "Sunday night is not a curfew"


def _curfew_outside(when_utc: datetime) -> list[tuple[int, str]]:
    every_night = (Interval(frozenset(range(7)), 20 * 60, 6 * 60),)
    home = {"type": "Circle", "center": [LON, LAT], "radius_m": 100.0}
    zs = zone_set(
        ZoneSpec(9, 1, INCLUSION, home, schedule=every_night), time_zone="America/New_York"
    )
    lat, lon = offset(3_000, 0)
    return run(zs, Fix(1, when_utc, lat, lon), consecutive=1)


def test_curfew_follows_the_clock_when_daylight_saving_starts_in_march() -> None:
    # 2026-03-08: clocks go from 02:00 EST to 03:00 EDT. 09:30 UTC is 05:30 EDT (curfew);
    # 10:30 UTC is 06:30 EDT (free), though it would still be 05:30 on the old EST offset.
    assert _curfew_outside(datetime(2026, 3, 8, 9, 30, tzinfo=UTC)) == [(9, "violation")]
    assert _curfew_outside(datetime(2026, 3, 8, 10, 30, tzinfo=UTC)) == []
    # That evening 00:30 UTC is 20:30 EDT: the curfew has begun (19:30 on the EST offset).
    assert _curfew_outside(datetime(2026, 3, 9, 0, 30, tzinfo=UTC)) == [(9, "violation")]


def test_curfew_follows_the_clock_when_daylight_saving_ends_in_november() -> None:
    # 2026-11-01: clocks go from 02:00 EDT back to 01:00 EST. 10:30 UTC is 05:30 EST
    # (curfew), though on the old EDT offset it would be 06:30; 11:30 UTC is 06:30 EST.
    assert _curfew_outside(datetime(2026, 11, 1, 10, 30, tzinfo=UTC)) == [(9, "violation")]
    assert _curfew_outside(datetime(2026, 11, 1, 11, 30, tzinfo=UTC)) == []
    # That evening 00:30 UTC is 19:30 EST: not yet (20:30 on the EDT offset).
    assert _curfew_outside(datetime(2026, 11, 2, 0, 30, tzinfo=UTC)) == []
    assert _curfew_outside(datetime(2026, 11, 2, 1, 30, tzinfo=UTC)) == [(9, "violation")]


def test_someone_outside_when_the_curfew_starts_is_in_violation_at_the_next_fix() -> None:
    every_night = (Interval(frozenset(range(7)), 20 * 60, 6 * 60),)
    home = {"type": "Circle", "center": [LON, LAT], "radius_m": 100.0}
    zs = zone_set(ZoneSpec(9, 1, INCLUSION, home, schedule=every_night))
    lat, lon = offset(3_000, 0)
    evening = datetime(2026, 6, 1, 19, 50, tzinfo=UTC)
    assert run(zs, Fix(1, evening, lat, lon), consecutive=1) == []
    late = evening + timedelta(minutes=15)
    assert run(zs, Fix(1, late, lat, lon), consecutive=1) == [(9, "violation")]


def test_a_curfew_breach_lasts_past_the_curfew_until_the_person_comes_back() -> None:
    every_night = (Interval(frozenset(range(7)), 20 * 60, 6 * 60),)
    home = {"type": "Circle", "center": [LON, LAT], "radius_m": 100.0}
    zs = zone_set(ZoneSpec(9, 1, INCLUSION, home, schedule=every_night))
    lat, lon = offset(3_000, 0)
    night = datetime(2026, 6, 1, 22, 0, tzinfo=UTC)
    assert run(zs, Fix(1, night, lat, lon), consecutive=1) == [(9, "violation")]
    morning = datetime(2026, 6, 2, 6, 5, tzinfo=UTC)
    assert run(zs, Fix(1, morning, lat, lon), consecutive=1) == [], (
        "the curfew ending does not clear a breach while the person is still out"
    )
    next_night = datetime(2026, 6, 2, 21, 0, tzinfo=UTC)
    assert run(zs, Fix(1, next_night, lat, lon), consecutive=1) == [], "still the same breach"
    home_at = datetime(2026, 6, 3, 9, 0, tzinfo=UTC)
    assert run(zs, Fix(1, home_at, LAT, LON), consecutive=1) == [(9, "entered"), (9, "cleared")]


@settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(-60, 60),
    lon=st.floats(-179, 179),
    half=st.floats(50, 20_000),
    fx=st.floats(-0.5, 0.5),
    fy=st.floats(-0.5, 0.5),
)
def test_a_point_well_inside_a_polygon_is_inside(
    lat: float, lon: float, half: float, fx: float, fy: float
) -> None:
    zs = zone_set(ZoneSpec(1, 1, EXCLUSION, square(half, lat, lon)))
    plat, plon = offset(fy * half, fx * half, lat, lon)
    transitions = evaluate(zs, FixArrays.from_fixes([Fix(1, T0, plat, plon, 0.0)]), consecutive=1)
    assert zs.state_get(0).side == "inside"
    assert [t.kind for t in transitions] == ["violation"], "wholly inside an exclusion zone"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 500), st.booleans()), min_size=1, max_size=30))
def test_fixes_older_than_the_last_one_never_change_the_state(
    history: list[tuple[int, bool]],
) -> None:
    zs = zone_set(ZoneSpec(7, 1, EXCLUSION, square(500)))
    for minute, inside in history:
        before = zs.state_get(0)
        fix = at(minute, 0 if inside else 2_000)
        run(zs, fix)
        if before.last_fix_at is not None and fix.time <= before.last_fix_at:
            assert zs.state_get(0) == before
        else:
            assert zs.state_get(0).side == ("inside" if inside else "outside")


@settings(max_examples=40, deadline=None)
@given(accuracy=st.floats(0, 400), depth=st.floats(1, 499))
def test_a_violation_on_one_fix_needs_the_accuracy_circle_wholly_inside(
    accuracy: float, depth: float
) -> None:
    zs = zone_set(ZoneSpec(7, 1, EXCLUSION, square(500)))
    kinds = [k for _, k in run(zs, at(0, 500 - depth, accuracy=accuracy), consecutive=99)]
    if depth > accuracy + 0.5:
        assert "violation" in kinds
    elif depth < accuracy - 0.5:
        assert "violation" not in kinds


def test_sparse_participant_ids_are_matched_as_well_as_dense_ones() -> None:
    zs = compile_zones(
        [
            Assignment(3, ZoneSpec(1, 1, EXCLUSION, square(500))),
            Assignment(50_000_000, ZoneSpec(2, 1, EXCLUSION, square(500))),
        ],
        GeometryCache(),
    )
    assert len(zs.row_of) == 0, "no 50-million-entry lookup table"
    lat, lon = offset(0, 0)
    fixes = [Fix(50_000_000, T0, lat, lon), Fix(4, T0, lat, lon), Fix(3, T0, lat, lon)]
    transitions = evaluate(zs, FixArrays.from_fixes(fixes), consecutive=1)
    assert sorted((t.participant_id, t.zone_id) for t in transitions) == [(3, 1), (50_000_000, 2)]


@settings(max_examples=50, deadline=None)
@given(
    minutes=st.lists(st.integers(0, 366 * 24 * 60), min_size=1, max_size=40),
    tz=st.sampled_from(["America/New_York", "America/Los_Angeles", "Europe/Lisbon", "UTC"]),
)
def test_the_vectorised_schedule_agrees_with_zoneinfo_fix_by_fix(
    minutes: list[int], tz: str
) -> None:
    zs = zone_set(ZoneSpec(9, 1, INCLUSION, square(100), schedule=WEEKNIGHTS), time_zone=tz)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    times = [start + timedelta(minutes=m) for m in minutes]
    t = np.array([w.timestamp() for w in times])
    vectorised = engine._in_schedule(zs, np.zeros(len(t), dtype=np.int64), t)
    expected = [schedule_covers(WEEKNIGHTS, w, engine.ZoneInfo(tz)) for w in times]
    assert vectorised.tolist() == expected
