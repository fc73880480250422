"""The daily job that opens reviews for plans whose review date has come."""

from __future__ import annotations

from ontrack.operations.jobs import periodic_job
from ontrack.reviews import services


@periodic_job(minute="10", hour="5")
def supervision_reviews_open_due() -> int:
    """Daily: open a review for each plan whose review date has come."""
    return services.reviews_open_due()
