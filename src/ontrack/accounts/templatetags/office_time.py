"""Times as an office reads them: in the office's zone, with the zone's abbreviation.

The console runs in UTC (``TIME_ZONE``), which staff should never have to convert from;
UTC belongs in exports only. ``{{ when|office_time:office.time_zone }}`` gives
``2026-12-05 16:49 EST``, and ``{{ office.time_zone|time_zone_words }}`` "Eastern Time (EST)":
``America/New_York`` is a key, not a name (the portal says it in the person's language)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django import template
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

register = template.Library()


def office_zone(time_zone: str) -> dt.tzinfo:
    """The office's zone (UTC when the zone is unknown: times then say UTC)."""
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


ZONE_NAMES: dict[str, Promise] = {
    "EST": _("Eastern Time"),
    "EDT": _("Eastern Time"),
    "CST": _("Central Time"),
    "CDT": _("Central Time"),
    "MST": _("Mountain Time"),
    "MDT": _("Mountain Time"),
    "PST": _("Pacific Time"),
    "PDT": _("Pacific Time"),
    "AKST": _("Alaska Time"),
    "AKDT": _("Alaska Time"),
    "HST": _("Hawaii Time"),
    "AST": _("Atlantic Time"),
    "ADT": _("Atlantic Time"),
}


@register.filter(name="time_zone_words")
def zone_name(key: str, *, at: dt.datetime | None = None) -> str:
    """A time zone as people say it, with the abbreviation in force at ``at`` (now):
    "Eastern Time (EST)", "Hora del Centro (CDT)". A zone outside North America reads as
    its city and offset ("Madrid (UTC+1)"); "America/New_York" is a key, not a name."""
    try:
        zone = zoneinfo.ZoneInfo(key)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return key
    local = (at or timezone.now()).astimezone(zone)
    abbreviation = local.strftime("%Z")
    name = ZONE_NAMES.get(abbreviation)
    if name is not None and (key.startswith("America/") or key == "Pacific/Honolulu"):
        return f"{name} ({abbreviation})"
    if not abbreviation.isalpha():
        offset = local.utcoffset() or dt.timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "−"
        hours, rest = divmod(abs(minutes), 60)
        abbreviation = f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
    city = key.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} ({abbreviation})"
