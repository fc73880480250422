"""Reviews as each staff member may see them: those of the participants they can see."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, CharField, Count, F, QuerySet, Value, When

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from ontrack.participants.queries import participant_visible_q
from ontrack.reviews.models import ReviewOutcome, SupervisionReview


def reviews_visible_to(user: User) -> QuerySet[SupervisionReview]:
    return SupervisionReview.objects.filter(
        participant_visible_q(user, "participant")
    ).select_related("participant", "participant__office", "request", "decided_by")


def reviews_pending_for(user: User) -> QuerySet[SupervisionReview]:
    return reviews_visible_to(user).filter(outcome=ReviewOutcome.PENDING).order_by("opened_at")


def reviews_decided_for(user: User) -> QuerySet[SupervisionReview]:
    return (
        reviews_visible_to(user)
        .exclude(outcome=ReviewOutcome.PENDING)
        .order_by("-decided_at", "-id")
    )


def reviews_of_participants(people: QuerySet[Participant]) -> QuerySet[SupervisionReview]:
    """The reviews of ``people`` (any queryset of participants, e.g. a dashboard's scope)."""
    return SupervisionReview.objects.filter(participant__in=people.values("pk"))


def review_decision_counts(
    reviews: QuerySet[SupervisionReview], *, at: dt.datetime
) -> dict[tuple[str, str], int]:
    """How many of ``reviews`` stood at each (origin, outcome) at the instant ``at``: a
    decision recorded after ``at`` counts as still pending then, so a report read "as of" a
    past date does not learn of decisions taken since."""
    outcome_then = Case(
        When(decided_at__lte=at, then=F("outcome")),
        default=Value(str(ReviewOutcome.PENDING)),
        output_field=CharField(),
    )
    rows = (
        reviews.filter(opened_at__lte=at)
        .annotate(outcome_then=outcome_then)
        .order_by()
        .values_list("origin", "outcome_then")
        .annotate(n=Count("pk"))
    )
    return {(origin, outcome): n for origin, outcome, n in rows}
