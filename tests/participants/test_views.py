import datetime as dt
import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from ontrack.accounts.models import Office, Role, User
from ontrack.participants.models import Participant, Status

pytestmark = pytest.mark.django_db


def _enrol_form(office: Office, **overrides: Any) -> dict[str, Any]:
    data = {
        "case_number": "A-2024-0001",
        "given_name": "Wideline",
        "family_name": "Joseph",
        "date_of_birth": "1994-03-02",
        "preferred_language": "ht",
        "phones": "973-555-0107",
        "office": office.pk,
        "line1": "12 Market St",
        "city": "Newark",
        "level": "standard",
        "app_checkins": "on",
        "review_date": (timezone.localdate() + dt.timedelta(days=60)).isoformat(),
    }
    data.update(overrides)
    return data


def test_officer_enrols_through_the_form(
    officer: User, office: Office, client_for: Callable[[User], Client]
) -> None:
    response = client_for(officer).post("/participants/enrol/", _enrol_form(office))
    assert response.status_code == 302
    p = Participant.objects.get(case_number="A-2024-0001")
    assert (p.officer, p.preferred_language, p.phones.get().number) == (
        officer,
        "ht",
        "+19735550107",
    )


def test_enrol_form_shows_each_error_next_to_its_field(
    officer: User, office: Office, client_for: Callable[[User], Client]
) -> None:
    response = client_for(officer).post(
        "/participants/enrol/",
        _enrol_form(office, phones="12", date_of_birth="2999-01-01", review_date="2001-01-01"),
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "is not a valid phone number" in body
    assert "The date of birth must be in the past." in body
    assert "The review date cannot be in the past." in body
    assert not Participant.objects.exists()


def test_duplicate_case_number_is_shown_on_the_form(
    make_participant: Callable[..., Participant],
    officer: User,
    office: Office,
    client_for: Callable[[User], Client],
) -> None:
    make_participant(case_number="A-2024-0001")
    response = client_for(officer).post("/participants/enrol/", _enrol_form(office))
    assert response.status_code == 400
    assert "already enrolled" in response.content.decode()


def test_caseload_search_ignores_accents_and_word_order(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    make_participant(given_name="José", family_name="Núñez", case_number="Z-1")
    make_participant(given_name="Ana", family_name="Pierre", case_number="Z-2")
    client = client_for(officer)
    body = client.get("/participants/", {"q": "nunez jose"}).content.decode()
    assert "Núñez" in body
    assert "Pierre" not in body
    assert "Z-2" in client.get("/participants/", {"q": "z-2"}).content.decode()


def test_caseload_filters_sort_and_paginates(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
    settings: Settings,
) -> None:
    settings.ONTRACK_PAGE_SIZE = 2
    for name in ["Alvarez", "Baptiste", "Costa"]:
        make_participant(family_name=name)
    client = client_for(officer)
    first = client.get("/participants/", {"sort": "-name"}).content.decode()
    assert first.index("Costa") < first.index("Baptiste")
    assert "Alvarez" not in first
    next_link = re.search(r'href="\?([^"]*)" rel="next"', first)
    assert next_link, "the first page links to the next"
    second = client.get("/participants/?" + html.unescape(next_link.group(1))).content.decode()
    assert "Alvarez" in second
    assert "Costa" not in second
    empty = client.get("/participants/", {"status": "closed"}).content.decode()
    assert "No participant matches these filters" in empty


def test_htmx_request_gets_only_the_table(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    make_participant()
    response = client_for(officer).get(
        "/participants/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="caseload"
    )
    body = response.content.decode()
    assert "<table" in body
    assert "<html" not in body


def test_close_form_requires_a_note_for_absconded(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    p = make_participant()
    client = client_for(officer)
    response = client.post(f"/participants/{p.pk}/close/", {"reason": "absconded"})
    assert response.status_code == 400
    assert "Explain the decision" in response.content.decode()
    response = client.post(
        f"/participants/{p.pk}/close/", {"reason": "absconded", "note": "No contact 30 days"}
    )
    assert response.status_code == 302
    p.refresh_from_db()
    assert p.status == Status.CLOSED


def test_plan_change_form_adds_a_version(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    p = make_participant()
    response = client_for(officer).post(
        f"/participants/{p.pk}/plan/",
        {
            "level": "low",
            "app_checkins": "on",
            "review_date": (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
            "reason": "Step-down after review",
        },
    )
    assert response.status_code == 302
    assert p.plans.count() == 2


def test_hearing_form_reads_the_time_in_the_courts_zone(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    p = make_participant()
    response = client_for(officer).post(
        f"/participants/{p.pk}/hearings/add/",
        {
            "scheduled_at": "2027-03-15T09:00",
            "time_zone": "America/Los_Angeles",
            "court": "Los Angeles Immigration Court",
            "kind": "master_calendar",
        },
    )
    assert response.status_code == 302
    hearing = p.hearings.get()
    assert hearing.scheduled_at == dt.datetime(2027, 3, 15, 16, 0, tzinfo=dt.UTC)


def test_participant_page_shows_profile_plan_and_history(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    p = make_participant(given_name="Guerline", family_name="Exantus")
    body = client_for(officer).get(f"/participants/{p.pk}/").content.decode()
    for text in ["Guerline", "Exantus", "+19735550142", "Standard", "History", "Enrolled"]:
        assert text in body


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 120, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_photo_is_served_only_to_staff_who_may_see_the_participant(
    make_participant: Callable[..., Participant],
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from ontrack.audit.models import AccessLogEntry

    p = make_participant()
    client = client_for(officer)
    form = {
        "case_number": p.case_number,
        "given_name": p.given_name,
        "family_name": p.family_name,
        "date_of_birth": "1990-05-17",
        "preferred_language": "es",
        "time_zone": p.time_zone,
        "phones": "+19735550142",
        "photo": SimpleUploadedFile("me.jpg", _jpeg(), "image/jpeg"),
    }
    assert client.post(f"/participants/{p.pk}/edit/", form).status_code == 302
    p.refresh_from_db()
    assert p.photo
    assert "/media/" not in client.get(f"/participants/{p.pk}/").content.decode()
    photo = client.get(f"/participants/{p.pk}/photo/")
    assert photo.status_code == 200
    assert photo.getvalue()[:2] == b"\xff\xd8"
    assert AccessLogEntry.objects.filter(participant_id=p.pk, what="participant photo").exists()
    assert (
        client_for(make_user(Role.OFFICER)).get(f"/participants/{p.pk}/photo/").status_code == 404
    )


def test_a_file_that_is_not_an_image_is_refused(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    p = make_participant()
    form = {
        "case_number": p.case_number,
        "given_name": p.given_name,
        "family_name": p.family_name,
        "date_of_birth": "1990-05-17",
        "preferred_language": "es",
        "time_zone": p.time_zone,
        "photo": SimpleUploadedFile("x.jpg", b"not an image", "image/jpeg"),
    }
    response = client_for(officer).post(f"/participants/{p.pk}/edit/", form)
    assert response.status_code == 400
    p.refresh_from_db()
    assert not p.photo
