"""The fix filters, as plain functions: no database."""

from __future__ import annotations

import datetime as dt

import pytest

from ontrack.tracking.filters import FilterRules, fix_rejection, rules_for, rules_from_settings
from ontrack.tracking.protocols.records import Fix

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def fix(**kw: object) -> Fix:
    values: dict[str, object] = {"device_id": "1", "time": NOW, "lat": 40.7, "lon": -74.0}
    values.update(kw)
    return Fix(**values)  # type: ignore[arg-type]


def test_a_good_fix_passes() -> None:
    assert fix_rejection(fix(accuracy_m=10.0), FilterRules(max_accuracy_m=50), now=NOW) is None


def test_a_fix_the_device_marks_invalid_is_dropped() -> None:
    assert fix_rejection(fix(valid=False), FilterRules(), now=NOW) == "invalid"


def test_invalid_fixes_can_be_kept_when_configured() -> None:
    assert fix_rejection(fix(valid=False), FilterRules(drop_invalid=False), now=NOW) is None


def test_zero_zero_is_dropped_but_zero_latitude_alone_is_not() -> None:
    assert fix_rejection(fix(lat=0.0, lon=0.0), FilterRules(), now=NOW) == "zero_coordinates"
    assert fix_rejection(fix(lat=0.0, lon=9.5), FilterRules(), now=NOW) is None


def test_future_fixes_beyond_the_tolerance_are_dropped() -> None:
    rules = FilterRules(max_future_s=60)
    assert fix_rejection(fix(time=NOW + dt.timedelta(seconds=59)), rules, now=NOW) is None
    assert fix_rejection(fix(time=NOW + dt.timedelta(seconds=61)), rules, now=NOW) == "future"


def test_old_fixes_are_not_dropped_as_future() -> None:
    late = fix(time=NOW - dt.timedelta(days=3))
    assert fix_rejection(late, FilterRules(max_future_s=0), now=NOW) is None


def test_accuracy_worse_than_the_threshold_is_dropped_and_unknown_accuracy_kept() -> None:
    rules = FilterRules(max_accuracy_m=100)
    assert fix_rejection(fix(accuracy_m=100.0), rules, now=NOW) is None
    assert fix_rejection(fix(accuracy_m=100.5), rules, now=NOW) == "low_accuracy"
    assert fix_rejection(fix(accuracy_m=None), rules, now=NOW) is None


def test_each_kind_overrides_single_keys_of_the_default() -> None:
    rules = rules_from_settings(
        {"default": {"max_future_s": 120, "max_accuracy_m": 500}, "phone": {"max_accuracy_m": 50}}
    )
    assert rules_for(rules, "phone") == FilterRules(max_future_s=120, max_accuracy_m=50)
    assert rules_for(rules, "ankle") == FilterRules(max_future_s=120, max_accuracy_m=500)


def test_a_misspelt_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="max_acuracy_m"):
        rules_from_settings({"phone": {"max_acuracy_m": 50}})
