"""Recurrence as plain date arithmetic: cadences, and local windows that keep their wall
clock across both daylight-saving changes (America/New_York and Europe/Lisbon)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from ontrack.schedule import recurrence
from ontrack.schedule.recurrence import Cadence

NEW_YORK = ZoneInfo("America/New_York")
LISBON = ZoneInfo("Europe/Lisbon")
EIGHT, TWENTY = dt.time(8), dt.time(20)


def _local(instant: dt.datetime, zone: ZoneInfo) -> tuple[int, int]:
    local = instant.astimezone(zone)
    return local.hour, local.minute


def test_weekly_tuesday_window_stays_8_to_20_local_across_march_change_in_new_york() -> None:
    cadence = Cadence(kind="weekly", starts_on=dt.date(2026, 3, 1), weekdays=(1,))
    rows = recurrence.windows(
        cadence, EIGHT, TWENTY, NEW_YORK, dt.date(2026, 3, 1), dt.date(2026, 3, 20)
    )
    assert [d for d, _o, _c in rows] == [
        dt.date(2026, 3, 3),
        dt.date(2026, 3, 10),
        dt.date(2026, 3, 17),
    ]
    for _day, opens_at, closes_at in rows:
        assert _local(opens_at, NEW_YORK) == (8, 0)
        assert _local(closes_at, NEW_YORK) == (20, 0)
    # Before the change (8 March 2026) 08:00 EST is 13:00 UTC; after it, 08:00 EDT is 12:00.
    assert rows[0][1].hour == 13
    assert rows[1][1].hour == 12


def test_window_on_the_november_change_day_keeps_the_wall_clock_not_the_length() -> None:
    cadence = Cadence(kind="custom", starts_on=dt.date(2026, 1, 1), dates=(dt.date(2026, 11, 1),))
    ((_day, opens_at, closes_at),) = recurrence.windows(
        cadence, dt.time(0, 30), dt.time(12), NEW_YORK, dt.date(2026, 10, 1), dt.date(2026, 12, 1)
    )
    assert _local(opens_at, NEW_YORK) == (0, 30)
    assert _local(closes_at, NEW_YORK) == (12, 0)
    assert closes_at - opens_at == dt.timedelta(hours=12, minutes=30)  # 01:00–02:00 twice


def test_lisbon_sunday_windows_across_both_changes() -> None:
    cadence = Cadence(kind="weekly", starts_on=dt.date(2026, 1, 1), weekdays=(6,))
    rows = recurrence.windows(
        cadence, EIGHT, TWENTY, LISBON, dt.date(2026, 3, 22), dt.date(2026, 11, 1)
    )
    assert rows[0][1].hour == 8  # WET
    assert rows[1][1].hour == 7  # then WEST (29 March)
    assert rows[-1][0] == dt.date(2026, 11, 1)
    assert rows[-1][1].hour == 8  # WET again (25 Oct)
    assert all(_local(o, LISBON) == (8, 0) and _local(c, LISBON) == (20, 0) for _d, o, c in rows)


def test_nonexistent_local_time_on_spring_forward_moves_one_hour_later() -> None:
    opens_at = recurrence.local_instant(dt.date(2026, 3, 8), dt.time(2, 30), NEW_YORK)
    assert _local(opens_at, NEW_YORK) == (3, 30)


def test_every_two_weeks_counts_from_the_start_week() -> None:
    cadence = Cadence(kind="weekly", starts_on=dt.date(2026, 1, 7), weekdays=(0, 3), interval=2)
    dates = recurrence.occurrence_dates(cadence, dt.date(2026, 1, 1), dt.date(2026, 2, 1))
    # Week of 5 Jan (Thu 8), skip week of 12 Jan, week of 19 Jan (Mon 19, Thu 22)...
    assert dates == [dt.date(2026, 1, 8), dt.date(2026, 1, 19), dt.date(2026, 1, 22)]


def test_first_tuesday_and_last_friday_of_the_month() -> None:
    first_tuesday = Cadence(
        kind="monthly_weekday", starts_on=dt.date(2026, 1, 1), weekdays=(1,), week=1
    )
    last_friday = Cadence(
        kind="monthly_weekday", starts_on=dt.date(2026, 1, 1), weekdays=(4,), week=-1
    )
    span = (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert recurrence.occurrence_dates(first_tuesday, *span) == [
        dt.date(2026, 1, 6),
        dt.date(2026, 2, 3),
        dt.date(2026, 3, 3),
    ]
    assert recurrence.occurrence_dates(last_friday, *span) == [
        dt.date(2026, 1, 30),
        dt.date(2026, 2, 27),
        dt.date(2026, 3, 27),
    ]


def test_day_31_falls_on_the_last_day_of_shorter_months() -> None:
    cadence = Cadence(kind="monthly_day", starts_on=dt.date(2026, 1, 1), day=31)
    assert recurrence.occurrence_dates(cadence, dt.date(2026, 1, 1), dt.date(2026, 4, 30)) == [
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 30),
    ]


def test_cadence_end_date_is_respected() -> None:
    cadence = Cadence(
        kind="weekly", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 1, 14), weekdays=(2,)
    )
    assert recurrence.occurrence_dates(cadence, dt.date(2026, 1, 1), dt.date(2026, 3, 1)) == [
        dt.date(2026, 1, 7),
        dt.date(2026, 1, 14),
    ]


ZONES = st.sampled_from(
    ["America/New_York", "Europe/Lisbon", "America/Los_Angeles", "Australia/Sydney"]
)


@given(
    zone=ZONES,
    start=st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2028, 12, 31)),
    weekdays=st.sets(st.integers(0, 6), min_size=1),
    opens=st.times(),
    length=st.integers(min_value=15, max_value=23 * 60),
)
def test_every_weekly_window_opens_and_closes_at_its_local_times(
    zone: str, start: dt.date, weekdays: set[int], opens: dt.time, length: int
) -> None:
    tz = ZoneInfo(zone)
    opens = opens.replace(second=0, microsecond=0)
    closes = (dt.datetime.combine(start, opens) + dt.timedelta(minutes=length)).time()
    cadence = Cadence(kind="weekly", starts_on=start, weekdays=tuple(weekdays))
    rows = recurrence.windows(cadence, opens, closes, tz, start, start + dt.timedelta(days=70))
    assert len(rows) == len(weekdays) * 10 + sum(
        1 for k in range(70, 71) if (start + dt.timedelta(days=k)).weekday() in weekdays
    )
    for day, opens_at, closes_at in rows:
        assert day.weekday() in weekdays
        assert closes_at > opens_at
        local_open = opens_at.astimezone(tz)
        # Wall clock kept, except a time the spring change skips (moved one hour later).
        if local_open.replace(tzinfo=None) != dt.datetime.combine(day, opens):
            gap = dt.datetime.combine(day, opens, tzinfo=tz)
            assert gap.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) != gap.replace(
                tzinfo=None
            )
