"""Template words for the portal: dates as the page's language writes them, and the
language menu with each language in its own name.

Dates come from ``messaging.datefmt``, the same words and order the participant's text
messages use ("viernes 4 de diciembre", "sexta-feira, 4 de dezembro", "vandredi 4 desanm"),
on the clock of the time zone active for the page (the participant's)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django import template
from django.conf import settings

from ontrack.portal import labels

if TYPE_CHECKING:
    from ontrack.schedule.queries import Repeat

register = template.Library()


@register.filter
def day(value: dt.date | dt.datetime | None) -> str:
    """The day in words: "Friday, December 4", "viernes 4 de diciembre"."""
    return labels.day_words(value) if value is not None else ""


@register.filter
def when(value: dt.datetime | None) -> str:
    """The day in words and the time on the 24-hour clock: "viernes 4 de diciembre, 09:00"."""
    return labels.when_words(value) if value is not None else ""


@register.simple_tag
def language_menu() -> list[tuple[str, str]]:
    """The languages offered, each in its own name ("Español", not "Inglés" for English):
    someone who cannot read the page's language still finds their own. The names are the
    settings' own, never passed through a translation."""
    return [(code, str(name)) for code, name in settings.LANGUAGES]


@register.simple_tag
def repeat_words(repeat: Repeat) -> str:
    """A schedule's further check-ins in one line (``labels.repeat_words``)."""
    return labels.repeat_words(repeat)


@register.simple_tag
def device_words(kind: str) -> str:
    """What a device of this kind does, in one sentence (``labels.DEVICE_TRACKING``)."""
    return str(labels.DEVICE_TRACKING.get(kind, labels.DEVICE_TRACKING["ankle"]))


@register.simple_tag
def reporting_words(every: dt.timedelta | None) -> str:
    """How often the device reported over the last day (``labels.reporting_words``)."""
    return labels.reporting_words(every)


@register.simple_tag
def zone_name(key: str) -> str:
    """A time zone in words with its abbreviation now (``labels.zone_name``)."""
    return labels.zone_name(key)
