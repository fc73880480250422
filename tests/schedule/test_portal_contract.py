"""What the portal and texted replies get from schedule: obligations in the person's
language with the stated purpose, the current window, CONFIRM and RESCHEDULE by text, and
the face matcher that stays off unless a program turns it on."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Callable

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone, translation
from PIL import Image
from pytest_django.fixtures import Settings

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Office, User
from ontrack.messaging.models import InboundMessage, Message
from ontrack.messaging.services import inbound_receive
from ontrack.participants.models import Participant
from ontrack.participants.services import AddressData, address_change, hearing_add
from ontrack.schedule import face_match, queries
from ontrack.schedule.face_match import FaceMatch
from ontrack.schedule.models import Appointment, Checkin, CheckinWindow, RescheduleRequest
from ontrack.schedule.services.appointments import appointment_book
from ontrack.schedule.services.checkins import checkin_submit
from tests.schedule.conftest import JPEG
from tests.support import first_phone

pytestmark = pytest.mark.django_db


def _slot(office: Office, days: int = 3) -> dt.datetime:
    now = timezone.now()
    slot = queries.nearest_free_slot(office, now + dt.timedelta(days=days), not_before=now)
    assert slot is not None
    return slot.starts_at


def test_obligations_list_windows_appointments_and_hearings_in_order(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    officer: User,
    open_window: Callable[..., CheckinWindow],
) -> None:
    participant = make_participant()
    now = timezone.now()
    window = open_window(participant, now)
    appointment = appointment_book(
        participant, actor=officer, type="hearing_preparation", starts_at=_slot(hours_office, 4)
    )
    hearing = hearing_add(
        participant,
        actor=SYSTEM,
        scheduled_at=now + dt.timedelta(days=10),
        court="Newark Immigration Court",
        court_address="970 Broad St, Newark, NJ",
        kind="individual",
    )
    with translation.override("en"):
        items = queries.obligations_upcoming(participant, now=now)
    assert [(o.kind, o.ref_id) for o in items] == [
        ("checkin", window.pk),
        ("appointment", appointment.pk),
        ("hearing", hearing.pk),
    ]
    office_item = items[1]
    assert office_item.purpose == "Hearing preparation"
    assert office_item.place == "Newark"
    assert "Broad St" in office_item.address
    assert office_item.map_url.startswith("https://www.openstreetmap.org/search?query=")
    assert items[2].title == "Court hearing"


def test_obligations_are_in_the_active_language(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant()
    appointment_book(
        participant, actor=officer, type="device_fitting", starts_at=_slot(hours_office)
    )
    with translation.override("ht"):
        (item,) = queries.obligations_upcoming(participant, now=timezone.now())
    assert item.purpose == "Mete aparèy la"
    assert item.title == "Randevou nan biwo a"
    with translation.override("es"):
        (item,) = queries.obligations_upcoming(participant, now=timezone.now())
    assert item.purpose == "Colocación del dispositivo"


def test_home_visit_obligation_shows_the_home_address_without_a_map(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant()
    address_change(participant, actor=SYSTEM, address=AddressData(line1="12 Elm St", city="Newark"))
    appointment_book(
        participant,
        actor=officer,
        type="routine_checkin",
        kind="home_visit",
        starts_at=timezone.now() + dt.timedelta(days=2),
    )
    with translation.override("en"):
        (item,) = queries.obligations_upcoming(participant, now=timezone.now())
    assert item.place == "At your home"
    assert "12 Elm St" in item.address
    assert item.map_url == ""


def test_current_window_is_none_once_checked_in(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    now = timezone.now()
    window = open_window(participant, now)
    assert queries.checkin_window_current(participant, now) == window
    checkin_submit(
        participant=participant,
        client_ref=str(uuid.uuid4()),
        attempted_at=now,
        photo=JPEG,
        photo_content_type="image/jpeg",
        lat=None,
        lon=None,
        accuracy_m=None,
        now=now,
    )
    assert queries.checkin_window_current(participant, now) is None


def _text(participant: Participant, body: str) -> InboundMessage:
    return inbound_receive(
        provider="console",
        provider_message_id=str(uuid.uuid4()),
        from_number=first_phone(participant),
        body=body,
        received_at=timezone.now(),
    )


def test_confirm_by_text_confirms_the_next_appointment(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant(preferred_language="es")
    appointment = appointment_book(
        participant, actor=officer, type="routine_checkin", starts_at=_slot(hours_office)
    )
    _text(participant, "SÍ")
    assert Appointment.objects.get(pk=appointment.pk).confirmed_at is not None
    answer = Message.objects.filter(participant=participant).order_by("-pk").first()
    assert answer is not None
    assert "Gracias. Su cita del" in answer.body


def test_reschedule_by_text_opens_a_request_for_the_officer(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant(preferred_language="en")
    appointment = appointment_book(
        participant, actor=officer, type="routine_checkin", starts_at=_slot(hours_office)
    )
    _text(participant, "RESCHEDULE")
    request = RescheduleRequest.objects.get(participant=participant)
    assert request.appointment == appointment
    assert request.reason.startswith("By text message")


def test_no_face_match_score_unless_a_matcher_is_enabled(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    settings: Settings,
) -> None:
    participant = make_participant()
    participant.photo.save("enrolment.jpg", ContentFile(JPEG))
    open_window(participant)

    def submit() -> Checkin:
        return checkin_submit(
            participant=participant,
            client_ref=str(uuid.uuid4()),
            attempted_at=timezone.now(),
            photo=JPEG,
            photo_content_type="image/jpeg",
            lat=None,
            lon=None,
            accuracy_m=None,
        )

    assert settings.ONTRACK_SCHEDULE_FACE_MATCHER == ""
    assert submit().face_match_score is None

    class SameSize:
        """A program's matcher (here: pictures of the same size match; the check-in photo
        it gets is the re-encoded one)."""

        def compare(self, enrolment_photo: bytes, checkin_photo: bytes) -> FaceMatch:
            sizes = {
                Image.open(io.BytesIO(photo)).size for photo in (enrolment_photo, checkin_photo)
            }
            return FaceMatch(score=1.0 if len(sizes) == 1 else 0.0)

    face_match.face_matcher_register("same-size", SameSize)
    settings.ONTRACK_SCHEDULE_FACE_MATCHER = "same-size"
    checkin = submit()
    assert checkin.face_match_score == 1.0
    assert checkin.review == "pending"


def test_naming_an_unregistered_matcher_fails_loudly(settings: Settings) -> None:
    settings.ONTRACK_SCHEDULE_FACE_MATCHER = "nothing-registered"
    with pytest.raises(Exception, match="no face matcher is registered"):
        face_match.face_matcher()
