"""The timeline files of ``ontrack simulate --script``: what they say, and what is refused
with a message that says where."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ontrack.tracking.simulator.script import ScriptError, script_parse


def _file(*steps: dict[str, object]) -> str:
    return json.dumps({"wearers": [{"device": "359710049095001", "steps": list(steps)}]})


def test_a_step_becomes_a_report_at_its_time_with_its_event_and_silence() -> None:
    (wearer,) = script_parse(
        _file(
            {
                "at": "2026-11-02T02:00:00Z",
                "lat": 40.7,
                "lon": -74.0,
                "event": "strap_cut",
                "silent_for_min": 150,
            },
        )
    )
    (step,) = wearer.steps
    assert wearer.protocol == "gt06"
    assert step.report.time == datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    assert (step.report.events, step.silent_for_min) == (("tamper",), 150.0)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"at": "2026-11-02T02:00:00", "lat": 1, "lon": 1}, "UTC offset"),
        ({"at": "2026-11-02T02:00:00Z", "lat": 1, "lon": 1, "event": "jump"}, "unknown event"),
        ({"at": "2026-11-02T02:00:00Z", "lat": 91, "lon": 1}, "out of range"),
        ({"at": "2026-11-02T02:00:00Z", "lat": 1, "lon": 1, "speed": 3}, "unknown field"),
    ],
)
def test_a_step_that_cannot_be_played_is_refused_with_where_and_why(
    step: dict[str, Any], message: str
) -> None:
    with pytest.raises(ScriptError, match=message) as refused:
        script_parse(_file(step))
    assert "wearer 1, step 1" in str(refused.value)
