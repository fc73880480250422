"""The roll-up runs the dashboard reads, and the day arithmetic every roll-up shares."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import DateTimeField, ExpressionWrapper, Value
from django.db.models.functions import TruncDate

from ontrack.reports.models import RollupRun

ONE_MICROSECOND = dt.timedelta(microseconds=1)


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def is_midnight(at: dt.datetime) -> bool:
    return at == midnight(at.astimezone(dt.UTC).date())


def ceil_midnight(at: dt.datetime) -> dt.datetime:
    """The first UTC midnight at or after ``at``."""
    floor = midnight(at.astimezone(dt.UTC).date())
    return floor if floor == at else floor + dt.timedelta(days=1)


def settled_date(at: dt.datetime) -> dt.date:
    """The UTC date of the instant just before ``at``: what came to hold at ``at`` holds at
    midnight ``M`` iff this date is before ``M``'s."""
    return (at - ONE_MICROSECOND).astimezone(dt.UTC).date()


def settled_day(expression: Any) -> TruncDate:
    """``settled_date`` in the database."""
    before = ExpressionWrapper(expression - Value(ONE_MICROSECOND), output_field=DateTimeField())
    return TruncDate(before, tzinfo=dt.UTC)


def rollup_latest() -> RollupRun | None:
    """The run the closed days' counts come from."""
    return RollupRun.objects.first()


def rollup_whole() -> RollupRun | None:
    """The latest recomputation of the whole history (the census comes from it)."""
    return RollupRun.objects.filter(first_day__isnull=True).first()
