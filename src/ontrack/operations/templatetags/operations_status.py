from __future__ import annotations

import datetime as dt
from typing import Any

from django import template

from ontrack.operations.status import ago as ago_text

register = template.Library()


@register.filter
def ago(then: dt.datetime | None, now: dt.datetime) -> str:
    return ago_text(now, then)


@register.filter
def humanise_key(key: Any) -> str:
    return str(key).replace("_", " ")


@register.simple_tag
def detail_value(key: str, value: Any, now: dt.datetime) -> str:
    """A heartbeat detail as a person reads it: times ("..._at") as how long ago."""
    if str(key).endswith("_at") and isinstance(value, str):
        try:
            return ago_text(now, dt.datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)
