"""The daily job that opens reviews for plans whose review date has come."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from ontrack.reviews import services


@db_periodic_task(crontab(minute="10", hour="5"))
def supervision_reviews_open_due() -> int:
    return services.reviews_open_due()
