"""``{{ zone.schedule|schedule_words }}``: a zone's schedule in words wherever a page lists
zones ("every day 21:00–06:00", "Mon–Fri 20:00–06:00", "always"), never its stored days."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import template

from ontrack.zones.schedule_words import schedule_describe

register = template.Library()


@register.filter
def schedule_words(schedule: Sequence[Mapping[str, Any]]) -> str:
    return schedule_describe(schedule)
