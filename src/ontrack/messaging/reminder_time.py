"""When a reminder goes out (pure; no Django).

A rule is an offset from an anchor (an appointment, a hearing, the close of a check-in
window) and, optionally, a delivery time on the participant's wall clock. With a local time
the offset counts calendar days on that clock ("3 days before at 09:00" is 09:00 three
calendar days before the anchor's local date, whatever DST does in between); without one it
is elapsed time ("2 hours before" is 7,200 seconds before).

A wall-clock time that does not exist (the spring-forward gap) is taken after the gap, and
one that happens twice (fall back) is the first; zoneinfo's ``fold=0`` gives both.

Quiet hours are a local ``[start, end)`` period (e.g. 21:00-08:00) in which nothing
non-urgent is delivered: a reminder falling inside moves later to when they end if that is
still before the anchor, otherwise earlier to the minute before they began.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

UTC = dt.UTC


def _localise(date: dt.date, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The instant the wall clock in ``tz`` shows ``date at``; through UTC and back so a
    time in the spring-forward gap becomes the real instant after the gap."""
    naive = dt.datetime.combine(date, at)
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def in_quiet_hours(instant: dt.datetime, tz: ZoneInfo, quiet: tuple[dt.time, dt.time]) -> bool:
    start, end = quiet
    clock = instant.astimezone(tz).time().replace(tzinfo=None)
    if start == end:
        return False
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


def quiet_end_after(
    instant: dt.datetime, tz: ZoneInfo, quiet: tuple[dt.time, dt.time]
) -> dt.datetime:
    """The first moment at or after ``instant`` outside quiet hours."""
    if not in_quiet_hours(instant, tz, quiet):
        return instant
    local = instant.astimezone(tz)
    end = _localise(local.date(), quiet[1], tz)
    if end <= instant:
        end = _localise(local.date() + dt.timedelta(days=1), quiet[1], tz)
    return end


def _quiet_start_before(
    instant: dt.datetime, tz: ZoneInfo, quiet: tuple[dt.time, dt.time]
) -> dt.datetime:
    local = instant.astimezone(tz)
    start = _localise(local.date(), quiet[0], tz)
    if start > instant:
        start = _localise(local.date() - dt.timedelta(days=1), quiet[0], tz)
    return start - dt.timedelta(minutes=1)


def reminder_due(
    *,
    anchor_at: dt.datetime,
    offset: dt.timedelta,
    local_time: dt.time | None,
    tz: ZoneInfo,
    now: dt.datetime,
    quiet: tuple[dt.time, dt.time] | None = None,
) -> dt.datetime | None:
    """The UTC instant the reminder is due, or None when there is none to send: it would be
    in the past, or not before the anchor."""
    if anchor_at.tzinfo is None:
        raise ValueError("anchor_at must be timezone-aware")
    if local_time is None:
        due = (anchor_at.astimezone(UTC) + offset).astimezone(UTC)
    else:
        anchor_local = anchor_at.astimezone(tz)
        day = anchor_local.date() + dt.timedelta(days=offset.days)
        due = _localise(day, local_time, tz)
    if quiet is not None and in_quiet_hours(due, tz, quiet):
        later = quiet_end_after(due, tz, quiet)
        due = later if later < anchor_at else _quiet_start_before(due, tz, quiet)
    if due >= anchor_at or due <= now:
        return None
    return due
