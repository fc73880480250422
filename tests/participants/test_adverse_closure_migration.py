"""Upgrading a database whose "departed / removed" closures were recorded before that reason
needed a named decider and a note: the decider and the note are taken from the case's own
history where it has them; a departure no person is on record deciding stops being recorded
as one (it becomes "other", and the case's timeline says so), because the system never
records an adverse outcome on its own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from tests.support import latest_migrations, migrate_to

BEFORE = [("participants", "0006_hearing_outcome_recorded_at")]


@pytest.mark.django_db(transaction=True)
def test_existing_departures_keep_their_decider_or_stop_being_adverse(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    decided = make_participant()
    unnamed = make_participant()
    latest = latest_migrations()
    old = migrate_to(BEFORE)
    Participant = old.get_model("participants", "Participant")
    Event = old.get_model("participants", "ParticipantEvent")
    now = timezone.now()
    for person, actor_id, note in ((decided, officer.pk, "Removed on 2 Dec"), (unnamed, None, "")):
        Participant.objects.filter(pk=person.pk).update(
            status="closed", closure_reason="departed", closed_at=now, closure_note=""
        )
        Event.objects.create(
            participant_id=person.pk,
            actor_id=actor_id,
            kind="closed",
            summary="Closed: Departed / removed",
            data={"reason": "departed", "note": note},
            at=now - dt.timedelta(minutes=1),
        )
    migrate_to(latest)

    decided.refresh_from_db()
    assert (decided.closure_reason, decided.closed_by_id, decided.closure_note) == (
        "departed",
        officer.pk,
        "Removed on 2 Dec",
    ), "the decider and the note come from the case's own history"
    unnamed.refresh_from_db()
    assert unnamed.closure_reason == "other", "no person decided it: not recorded as adverse"
    assert "departed / removed" in unnamed.closure_note.lower()
    assert unnamed.events.filter(summary__icontains="departed").count() >= 2, (
        "the change of the recorded reason is on the case's timeline"
    )
