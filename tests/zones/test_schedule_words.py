"""Zone schedules in words, as the track page shows them beside the map."""

from __future__ import annotations

from ontrack.zones.schedule_words import schedule_describe


def test_a_zone_without_a_schedule_counts_always() -> None:
    assert schedule_describe([]) == "always"


def test_a_curfew_on_every_night_reads_every_day() -> None:
    curfew = [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "21:00", "end": "06:00"}]
    assert schedule_describe(curfew) == "every day 21:00–06:00"


def test_consecutive_weekdays_read_as_a_range_and_two_days_as_a_list() -> None:
    schedule = [
        {"days": [0, 1, 2, 3, 4], "start": "20:00", "end": "06:00"},
        {"days": [5, 6], "start": "22:00", "end": "07:00"},
    ]
    assert schedule_describe(schedule) == "Mon–Fri 20:00–06:00; Sat, Sun 22:00–07:00"


def test_a_range_across_the_weekend_wraps_round_the_week() -> None:
    schedule = [{"days": [0, 4, 5, 6], "start": "09:00", "end": "17:00"}]
    assert schedule_describe(schedule) == "Fri–Mon 09:00–17:00"


def test_scattered_days_are_listed_one_by_one() -> None:
    schedule = [{"days": [0, 2], "start": "18:00", "end": "23:00"}]
    assert schedule_describe(schedule) == "Mon, Wed 18:00–23:00"
