"""The schedule console in a real headless Chromium at phone width: the participant page
loads the schedule panel by htmx, and attendance is marked on the day page in place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from ontrack.schedule.models import Appointment, AppointmentStatus, CheckinWindow
from ontrack.schedule.services.appointments import appointment_book

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_officer_sees_the_panel_and_marks_attendance_on_a_phone(
    live_server: LiveServer,
    make_participant: Callable[..., Participant],
    officer: User,
    browser_page: Any,
    open_window: Callable[..., CheckinWindow],
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    participant = make_participant(given_name="Guerline", family_name="Exantus")
    open_window(participant)
    started = timezone.now() - dt.timedelta(minutes=30)
    appointment = appointment_book(
        participant,
        actor=officer,
        type="plan_review",
        kind="home_visit",
        starts_at=started,
        now=started - dt.timedelta(days=1),
    )
    page = browser_page
    browser_sign_in(page, live_server.url, officer)
    page.goto(f"{live_server.url}/participants/{participant.pk}/")
    page.wait_for_selector("#schedule-panel h3:text('Compliance')")
    assert "Plan review" in page.inner_text("#schedule-panel")

    # The day page shows the office's local day: name the appointment's own day, so that a
    # run just after local midnight still finds it.
    local_day = started.astimezone(ZoneInfo(participant.office.time_zone)).date()
    page.goto(f"{live_server.url}/schedule/today/?date={local_day.isoformat()}")
    page.evaluate("window.__marker = 'same page'")
    page.click(f"#appointment-{appointment.pk} button:text('Attended')")
    page.wait_for_selector(f"#appointment-{appointment.pk} .badge:text('Attended')")
    assert page.evaluate("window.__marker") == "same page"
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.ATTENDED
    wider_than_phone = page.evaluate(
        """Array.from(document.querySelectorAll('body *'))
             .filter(e => e.getBoundingClientRect().right + window.scrollX > 361)
             .map(e => e.tagName + '.' + e.className).slice(0, 10)"""
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 361, wider_than_phone
