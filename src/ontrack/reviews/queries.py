"""Reviews as each staff member may see them: those of the participants they can see."""

from __future__ import annotations

from django.db.models import QuerySet

from ontrack.accounts.models import User
from ontrack.participants.queries import participants_visible_to
from ontrack.reviews.models import ReviewOutcome, SupervisionReview


def reviews_visible_to(user: User) -> QuerySet[SupervisionReview]:
    return SupervisionReview.objects.filter(
        participant__in=participants_visible_to(user)
    ).select_related("participant", "participant__office", "request", "decided_by")


def reviews_pending_for(user: User) -> QuerySet[SupervisionReview]:
    return reviews_visible_to(user).filter(outcome=ReviewOutcome.PENDING).order_by("opened_at")


def reviews_decided_for(user: User) -> QuerySet[SupervisionReview]:
    return (
        reviews_visible_to(user)
        .exclude(outcome=ReviewOutcome.PENDING)
        .order_by("-decided_at", "-id")
    )
