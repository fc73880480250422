"""The demo's on-call rota: each office has one of its officers on call for the week from
the seeding on, with a number the page can text, and seeding again adds no second shift."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ontrack import seed as demo
from ontrack.accounts.models import Office, Role
from ontrack.alerts import demo_data
from ontrack.alerts.models import OnCallShift
from ontrack.alerts.on_call import on_call_at, shift_problem
from ontrack.participants.models import Phone

pytestmark = pytest.mark.django_db


def test_each_demo_office_has_an_officer_on_call_for_the_week_with_a_free_number() -> None:
    before = timezone.now()
    demo.seed(participants=20, seed_value=5, offices=2, officers_per_office=2)
    offices = list(Office.objects.order_by("pk"))
    assert len(offices) == 2
    numbers = []
    for office in offices:
        shift = on_call_at(office.pk, timezone.now())
        assert shift is not None, f"someone is on call for {office}"
        assert (shift.person.office_id, shift.person.role) == (office.pk, Role.OFFICER)
        assert shift.ends_at - shift.starts_at == dt.timedelta(days=7)
        assert before <= shift.starts_at <= timezone.now()
        assert shift_problem(shift) == "", "the person on call can be texted"
        assert shift.person.phone.startswith(f"+1{office.phone[2:5]}55501")
        numbers.append(shift.person.phone)
    assert len(set(numbers)) == len(numbers)
    assert not Phone.objects.filter(number__in=numbers).exists(), "no participant's number"


def test_seeding_again_adds_no_second_shift() -> None:
    demo.seed(participants=5, seed_value=5, offices=1, officers_per_office=1)
    office = Office.objects.get()
    demo_data.seed(program=office.program, seed_value=5, now=timezone.now())
    assert OnCallShift.objects.count() == 1
