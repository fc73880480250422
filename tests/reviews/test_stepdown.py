"""The step-down rule on its own: what a record must show, and one step at a time."""

from __future__ import annotations

from typing import Any

from ontrack.reviews.stepdown import Proposal, Record, step_down_propose


def _record(**changes: Any) -> Record:
    fields = {
        "level": "standard",
        "gps_device": True,
        "interval_weeks": 1,
        "counted": 12,
        "on_time_rate": 1.0,
        "missed_checkins": 0,
        "missed_appointments": 0,
        "confirmed_violations": 0,
    }
    return Record(**{**fields, **changes})


def _propose(record: Record) -> Proposal:
    return step_down_propose(record, min_on_time=0.9, min_counted=6)


def test_a_clean_record_steps_down_one_level_drops_the_device_and_halves_check_ins() -> None:
    proposal = _propose(_record())
    assert (proposal.level, proposal.without_device, proposal.interval_weeks) == ("low", True, 2)
    assert proposal.steps_down


def test_every_two_weeks_becomes_every_four_and_no_further() -> None:
    assert _propose(_record(interval_weeks=2)).interval_weeks == 4
    assert _propose(_record(interval_weeks=4)).interval_weeks is None


def test_a_missed_check_in_or_a_confirmed_violation_proposes_nothing_and_says_why() -> None:
    missed = _propose(_record(missed_checkins=1))
    violation = _propose(_record(confirmed_violations=1))
    assert not missed.steps_down
    assert "1 check-ins and 0 appointments missed" in missed.summary
    assert not violation.steps_down
    assert "1 violations confirmed" in violation.summary


def test_too_few_check_ins_or_a_low_on_time_rate_proposes_nothing() -> None:
    assert not _propose(_record(counted=5)).steps_down
    assert not _propose(_record(on_time_rate=0.8)).steps_down


def test_the_lightest_supervision_has_nothing_left_to_propose() -> None:
    lightest = _propose(_record(level="minimal", gps_device=False, interval_weeks=None))
    assert not lightest.steps_down
    assert "lightest" in lightest.summary
