"""Counsel of record, with the participant's consent, gets a copy of every notice the person
gets about their obligations and the decisions made about them (hearing reminders, office
closures, declined reschedules, review outcomes, appointments), never a sign-in code and
never without consent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Office, Role, User
from ontrack.messaging.models import Message, Recipient
from ontrack.participants.models import Participant
from ontrack.participants.services import counsel_set, hearing_add
from ontrack.schedule.models import Appointment

pytestmark = pytest.mark.django_db


def _with_counsel(participant: Participant, *, consent: bool = True) -> Participant:
    counsel_set(
        participant,
        actor=SYSTEM,
        name="Ana Abogada",
        email="ana@example.org",
        consent_to_notices=consent,
    )
    return participant


def _book(participant: Participant, office: Office) -> Appointment:
    """A routine appointment a week ahead in the office's nearest free slot (schedule's
    services, as the console books one)."""
    from ontrack.schedule.queries import nearest_free_slot
    from ontrack.schedule.services import appointment_book

    office.opening_hours = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    office.save()
    now = timezone.now()
    slot = nearest_free_slot(office, now + dt.timedelta(days=7), not_before=now)
    assert slot is not None
    return appointment_book(
        participant, actor=SYSTEM, type="routine_checkin", starts_at=slot.starts_at
    )


def _copies(participant: Participant, template_key: str) -> list[Message]:
    return list(
        Message.objects.filter(
            participant=participant, recipient=Recipient.COUNSEL, template_key=template_key
        )
    )


def test_counsel_gets_a_copy_of_each_hearing_reminder(
    make_participant: Callable[..., Participant],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    participant = _with_counsel(make_participant())
    with django_capture_on_commit_callbacks(execute=True):
        hearing_add(
            participant,
            actor=SYSTEM,
            scheduled_at=timezone.now() + dt.timedelta(days=10),
            court="Newark Immigration Court",
            kind="master_calendar",
        )
    own = Message.objects.filter(
        participant=participant, recipient=Recipient.PARTICIPANT, template_key="hearing_reminder"
    )
    copies = _copies(participant, "hearing_reminder")
    assert own.count() >= 1
    assert sorted(c.send_at for c in copies) == sorted(m.send_at for m in own), (
        "one copy due with each of the person's own hearing reminders"
    )
    assert all(c.to == "ana@example.org" for c in copies)


def test_counsel_is_told_when_an_office_closure_moves_the_appointment(
    make_participant: Callable[..., Participant], make_user: Callable[..., User], office: Office
) -> None:
    from ontrack.schedule.services import office_close_day

    participant = _with_counsel(make_participant())
    appointment = _book(participant, office)
    office_close_day(
        actor=make_user(Role.SUPERVISOR),
        office=office,
        day=appointment.starts_at.astimezone(ZoneInfo(office.time_zone)).date(),
        reason="Snow",
    )
    assert _copies(participant, "appointment_moved"), "counsel hears of the new time"


def test_counsel_is_told_of_a_declined_reschedule(
    make_participant: Callable[..., Participant],
    office: Office,
    officer: User,
    portal_client: Callable[..., Client],
) -> None:
    from ontrack.schedule.models import RescheduleRequest
    from ontrack.schedule.services import reschedule_decide

    participant = _with_counsel(make_participant())
    appointment = _book(participant, office)
    portal_client(participant).post(
        f"/me/appointments/{appointment.pk}/reschedule/", {"reason": "Trabajo ese día."}
    )
    request = RescheduleRequest.objects.get(participant=participant)
    reschedule_decide(actor=officer, request_id=request.pk, approve=False, note="No slots.")
    (copy,) = _copies(participant, "reschedule_declined")
    assert copy.to == "ana@example.org"
    assert participant.full_name in copy.body


def test_counsel_is_told_the_outcome_of_a_review(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    portal_client: Callable[..., Client],
) -> None:
    from ontrack.reviews.models import SupervisionReview
    from ontrack.reviews.services import review_decide

    participant = _with_counsel(make_participant())
    portal_client(participant).post("/me/review/", {"reason": "Cumplo con todo."})
    review = SupervisionReview.objects.get(participant=participant)
    review_decide(
        user=make_user(Role.SUPERVISOR), review_id=review.pk, step_down=False, reason="Too soon."
    )
    assert len(_copies(participant, "review_outcome")) == 1


def test_counsel_never_gets_a_sign_in_code(
    make_participant: Callable[..., Participant], client: Client
) -> None:
    participant = _with_counsel(make_participant())
    client.post("/me/sign-in/", {"phone": "(973) 555-0142"})
    assert Message.objects.filter(participant=participant, template_key="portal_sign_in")
    assert not _copies(participant, "portal_sign_in"), "a sign-in code is the person's alone"


def test_without_consent_counsel_gets_no_copy(
    make_participant: Callable[..., Participant],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    participant = _with_counsel(make_participant(), consent=False)
    with django_capture_on_commit_callbacks(execute=True):
        hearing_add(
            participant,
            actor=SYSTEM,
            scheduled_at=timezone.now() + dt.timedelta(days=10),
            court="Newark Immigration Court",
            kind="master_calendar",
        )
    assert not Message.objects.filter(recipient=Recipient.COUNSEL).exists()


def test_every_shipped_template_is_decided_copied_to_counsel_or_not() -> None:
    from ontrack.messaging.default_templates import TEMPLATES
    from ontrack.messaging.services.counsel_copies import COPIED_TO_COUNSEL, NOT_COPIED_TO_COUNSEL

    assert not COPIED_TO_COUNSEL & NOT_COPIED_TO_COUNSEL
    assert set(TEMPLATES) == COPIED_TO_COUNSEL | NOT_COPIED_TO_COUNSEL, (
        "a new notice must be classed as copied to consenting counsel or not, with a reason"
    )
