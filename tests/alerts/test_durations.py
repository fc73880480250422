"""How long, in the words the alert page and the queue use (``static/alerts/queue.js``
writes the same)."""

import datetime as dt

import pytest

from ontrack.alerts.durations import duration_text


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (dt.timedelta(seconds=59), "0 min"),
        (dt.timedelta(minutes=12, seconds=30), "12 min"),
        (dt.timedelta(hours=1, minutes=5), "1 h 05 min"),
        (dt.timedelta(days=2, hours=3, minutes=59), "2 d 3 h"),
        (dt.timedelta(seconds=-30), "0 min"),
    ],
)
def test_a_duration_is_said_in_whole_minutes_hours_and_days(delta: dt.timedelta, text: str) -> None:
    assert duration_text(delta) == text


def test_no_duration_is_said_as_nothing() -> None:
    assert duration_text(None) == ""
