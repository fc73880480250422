"""Which fixes are stored, and which stored fixes are positions: pure rules, no Django, so
they are tested without a database.

A report whose fix is invalid is stored, marked with why (``invalid_reason``), not dropped:
the device reported, and its record must show it did (a device that reports without a fix
is a device whose GPS is failing or blocked, which an officer needs to see as "No GPS fix",
not as silence). It is a report, not a position: zones, alert rules and every "last known
position" leave it out. A fix is invalid when it carries no position at all (a cell- or
WiFi-only report, or 0,0: the "null island" of a receiver with no fix), or when the device
itself says it is invalid (told apart when it counts too few satellites for a fix).

A fix is dropped (and counted under a reason) only when keeping it would mislead: its time
is further in the future than a tolerance (a clock gone wrong; its time would pin "latest
position" for days), or its accuracy is worse than a threshold. Thresholds differ per device
kind: a phone's network fix of 800 m is noise, an ankle monitor rarely reports accuracy at
all.

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

# Why a fix was dropped.
FUTURE = "future"
LOW_ACCURACY = "low_accuracy"
DUPLICATE = "duplicate"  # counted by storage, named here so every reason is in one place

REASONS = (FUTURE, LOW_ACCURACY, DUPLICATE)

# Why a stored fix is invalid (``Position.invalid_reason``; empty for a valid fix).
NO_FIX = "no_fix"
FEW_SATELLITES = "few_satellites"
DEVICE_MARKED_INVALID = "device_marked_invalid"

INVALID_REASONS = (NO_FIX, FEW_SATELLITES, DEVICE_MARKED_INVALID)

# A receiver needs signals from three satellites for a two-dimensional fix.
MIN_SATELLITES = 3


@dataclass(frozen=True, slots=True)
class FilterRules:
    """Rules for one device kind. ``max_accuracy_m=None`` accepts any accuracy; a fix that
    reports no accuracy is never dropped for it."""

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


def invalid_reason(fix: Fix) -> str:
    """Why ``fix`` is no position (one of ``INVALID_REASONS``), or ``""`` when it is one."""
    if fix.lat is None or fix.lon is None or (fix.lat == 0.0 and fix.lon == 0.0):
        return NO_FIX
    if fix.valid:
        return ""
    if fix.satellites is not None and fix.satellites < MIN_SATELLITES:
        return FEW_SATELLITES
    return DEVICE_MARKED_INVALID


def fix_rejection(fix: Fix, rules: FilterRules, *, now: dt.datetime) -> str | None:
    """The reason ``fix`` must be dropped, or ``None`` to store it. Only a valid fix is
    judged by its accuracy: an invalid one is stored as the report it is, whatever its
    accuracy, and nothing takes it for a position."""
    if (fix.time - now).total_seconds() > rules.max_future_s:
        return FUTURE
    if (
        rules.max_accuracy_m is not None
        and fix.accuracy_m is not None
        and fix.accuracy_m > rules.max_accuracy_m
        and not invalid_reason(fix)
    ):
        return LOW_ACCURACY
    return None
