"""``{{ alert.raised_at|age }}``: the time since, as the queue first shows it before its
script ticks it on (``static/alerts/queue.js``)."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

from ontrack.alerts.durations import duration_text

register = template.Library()


@register.filter
def age(since: dt.datetime | None) -> str:
    return "" if since is None else duration_text(timezone.now() - since)
