"""Phone check-in: a text that is only the PIN checks the participant in; a wrong PIN does
not, counts towards the lockout, and the answer is in the participant's language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.utils import timezone

from ontrack.messaging import reply_handlers
from ontrack.participants.models import Participant
from ontrack.participants.services import PlanData
from ontrack.portal.phone_checkin import pin_reply
from ontrack.portal.services import pin_set
from ontrack.schedule.models import Checkin, CheckinWindow
from tests.support import first_phone

pytestmark = pytest.mark.django_db


def _phone_plan(**flags: bool) -> PlanData:
    review = timezone.localdate() + dt.timedelta(days=90)
    return PlanData(level="standard", review_date=review, **flags)


def _reply(participant: Participant, body: str) -> reply_handlers.InboundReply:
    return reply_handlers.InboundReply(
        participant_id=participant.pk,
        from_number=first_phone(participant),
        body=body,
        received_at=timezone.now(),
        language=participant.preferred_language,
    )


def test_pin_by_text_checks_in_and_answers_in_creole(
    make_participant: Callable[..., Participant],
    open_checkin_window: Callable[[Participant], CheckinWindow],
    checkins_of: Callable[[Participant], list[Checkin]],
) -> None:
    participant = make_participant(preferred_language="ht", plan=_phone_plan(phone_checkins=True))
    pin_set(participant, "4812")
    open_checkin_window(participant)
    answer = pin_reply(_reply(participant, "4812"))
    (checkin,) = checkins_of(participant)
    assert answer is not None
    assert checkin.reference in answer
    assert "Nimewo referans ou se" in answer


def test_wrong_pin_by_text_does_not_check_in(
    make_participant: Callable[..., Participant],
    open_checkin_window: Callable[[Participant], CheckinWindow],
    checkins_of: Callable[[Participant], list[Checkin]],
) -> None:
    participant = make_participant(preferred_language="es", plan=_phone_plan(phone_checkins=True))
    pin_set(participant, "4812")
    open_checkin_window(participant)
    answer = pin_reply(_reply(participant, "1111"))
    assert answer == "Este PIN no es correcto. Envíe su PIN otra vez."
    assert checkins_of(participant) == []


def test_right_pin_does_not_check_in_where_the_plan_has_no_phone_checkins(
    make_participant: Callable[..., Participant],
    open_checkin_window: Callable[[Participant], CheckinWindow],
    checkins_of: Callable[[Participant], list[Checkin]],
) -> None:
    participant = make_participant(preferred_language="en", plan=_phone_plan(phone_checkins=False))
    pin_set(participant, "4812")
    open_checkin_window(participant)
    assert pin_reply(_reply(participant, "4812")) == "There is no check-in open for you now."
    assert checkins_of(participant) == []
