"""What schedule contributes to a person's timeline: each check-in (with its photo as a
thumbnail), each check-in window that closed missed, excused or as a technical failure
(on-time and late windows show as their check-in), and each appointment once its time has
come, with what became of it."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from django.urls import reverse

from ontrack.participants.gate import shown_token
from ontrack.participants.timeline import (
    Entry,
    Query,
    Source,
    page_rows,
    register_source,
)
from ontrack.schedule.models import (
    Appointment,
    AppointmentStatus,
    Checkin,
    CheckinWindow,
    Modality,
    Outcome,
    Review,
)

CHECKIN = "checkin"
WINDOW = "checkin_window"
APPOINTMENT = "appointment"

WINDOW_OUTCOMES = (Outcome.MISSED, Outcome.EXCUSED, Outcome.TECHNICAL_FAILURE)
WINDOW_TITLES = {
    Outcome.MISSED: "Missed a check-in",
    Outcome.EXCUSED: "Check-in excused",
    Outcome.TECHNICAL_FAILURE: "Check-in window ended with a technical failure",
}


def checkin_photo_item(checkin_id: int) -> str:
    """What a thumbnail token names (``gate.shown_token``): this check-in's photo."""
    return f"checkin-photo:{checkin_id}"


def _checkin_title(c: Checkin) -> str:
    how = "by text" if c.modality == Modality.PHONE else "on the phone app"
    if c.outcome == Outcome.TECHNICAL_FAILURE:
        return f"Tried to check in {how}; it could not be completed"
    return f"Checked in {how} ({Outcome(c.outcome).label.lower()})"


def _checkin_detail(c: Checkin) -> str:
    parts: list[str] = []
    if c.failure_reason:
        parts.append(c.get_failure_reason_display())
    if c.review != Review.NOT_NEEDED:
        parts.append(f"Photo: {c.get_review_display().lower()}")
        if c.review_reason:
            parts.append(c.review_reason)
    if c.accuracy_m is not None:
        parts.append(f"location within {round(c.accuracy_m)} m")
    return " · ".join(parts)


def checkin_entries(q: Query) -> Sequence[Entry]:
    rows = page_rows(
        Checkin.objects.filter(participant=q.participant), q, CHECKIN, time="received_at"
    )
    entries = []
    for c in rows:
        thumbnail = ""
        if c.photo:
            token = shown_token(q.reader, q.participant.pk, item=checkin_photo_item(c.pk))
            thumbnail = (
                reverse("schedule:checkin_photo", args=[c.pk]) + "?" + urlencode({"shown": token})
            )
        entries.append(
            Entry(
                at=c.received_at,
                kind=CHECKIN,
                id=c.pk,
                title=_checkin_title(c),
                detail=_checkin_detail(c),
                link=reverse("schedule:record", args=[q.participant.pk]),
                thumbnail=thumbnail,
                thumbnail_alt=f"Photo taken at check-in {c.reference}",
                actor="the participant",
                technical=(
                    ("reference", c.reference),
                    ("modality", c.modality),
                    ("outcome", c.outcome),
                    *((("failure", c.failure_reason),) if c.failure_reason else ()),
                ),
            )
        )
    return entries


def window_entries(q: Query) -> Sequence[Entry]:
    rows = page_rows(
        CheckinWindow.objects.filter(
            participant=q.participant, outcome__in=WINDOW_OUTCOMES
        ).select_related("excused_by"),
        q,
        WINDOW,
        time="closes_at",
    )
    return [
        Entry(
            at=w.closes_at,
            kind=WINDOW,
            id=w.pk,
            title=WINDOW_TITLES[Outcome(w.outcome)],
            detail=f"Check-in due on {w.local_date:%A} {w.local_date.day} {w.local_date:%B %Y}"
            + (f" · excused: {w.excused_reason}" if w.excused_reason else ""),
            link=reverse("schedule:record", args=[q.participant.pk]),
            actor=str(w.excused_by) if w.excused_by else "",
            technical=(("window", str(w.pk)), ("outcome", w.outcome)),
        )
        for w in rows
    ]


def appointment_entries(q: Query) -> Sequence[Entry]:
    rows = page_rows(
        Appointment.objects.filter(participant=q.participant).select_related("office", "status_by"),
        q,
        APPOINTMENT,
        time="starts_at",
    )
    entries = []
    for a in rows:
        status = (
            "not yet recorded"
            if a.status == AppointmentStatus.BOOKED
            else a.get_status_display().lower()
        )
        detail = f"{a.get_type_display()} at {a.office}"
        if a.status_reason:
            detail += f" · {a.status_reason}"
        entries.append(
            Entry(
                at=a.starts_at,
                kind=APPOINTMENT,
                id=a.pk,
                title=f"{a.get_kind_display()}: {status}",
                detail=detail,
                link=reverse("schedule:record", args=[q.participant.pk]),
                actor=str(a.status_by) if a.status_by else "",
                technical=(
                    ("appointment", str(a.pk)),
                    ("type", a.type),
                    ("status", a.status),
                ),
            )
        )
    return entries


def register() -> None:
    register_source(Source(kind=CHECKIN, group="checkins", entries=checkin_entries))
    register_source(Source(kind=WINDOW, group="checkins", entries=window_entries))
    register_source(Source(kind=APPOINTMENT, group="checkins", entries=appointment_entries))
