"""Check-ins: what the participant sends (a photo and a location from the phone, a
technical failure, a PIN by text) and what the officer decides about them (identity
review of the photo, excusing a window).

The rules of time live here: which window an attempt counts for, how far the phone's
clock is believed, and which outcome of a window wins (``OUTCOME_RANK``) when several
attempts or decisions touch it. Submissions are idempotent on ``(participant,
client_ref)`` so a phone may retry freely.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy

from ontrack.accounts.models import User
from ontrack.alerts.services import alert_clear
from ontrack.participants.models import EventKind, Participant
from ontrack.participants.services import participant_event_record
from ontrack.photos import CONTENT_TYPE as PHOTO_CONTENT_TYPE
from ontrack.photos import PhotoRefused, photo_reencode
from ontrack.schedule import queries
from ontrack.schedule.face_match import face_matcher
from ontrack.schedule.models import (
    Checkin,
    CheckinWindow,
    FailureReason,
    Modality,
    Outcome,
    Review,
    TaskKind,
)
from ontrack.schedule.services.officer_tasks import task_open
from ontrack.schedule.services.preamble import now_or_clock, require_write

logger = logging.getLogger(__name__)


# Which outcome of a window wins when several attempts or decisions touch it: a completed
# check-in beats everything, and a technical failure beats "missed" (the person tried).
OUTCOME_RANK = {
    Outcome.DUE: 0,
    Outcome.MISSED: 1,
    Outcome.TECHNICAL_FAILURE: 2,
    Outcome.EXCUSED: 3,
    Outcome.LATE: 4,
    Outcome.ON_TIME: 5,
}
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read over the phone


def _reference() -> str:
    return "CK-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def _window_for_attempt(
    participant: Participant, attempted_at: dt.datetime, received_at: dt.datetime
) -> tuple[CheckinWindow | None, dt.datetime]:
    """The window an attempt belongs to and the attempt time that counts.

    The phone's clock decides (an attempt made in time and uploaded later is on time), but
    only within what is plausible: never after the server received it, never more than
    ``ONTRACK_SCHEDULE_ATTEMPT_MAX_DELAY_HOURS`` before (a phone's clock can be set back:
    beyond that the arrival counts), and never before the window it is counted for opened.
    An attempt belongs to the last window that had opened by then (a later attempt is late
    for it); one that claims a time before any window counts for the window open when it
    arrived, at that window's opening."""
    attempted = min(attempted_at, received_at)
    believable = dt.timedelta(hours=settings.ONTRACK_SCHEDULE_ATTEMPT_MAX_DELAY_HOURS)
    if received_at - attempted > believable:
        attempted = received_at
    window = (
        CheckinWindow.objects.select_for_update()
        .filter(participant=participant, opens_at__lte=attempted)
        .order_by("-opens_at")
        .first()
    )
    if window is not None:
        return window, attempted
    window = (
        CheckinWindow.objects.select_for_update()
        .filter(participant=participant, opens_at__lte=received_at, closes_at__gt=received_at)
        .first()
    )
    return window, (window.opens_at if window is not None else attempted)


def _window_settle(window: CheckinWindow, outcome: str, at: dt.datetime) -> None:
    """Record an outcome on the window if it ranks above the present one; a window that was
    already marked missed and now has an attempt in time clears its missed-check-in alert."""
    if OUTCOME_RANK[Outcome(outcome)] <= OUTCOME_RANK[Outcome(window.outcome)]:
        return
    was_missed = window.outcome == Outcome.MISSED
    window.outcome = outcome
    window.outcome_at = at
    window.save(update_fields=["outcome", "outcome_at"])
    if was_missed:
        alert_clear(
            participant_id=window.participant_id,
            kind="missed_checkin",
            source=f"checkin_window:{window.pk}",
            cleared_at=at,
        )


def _windows_settle(
    participant: Participant,
    primary: CheckinWindow | None,
    outcome: str,
    *,
    attempted: dt.datetime,
    at: dt.datetime,
) -> int:
    """Settle the window an attempt is counted for and every other window of the person's
    that was open at the attempt's time: a daily 08:00–20:00 window and an officer's ad-hoc
    09:07–13:07 window are both satisfied by one check-in at 10:00, and neither may later
    be marked missed. A check-in late for ``primary`` is on time for a window still open
    then; a technical failure is recorded on each (the person tried). Returns how many
    windows besides ``primary`` changed."""
    if primary is not None:
        _window_settle(primary, outcome, at)
    also = Outcome.ON_TIME if outcome in (Outcome.ON_TIME, Outcome.LATE) else Outcome(outcome)
    others = (
        CheckinWindow.objects.select_for_update()
        .filter(participant=participant, opens_at__lte=attempted, closes_at__gt=attempted)
        .exclude(outcome__in=queries.SETTLED_OUTCOMES)
        .order_by("opens_at")
    )
    if primary is not None:
        others = others.exclude(pk=primary.pk)
    changed = 0
    for window in others:
        before = window.outcome
        _window_settle(window, also, at)
        changed += window.outcome != before
    return changed


