"""Demo schedules: every open case with app check-ins gets one, past windows carry a mix
of outcomes with their attempts, the portal's PIN holders can check in at any hour, and
seeding again adds nothing twice."""

from __future__ import annotations

import pytest
from django.utils import timezone

from ontrack import seed as demo
from ontrack.participants.models import Participant, Status
from ontrack.schedule import queries
from ontrack.schedule.models import Appointment, Checkin, CheckinSchedule, CheckinWindow, Outcome
from ontrack.schedule.services.watchdog import missed_checkins_mark

pytestmark = pytest.mark.django_db


def test_demo_seeds_schedules_outcomes_and_appointments() -> None:
    demo.seed(participants=80, seed_value=11, offices=2, officers_per_office=2)
    open_cases = Participant.objects.filter(status__in=[Status.ENROLLED, Status.ACTIVE])
    assert (
        CheckinSchedule.objects.count()
        == open_cases.filter(plans__effective_to__isnull=True, plans__app_checkins=True).count()
    )
    now = timezone.now()
    past = CheckinWindow.objects.filter(closes_at__lt=now)
    outcomes = set(past.values_list("outcome", flat=True))
    assert {Outcome.ON_TIME, Outcome.MISSED} <= outcomes
    assert Outcome.DUE not in outcomes
    assert (
        Checkin.objects.filter(outcome=Outcome.ON_TIME).count()
        == past.filter(outcome=Outcome.ON_TIME).count()
    )
    assert CheckinWindow.objects.filter(opens_at__gt=now).exists()
    assert Appointment.objects.filter(status="booked", starts_at__gt=now).exists()
    first = open_cases.order_by("case_number").first()
    assert first is not None
    assert queries.checkin_window_current(first, now) is not None
    assert missed_checkins_mark(now=now) == 0


def test_seeding_again_adds_no_second_schedule() -> None:
    demo.seed(participants=20, seed_value=5, offices=1, officers_per_office=1)
    schedules = CheckinSchedule.objects.count()
    windows = CheckinWindow.objects.count()
    from ontrack.schedule import demo_data

    participant = Participant.objects.first()
    assert participant is not None, "the demo enrolled participants"
    program = participant.program
    demo_data.seed(program=program, seed_value=5, now=timezone.now())
    assert CheckinSchedule.objects.count() == schedules
    assert CheckinWindow.objects.count() == windows
