"""What a compliance record earns: the step-down rule, kept free of Django so that it can be
read (and tested) on its own.

A step-down is proposed only for a record that shows the person reporting: enough windows
counted, an on-time rate at or above the threshold, nothing missed (check-ins, office
appointments) and no violation confirmed by a person in the period. Excused windows and
technical failures are neither for nor against. The proposal goes one step at a time: one
level down; a GPS device replaced by app check-ins; weekly check-ins every two weeks, every
two weeks to every four.
"""

from __future__ import annotations

from dataclasses import dataclass

LEVEL_BELOW = {"intensive": "high", "high": "standard", "standard": "low", "low": "minimal"}
LONGEST_INTERVAL_WEEKS = 4


@dataclass(frozen=True, slots=True)
class Record:
    level: str
    gps_device: bool
    interval_weeks: int | None  # weekly cadence's "every N weeks"; None for other cadences
    counted: int  # windows on time, late or missed
    on_time_rate: float | None
    missed_checkins: int
    missed_appointments: int
    confirmed_violations: int


@dataclass(frozen=True, slots=True)
class Proposal:
    level: str = ""
    without_device: bool = False
    interval_weeks: int | None = None
    summary: str = ""

    @property
    def steps_down(self) -> bool:
        return bool(self.level or self.without_device or self.interval_weeks)


def step_down_propose(record: Record, *, min_on_time: float, min_counted: int) -> Proposal:
    reasons = []
    if record.counted < min_counted:
        reasons.append(f"only {record.counted} check-ins counted (at least {min_counted})")
    if record.on_time_rate is not None and record.on_time_rate < min_on_time:
        reasons.append(f"on time {record.on_time_rate:.0%} (at least {min_on_time:.0%})")
    if record.missed_checkins or record.missed_appointments:
        reasons.append(
            f"{record.missed_checkins} check-ins and {record.missed_appointments} "
            "appointments missed"
        )
    if record.confirmed_violations:
        reasons.append(f"{record.confirmed_violations} violations confirmed")
    if reasons:
        return Proposal(summary="No step-down proposed: " + "; ".join(reasons) + ".")
    level = LEVEL_BELOW.get(record.level, "")
    interval = (
        min(record.interval_weeks * 2, LONGEST_INTERVAL_WEEKS)
        if record.interval_weeks and record.interval_weeks < LONGEST_INTERVAL_WEEKS
        else None
    )
    parts = []
    if level:
        parts.append(f"level {record.level} to {level}")
    if record.gps_device:
        parts.append("GPS device replaced by app check-ins")
    if interval:
        parts.append(f"check-ins every {interval} weeks instead of {record.interval_weeks}")
    if not parts:
        return Proposal(summary="Already at the lightest supervision the rule proposes.")
    return Proposal(
        level=level,
        without_device=record.gps_device,
        interval_weeks=interval,
        summary="Step down: " + "; ".join(parts) + ".",
    )
