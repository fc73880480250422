"""Demo reviews: some plans reach their review date today, so the queue has reviews with
and without a step-down proposed (from the demo's past check-ins), and one participant has
asked for a review from the portal."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from ontrack.accounts.models import Program
from ontrack.participants.models import Participant, Status, SupervisionPlan
from ontrack.reviews.services import review_request_submit, reviews_open_due


def seed(*, program: Program, seed_value: int, now: dt.datetime) -> None:
    rng = random.Random(seed_value + 7)
    open_cases = list(
        Participant.objects.filter(program=program)
        .exclude(status=Status.CLOSED)
        .order_by("case_number")
        .values_list("pk", flat=True)
    )
    if not open_cases:
        return
    due = rng.sample(open_cases[5:], min(24, max(len(open_cases) - 5, 0)))
    SupervisionPlan.objects.filter(participant_id__in=due, effective_to__isnull=True).update(
        review_date=timezone.localdate(now)
    )
    reviews_open_due(now=now)
    asking = Participant.objects.get(pk=open_cases[0])
    review_request_submit(
        participant=asking,
        reason="I have checked in on time every week and started a new job; "
        "the GPS device makes work difficult.",
    )
