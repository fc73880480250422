"""What participants contributes to a person's timeline: case changes (enrolment, status,
plan, transfer, device assignments recorded by tracking, edits), court hearings once their
time has come, and the participant's own requests for review."""

from __future__ import annotations

from collections.abc import Sequence

from django.urls import reverse

from ontrack.participants.models import EventKind, Hearing, ParticipantEvent, ReviewRequest
from ontrack.participants.timeline import (
    Entry,
    Query,
    Source,
    page_rows,
    register_group,
    register_source,
)

CASE = "case"
HEARING = "hearing"
REVIEW_REQUEST = "review_request"


def _bulk_action_link(q: Query, e: ParticipantEvent) -> str:
    """A change made as part of a bulk action links to that action's page (its reason,
    everyone it moved, the undo) for those who may open it."""
    bulk = e.data.get("bulk_action")
    if not isinstance(bulk, int) or not q.reader.manages_caseloads:
        return ""
    return reverse("participants:bulk_action", args=[bulk])


def case_entries(q: Query) -> Sequence[Entry]:
    rows = page_rows(
        ParticipantEvent.objects.filter(participant=q.participant).select_related("actor"),
        q,
        CASE,
        time="at",
    )
    return [
        Entry(
            at=e.at,
            kind=CASE,
            id=e.pk,
            title=EventKind(e.kind).label if e.kind in EventKind.values else "Case changed",
            detail=e.summary,
            link=_bulk_action_link(q, e),
            actor=str(e.actor) if e.actor else "system",
            technical=(("event", e.kind),),
        )
        for e in rows
    ]


def hearing_entries(q: Query) -> Sequence[Entry]:
    """A hearing appears at its time, once that time has passed (the cursor starts at now),
    with the outcome recorded so far."""
    rows = page_rows(
        Hearing.objects.filter(participant=q.participant), q, HEARING, time="scheduled_at"
    )
    return [
        Entry(
            at=h.scheduled_at,
            kind=HEARING,
            id=h.pk,
            title=f"Court hearing: {h.get_kind_display()}",
            detail=f"{h.court} · {h.get_outcome_display()}"
            + (f" · court time {h.local_time:%H:%M} {h.local_time:%Z}" if h.time_zone else ""),
            technical=(("hearing", str(h.pk)), ("outcome", h.outcome)),
        )
        for h in rows
    ]


def review_request_entries(q: Query) -> Sequence[Entry]:
    rows = page_rows(
        ReviewRequest.objects.filter(participant=q.participant),
        q,
        REVIEW_REQUEST,
        time="created_at",
    )
    return [
        Entry(
            at=r.created_at,
            kind=REVIEW_REQUEST,
            id=r.pk,
            title="Asked for a review of the supervision level",
            detail=f"{r.get_status_display()}: {r.reason}",
            actor="the participant",
            technical=(("review request", str(r.pk)),),
        )
        for r in rows
    ]


def register() -> None:
    """The filters, in the order the page offers them (the apps above register their
    sources into them), and this app's sources."""
    for key, label in (
        ("case", "Case and plan"),
        ("checkins", "Check-ins and appointments"),
        ("alerts", "Alerts"),
        ("messages", "Messages"),
        ("devices", "Device events"),
        ("hearings", "Hearings"),
        ("reviews", "Reviews"),
    ):
        register_group(key, label)
    register_source(Source(kind=CASE, group="case", entries=case_entries))
    register_source(Source(kind=HEARING, group="hearings", entries=hearing_entries))
    register_source(Source(kind=REVIEW_REQUEST, group="reviews", entries=review_request_entries))
