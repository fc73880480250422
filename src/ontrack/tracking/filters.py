"""Which fixes are stored: pure rules, no Django, so they are tested without a database.

A fix is dropped (and counted under a reason) when the device itself says it is invalid,
when it sits at 0,0 (the "null island" of a receiver with no fix), when its time is further
in the future than a tolerance (a clock gone wrong; accepting it would pin "latest position"
for days), or when its accuracy is worse than a threshold. Thresholds differ per device kind:
a phone's network fix of 800 m is noise, an ankle monitor rarely reports accuracy at all.

Device events are never passed through these rules: an SOS or a strap tamper must reach the
alerts even if the fix that came with it is useless. Duplicates are dropped by storage
(the ``(device, time)`` key), not here, because only the database knows what it holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from ontrack.tracking.protocols.records import Fix

INVALID = "invalid"
ZERO_COORDINATES = "zero_coordinates"
FUTURE = "future"
LOW_ACCURACY = "low_accuracy"
DUPLICATE = "duplicate"  # counted by storage, named here so every reason is in one place

REASONS = (INVALID, ZERO_COORDINATES, FUTURE, LOW_ACCURACY, DUPLICATE)


@dataclass(frozen=True, slots=True)
class FilterRules:
    """Rules for one device kind. ``max_accuracy_m=None`` accepts any accuracy; a fix that
    reports no accuracy is never dropped for it."""

    drop_invalid: bool = True
    drop_zero_coordinates: bool = True
    max_future_s: float = 300.0
    max_accuracy_m: float | None = None


def rules_from_settings(config: Mapping[str, Mapping[str, Any]]) -> dict[str, FilterRules]:
    """Turn the ``ONTRACK_TRACKING_FILTERS`` setting into rules per device kind.

    ``config["default"]`` applies to every kind; each kind's own entry overrides single
    keys of it. Unknown keys raise, so a typo in the settings is not silently ignored.
    """
    names = {f.name for f in fields(FilterRules)}
    for kind, entry in config.items():
        unknown = set(entry) - names
        if unknown:
            raise ValueError(f"ONTRACK_TRACKING_FILTERS[{kind!r}]: unknown keys {sorted(unknown)}")
    base = replace(FilterRules(), **dict(config.get("default", {})))
    return {
        kind: replace(base, **dict(entry)) for kind, entry in config.items() if kind != "default"
    } | {"default": base}


def rules_for(rules: Mapping[str, FilterRules], kind: str) -> FilterRules:
    return rules.get(kind) or rules.get("default") or FilterRules()


def fix_rejection(fix: Fix, rules: FilterRules, *, now: dt.datetime) -> str | None:
    """The reason ``fix`` must be dropped, or ``None`` to store it."""
    if rules.drop_invalid and not fix.valid:
        return INVALID
    if rules.drop_zero_coordinates and fix.lat == 0.0 and fix.lon == 0.0:
        return ZERO_COORDINATES
    if (fix.time - now).total_seconds() > rules.max_future_s:
        return FUTURE
    if (
        rules.max_accuracy_m is not None
        and fix.accuracy_m is not None
        and fix.accuracy_m > rules.max_accuracy_m
    ):
        return LOW_ACCURACY
    return None
