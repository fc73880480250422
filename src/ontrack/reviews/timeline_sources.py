"""What reviews contributes to a person's timeline: each supervision review when it opened
(why, and what the record proposed) and when a supervisor decided it (what, and why)."""

from __future__ import annotations

from collections.abc import Sequence

from django.urls import reverse

from ontrack.participants.timeline import (
    Entry,
    Query,
    Source,
    page_rows,
    register_source,
)
from ontrack.reviews.models import SupervisionReview

REVIEW_OPENED = "review_opened"
REVIEW_DECIDED = "review_decided"


def review_opened_entries(q: Query) -> Sequence[Entry]:
    rows = page_rows(
        SupervisionReview.objects.filter(participant=q.participant),
        q,
        REVIEW_OPENED,
        time="opened_at",
    )
    return [
        Entry(
            at=r.opened_at,
            kind=REVIEW_OPENED,
            id=r.pk,
            title=f"Supervision review opened: {r.get_origin_display().lower()}",
            detail=r.proposal,
            link=reverse("reviews:detail", args=[r.pk]),
            technical=(("review", str(r.pk)), ("origin", r.origin)),
        )
        for r in rows
    ]


def review_decided_entries(q: Query) -> Sequence[Entry]:
    rows = page_rows(
        SupervisionReview.objects.filter(
            participant=q.participant, decided_at__isnull=False
        ).select_related("decided_by"),
        q,
        REVIEW_DECIDED,
        time="decided_at",
    )
    return [
        Entry(
            at=r.decided_at,
            kind=REVIEW_DECIDED,
            id=r.pk,
            title=f"Supervision review decided: {r.get_outcome_display().lower()}",
            detail=r.decision_reason,
            link=reverse("reviews:detail", args=[r.pk]),
            actor=str(r.decided_by) if r.decided_by else "",
            technical=(("review", str(r.pk)), ("outcome", r.outcome)),
        )
        for r in rows
        if r.decided_at is not None
    ]


def register() -> None:
    register_source(Source(kind=REVIEW_OPENED, group="reviews", entries=review_opened_entries))
    register_source(Source(kind=REVIEW_DECIDED, group="reviews", entries=review_decided_entries))
