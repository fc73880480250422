"""An alert's ``details`` as staff read them on the alert page.

Whatever raises an alert leaves what it measured in ``details`` under its own keys
(``local_date`` from the check-in watchdog, ``tier_minutes`` from the message-gap watchdog,
``escalation`` from ``alert_raise`` itself, ``imported_from`` from a history import...).
Those keys and their values (ISO times in UTC, vendor codes) are for machines: the page
shows the keys it knows here as a label and plain words, times on the office's clock, and
keeps every raw key and value, known or not, for a "technical details" disclosure. A key
nobody taught this module about is therefore never lost, and never shown as a label.

Alerts sits below tracking and schedule, so the words for their codes (a device event, an
appointment's type) are registered by those apps (``detail_values_register``) rather than
imported by this module.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ontrack.accounts.templatetags.office_time import office_time
from ontrack.alerts.durations import duration_text
from ontrack.alerts.models import AlertKind, AlertStatus
from ontrack.participants.models import HearingKind

# Words for coded values, by (alert kind or "" for every kind, detail key).
# Kept as given (labels may be lazy translations) and made text when read.
_VALUE_WORDS: dict[tuple[str, str], Mapping[str, object]] = {
    (AlertKind.MISSED_HEARING, "kind"): dict(HearingKind.choices),
}


def detail_values_register(key: str, words: Mapping[str, object], *, alert_kind: str = "") -> None:
    """Teach the alert page the words for a detail's coded values: for one alert kind's
    ``key`` (the same key means different things to different kinds, e.g. ``kind``), or for
    ``key`` in every kind when ``alert_kind`` is empty."""
    _VALUE_WORDS[(alert_kind, key)] = {str(code): word for code, word in words.items()}


@dataclass(frozen=True, slots=True)
class DetailWords:
    """``facts`` for the page (label, plain words); ``technical`` every raw key and value."""

    facts: tuple[tuple[str, str], ...]
    technical: tuple[tuple[str, str], ...]


def _local_time(value: object, time_zone: str) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:
        return None  # a time without its zone cannot be put on the office's clock
    return office_time(when, time_zone)


def _day(value: object, _time_zone: str) -> str | None:
    """A calendar day already on the local calendar (no zone to convert), said plainly."""
    if not isinstance(value, str):
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    return f"{day:%A} {day.day} {day:%B %Y}"


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _minutes(value: object, _time_zone: str) -> str | None:
    n = _number(value)
    return None if n is None else duration_text(dt.timedelta(minutes=n))


def _hours(value: object, _time_zone: str) -> str | None:
    n = _number(value)
    if n is None:
        return None
    return f"{n:g} hour{'' if n == 1 else 's'}"


def _percent(value: object, _time_zone: str) -> str | None:
    n = _number(value)
    return None if n is None else f"{n:g}%"


def _metres(value: object, _time_zone: str) -> str | None:
    n = _number(value)
    return None if n is None else f"{round(n)} m"


def _text(value: object, _time_zone: str) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


Say = Callable[[object, str], str | None]

# key -> (label, how its value is said). A value that does not read as expected (a
# hand-edited import, a changed producer) is left to the technical details.
KNOWN: dict[str, tuple[str, Say]] = {
    "local_date": ("Day of the check-in", _day),
    "court": ("Court", _text),
    "tier_minutes": ("Silent for at least", _minutes),
    "silent_since": ("Last heard from the device", _local_time),
    "last_charged_at": ("Last on its charger", _local_time),
    "hours": ("To be charged at least every", _hours),
    "last_fix_at": ("Last position fix", _local_time),
    "minutes": ("Allowed without a position fix", _minutes),
    "battery_pct": ("Battery", _percent),
    "threshold_pct": ("Alert at or below", _percent),
    "accuracy_m": ("Position accurate to", _metres),
}

# Coded keys whose words are registered (``_VALUE_WORDS``): key -> label, per alert kind
# where the key's meaning depends on it.
CODED: dict[tuple[str, str], str] = {
    ("", "event"): "What the device reported",
    (AlertKind.MISSED_APPOINTMENT, "type"): "Appointment for",
    (AlertKind.MISSED_APPOINTMENT, "kind"): "Appointment",
    (AlertKind.MISSED_HEARING, "kind"): "Hearing",
}


def _coded(kind: str, key: str, value: object) -> tuple[str, str] | None:
    for scope in (kind, ""):
        label = CODED.get((scope, key))
        words = _VALUE_WORDS.get((scope, key), {})
        if label and isinstance(value, str) and value in words:
            return label, str(words[value])
    return None


def _repeats(value: object) -> str | None:
    """``escalation`` counts the alerts of this kind in the rule's escalation window,
    this one included (``alert_raise``); each earlier one raised its priority a step."""
    n = _number(value)
    if n is None or n != int(n) or n < 1:
        return None
    if n == 1:
        return "None within the escalation window"
    return f"{int(n) - 1} within the escalation window, so its priority was raised"


def _position(details: Mapping[str, object]) -> str | None:
    lat, lon = _number(details.get("lat")), _number(details.get("lon"))
    if lat is None or lon is None:
        return None
    return f"{lat:.5f}, {lon:.5f}"


def _imported(value: object) -> str | None:
    """Where a history import came from (``alerts_import_history``): the system, and the
    status it had there when that was changed on arrival."""
    if not isinstance(value, Mapping) or not isinstance(value.get("system"), str):
        return None
    words = str(value["system"])
    status = value.get("status")
    if isinstance(status, str) and status in AlertStatus.values:
        words += f", where it was {AlertStatus(status).label.lower()}"
    return words


def _raw(value: object) -> str:
    """A value as stored: text as it is, anything else (an import's record) as JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def detail_words(kind: str, details: Mapping[str, object], *, time_zone: str) -> DetailWords:
    """What ``details`` says, in the order the page shows it: position first (two keys make
    one fact), then the known keys as the producer wrote them, the repeat count last."""
    facts: list[tuple[str, str]] = []
    if position := _position(details):
        facts.append(("Position", position))
    for key, value in details.items():
        fact: tuple[str, str] | None = None
        if key in KNOWN:
            label, say = KNOWN[key]
            words = say(value, time_zone)
            fact = (label, words) if words else None
        elif key == "imported_from":
            words = _imported(value)
            fact = ("Imported from", words) if words else None
        else:
            fact = _coded(kind, key, value)
        if fact:
            facts.append(fact)
    if repeats := _repeats(details.get("escalation")):
        facts.append(("Earlier alerts like it", repeats))
    technical = tuple((str(k), _raw(v)) for k, v in sorted(details.items()))
    return DetailWords(facts=tuple(facts), technical=technical)
