"""No closure as absconded or detained without a named decider and a note: the service asks
for both, records who decided, and the database refuses a row that lacks either, whoever
writes it."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from ontrack.participants.models import Participant
from ontrack.participants.services import participant_close

pytestmark = pytest.mark.django_db


def test_closing_a_case_records_who_decided_it(make_participant, officer):
    person = make_participant()
    participant_close(person, actor=officer, reason="detained", note="Detained by ICE on 3 Dec")
    person.refresh_from_db()
    assert person.closed_by == officer
    assert person.closure_note == "Detained by ICE on 3 Dec"


@pytest.mark.parametrize("reason", ["absconded", "detained"])
def test_the_database_refuses_an_adverse_closure_without_a_named_decider(make_participant, reason):
    person = make_participant()
    with pytest.raises(IntegrityError), transaction.atomic():
        Participant.objects.filter(pk=person.pk).update(
            status="closed", closure_reason=reason, closure_note="No contact for 30 days"
        )


def test_the_database_refuses_an_adverse_closure_without_a_note(make_participant, officer):
    person = make_participant()
    with pytest.raises(IntegrityError), transaction.atomic():
        Participant.objects.filter(pk=person.pk).update(
            status="closed", closure_reason="absconded", closed_by=officer
        )


def test_an_ordinary_closure_needs_neither(make_participant):
    person = make_participant()
    Participant.objects.filter(pk=person.pk).update(status="closed", closure_reason="departed")
    assert Participant.objects.get(pk=person.pk).closure_reason == "departed"
