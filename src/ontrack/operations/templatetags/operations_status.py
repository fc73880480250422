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