def _late_upload_flag(checkin: Checkin, *, claimed: dt.datetime, now: dt.datetime) -> None:
    """An attempt the phone dates long before it arrived (offline for days, or a clock set
    back) goes to the officer to look at, whether or not its time was believed."""
    gap = checkin.received_at - claimed
    if gap <= dt.timedelta(hours=settings.ONTRACK_SCHEDULE_ATTEMPT_REVIEW_HOURS):
        return
    believed = gap <= dt.timedelta(hours=settings.ONTRACK_SCHEDULE_ATTEMPT_MAX_DELAY_HOURS)
    hours = int(gap.total_seconds() // 3600)
    task_open(
        checkin.participant,
        kind=TaskKind.LATE_UPLOAD,
        source=f"late_upload:{checkin.pk}",
        summary=f"Check-in {checkin.reference} arrived {hours} h after the time the phone "
        f"gives ({claimed:%Y-%m-%d %H:%M} UTC); "
        + ("the phone's time was counted" if believed else "counted at its arrival instead"),
        now=now,
    )


def _existing(participant: Participant, client_ref: str) -> Checkin | None:
    return Checkin.objects.filter(participant=participant, client_ref=client_ref).first()


def _checkin_save(checkin: Checkin) -> Checkin:
    """Insert, or return the row a concurrent retry with the same reference already saved."""
    for _attempt in range(5):
        checkin.reference = _reference()
        try:
            with transaction.atomic():
                checkin.save()
            return checkin
        except IntegrityError:
            existing = _existing(checkin.participant, checkin.client_ref)
            if existing is not None:
                return existing
    raise IntegrityError("could not find a free check-in reference")


def checkin_submit(
    *,
    participant: Participant,
    client_ref: str,
    attempted_at: dt.datetime,
    photo: bytes,
    photo_content_type: str,
    lat: float | None,
    lon: float | None,
    accuracy_m: float | None,
    now: dt.datetime | None = None,
) -> Checkin:
    """Record a check-in from the phone (photo and one location fix). Idempotent on
    ``(participant, client_ref)``: a retry returns the first receipt unchanged. The photo
    waits in the officer's review queue; an enabled face matcher only adds a score."""
    existing = _existing(participant, client_ref)
    if existing is not None:
        return existing
    now = now_or_clock(now)
    plan = queries.current_plan(participant)
    if plan is None or not plan.app_checkins:
        raise ValidationError(gettext_lazy("Your plan does not include check-ins from the phone."))
    if not photo or not photo_content_type.startswith("image/"):
        raise ValidationError(gettext_lazy("A photo is needed to check in."))
    if len(photo) > settings.ONTRACK_SCHEDULE_PHOTO_MAX_BYTES:
        raise ValidationError(gettext_lazy("The photo is too large."))
    try:
        photo = photo_reencode(photo)
    except PhotoRefused:
        raise ValidationError(
            gettext_lazy("The photo could not be read. Please take it again.")
        ) from None
    photo_content_type = PHOTO_CONTENT_TYPE
    if (lat is not None and not -90 <= lat <= 90) or (lon is not None and not -180 <= lon <= 180):
        raise ValidationError(gettext_lazy("The location is not valid."))
    with transaction.atomic():
        window, attempted = _window_for_attempt(participant, attempted_at, now)
        if window is None:
            raise ValidationError(gettext_lazy("There is no check-in open for you now."))
        outcome = Outcome.ON_TIME if attempted < window.closes_at else Outcome.LATE
        checkin = Checkin(
            participant=participant,
            window=window,
            client_ref=client_ref,
            modality=Modality.APP,
            outcome=outcome,
            attempted_at=attempted,
            received_at=now,
            phone_attempted_at=attempted_at,
            photo_content_type=photo_content_type[:60],
            lat=lat,
            lon=lon,
            accuracy_m=accuracy_m,
            review=Review.PENDING,
            face_match_score=_face_score(participant, photo),
        )
        checkin.photo.save(
            f"{participant.pk}-{secrets.token_hex(8)}.jpg", ContentFile(photo), save=False
        )
        saved = _checkin_save(checkin)
        if saved is not checkin:
            checkin.photo.delete(save=False)
            return saved
        _windows_settle(participant, window, outcome, attempted=attempted, at=now)
        _late_upload_flag(saved, claimed=attempted_at, now=now)
    logger.info(
        "check-in participant=%s window=%s outcome=%s reference=%s",
        participant.pk,
        window.pk,
        outcome,
        saved.reference,
    )
    return saved


def _face_score(participant: Participant, photo: bytes) -> float | None:
    matcher = face_matcher()
    if matcher is None or not participant.photo:
        return None
    with participant.photo.open("rb") as enrolment:
        return matcher.compare(enrolment.read(), photo).score


def checkin_technical_failure(
    *,
    participant: Participant,
    client_ref: str,
    attempted_at: dt.datetime,
    reason: str,
    detail: str = "",
    now: dt.datetime | None = None,
) -> Checkin:
    """The participant tried but the camera or location was unavailable or the upload
    failed. Recorded as such (never as missed) and an officer task is opened, not an
    alert. Idempotent on ``client_ref``."""
    existing = _existing(participant, client_ref)
    if existing is not None:
        return existing
    if reason not in FailureReason.values:
        raise ValidationError(f"Unknown failure reason {reason!r}.")
    now = now_or_clock(now)
    with transaction.atomic():
        window, attempted = _window_for_attempt(participant, attempted_at, now)
        candidate = Checkin(
            participant=participant,
            window=window,
            client_ref=client_ref,
            modality=Modality.APP,
            outcome=Outcome.TECHNICAL_FAILURE,
            attempted_at=attempted,
            received_at=now,
            phone_attempted_at=attempted_at,
            failure_reason=reason,
            failure_detail=detail[:500],
        )
        checkin = _checkin_save(candidate)
        if checkin is not candidate:
            return checkin
        _windows_settle(participant, window, Outcome.TECHNICAL_FAILURE, attempted=attempted, at=now)
        _late_upload_flag(checkin, claimed=attempted_at, now=now)
        task_open(
            participant,
            kind=TaskKind.TECHNICAL_FAILURE,
            source=f"checkin:{checkin.pk}",
            summary=f"Check-in could not be completed: {FailureReason(reason).label}"
            + (f" ({detail[:100]})" if detail else ""),
            now=now,
        )
    logger.info(
        "check-in technical failure participant=%s reason=%s reference=%s",
        participant.pk,
        reason,
        checkin.reference,
    )
    return checkin


def checkin_phone(
    *, participant: Participant, received_at: dt.datetime, now: dt.datetime | None = None
) -> Checkin | None:
    """A PIN texted from the registered number (the portal checked it) while a window is
    open checks the person in, without location, where the plan allows phone check-ins.
    None when the plan does not, or no window is open. A second text in the same window
    returns the same check-in."""
    plan = queries.current_plan(participant)
    if plan is None or not plan.phone_checkins:
        return None
    with transaction.atomic():
        window = (
            CheckinWindow.objects.select_for_update()
            .filter(participant=participant, opens_at__lte=received_at, closes_at__gt=received_at)
            .order_by("-opens_at")
            .first()
        )
        if window is None:
            return None
        candidate = Checkin(
            participant=participant,
            window=window,
            client_ref=f"phone:{window.pk}",
            modality=Modality.PHONE,
            outcome=Outcome.ON_TIME,
            attempted_at=received_at,
            received_at=now_or_clock(now),
        )
        checkin = _checkin_save(candidate)
        if checkin is candidate:
            _windows_settle(
                participant, window, Outcome.ON_TIME, attempted=received_at, at=received_at
            )
    return checkin


def window_excuse(
    *, actor: User, window_id: int, reason: str, now: dt.datetime | None = None
) -> CheckinWindow:
    """An officer excuses a window (e.g. in hospital, at court) with a written reason; a
    missed-check-in alert it had raised is cleared."""
    now = now_or_clock(now)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the check-in is excused."})
    with transaction.atomic():
        window = (
            CheckinWindow.objects.select_for_update()
            .select_related("participant")
            .get(pk=window_id)
        )
        require_write(actor, window.participant)
        if window.outcome in (Outcome.ON_TIME, Outcome.LATE):
            raise ValidationError("This check-in was completed; there is nothing to excuse.")
        window.excused_reason = reason.strip()[:300]
        window.excused_by = actor
        window.save(update_fields=["excused_reason", "excused_by"])
        _window_settle(window, Outcome.EXCUSED, now)
        participant_event_record(
            window.participant,
            actor=actor,
            kind=EventKind.PLAN_CHANGED,
            summary=f"Check-in of {window.local_date} excused: {reason.strip()[:200]}",
            at=now,
        )
    return window


def checkin_review(
    *,
    actor: User,
    checkin_id: int,
    approve: bool,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Checkin:
    """An officer's identity decision on a check-in photo: approve, or reject with a
    reason. A rejection records what the officer saw; it changes no outcome by itself."""
    now = now_or_clock(now)
    with transaction.atomic():
        checkin = (
            Checkin.objects.select_for_update().select_related("participant").get(pk=checkin_id)
        )
        require_write(actor, checkin.participant)
        if checkin.review != Review.PENDING:
            raise ValidationError("This photo has already been reviewed.")
        if not approve and not reason.strip():
            raise ValidationError({"reason": "Say why the photo does not match."})
        checkin.review = Review.APPROVED if approve else Review.REJECTED
        checkin.review_reason = reason.strip()[:300]
        checkin.reviewed_by = actor
        checkin.reviewed_at = now
        checkin.save(update_fields=["review", "review_reason", "reviewed_by", "reviewed_at"])
    return checkin
