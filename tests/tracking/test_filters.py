"""The fix filters, as plain functions: no database."""

from __future__ import annotations

import datetime as dt

import pytest

from ontrack.tracking.filters import (
    INVALID_REASONS,
    FilterRules,
    fix_rejection,
    invalid_reason,
    rules_for,
    rules_from_settings,
)
from ontrack.tracking.protocols.records import Fix

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def fix(**kw: object) -> Fix:
    values: dict[str, object] = {"device_id": "1", "time": NOW, "lat": 40.7, "lon": -74.0}
    values.update(kw)
    return Fix(**values)  # type: ignore[arg-type]


def test_a_good_fix_passes() -> None:
    assert fix_rejection(fix(accuracy_m=10.0), FilterRules(max_accuracy_m=50), now=NOW) is None


def test_a_fix_the_device_marks_invalid_is_kept_and_marked_with_why() -> None:
    assert fix_rejection(fix(valid=False), FilterRules(), now=NOW) is None
    assert invalid_reason(fix(valid=False)) == "device_marked_invalid"
    assert invalid_reason(fix(valid=False, satellites=2)) == "few_satellites"
    assert invalid_reason(fix(valid=False, satellites=0)) == "few_satellites"
    assert invalid_reason(fix(valid=False, satellites=7)) == "device_marked_invalid"


def test_a_valid_fix_has_no_invalid_reason() -> None:
    assert invalid_reason(fix(satellites=2)) == ""


def test_zero_zero_and_no_coordinates_are_no_fix_but_zero_latitude_alone_is_a_position() -> None:
    assert invalid_reason(fix(lat=0.0, lon=0.0)) == "no_fix"
    assert invalid_reason(fix(lat=None, lon=None, valid=False)) == "no_fix"
    assert invalid_reason(fix(lat=0.0, lon=9.5)) == ""
    assert fix_rejection(fix(lat=0.0, lon=0.0), FilterRules(), now=NOW) is None


def test_an_invalid_fix_is_not_dropped_for_its_accuracy() -> None:
    rules = FilterRules(max_accuracy_m=100)
    assert fix_rejection(fix(valid=False, accuracy_m=3000.0), rules, now=NOW) is None


def test_an_invalid_fix_in_the_future_is_still_dropped() -> None:
    late = fix(valid=False, time=NOW + dt.timedelta(hours=1))
    assert fix_rejection(late, FilterRules(max_future_s=60), now=NOW) == "future"


def test_the_invalid_reasons_are_the_position_models_choices() -> None:
    from ontrack.tracking.models import InvalidReason

    assert set(INVALID_REASONS) == set(InvalidReason.values)


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


def test_the_settings_that_dropped_invalid_fixes_are_gone() -> None:
    with pytest.raises(ValueError, match="drop_invalid"):
        rules_from_settings({"default": {"drop_invalid": True}})


def test_a_misspelt_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="max_acuracy_m"):
        rules_from_settings({"phone": {"max_acuracy_m": 50}})
