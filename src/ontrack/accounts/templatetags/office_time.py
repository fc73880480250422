"""Times as an office reads them: in the office's zone, with the zone's abbreviation.

The console runs in UTC (``TIME_ZONE``), which staff should never have to convert from;
UTC belongs in exports only. ``{{ when|office_time:office.time_zone }}`` gives
``2026-12-05 16:49 EST``."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django import template

register = template.Library()


def office_zone(time_zone: str) -> dt.tzinfo:
    """The office's zone (UTC when the zone is unknown, and times then say so)."""
    try:
        return zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def office_local(when: dt.datetime, time_zone: str) -> dt.datetime:
    """``when`` on the office's wall clock (UTC when the zone is unknown, and then says so)."""
    return when.astimezone(office_zone(time_zone))


@register.filter
def office_time(when: dt.datetime | None, time_zone: str) -> str:
    """``2026-12-05 16:49 EST``; empty for no time."""
    if when is None:
        return ""
    local = office_local(when, time_zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


@register.filter
def office_date(when: dt.datetime | None, time_zone: str) -> str:
    """``2026-12-05``, the date on the office's calendar; empty for no time."""
    if when is None:
        return ""
    return f"{office_local(when, time_zone):%Y-%m-%d}"
