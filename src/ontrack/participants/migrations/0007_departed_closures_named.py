"""The reason "departed / removed" becomes an adverse closure reason, like absconded and
detained: it needs a named decider and a note. Closures already recorded are made to meet
that from their own history, without inventing anything:

* the decider is the actor of the case's latest "closed" event, the note the note written
  with it;
* a departure with a decider but no note gets a note saying that none was recorded;
* a departure that no person is on record deciding (closed by the system or an import run
  without an account, or seeded) is not an adverse outcome anyone decided: it is recorded as
  "other", with a note and a timeline entry keeping what it said before.

The constraint itself follows in 0008 (on PostgreSQL it cannot be added in the transaction
that updated these rows).
"""

from typing import Any

from django.db import migrations, models
from django.utils import timezone

NO_NOTE = "No note was recorded: closed as departed / removed before a note was required."
NO_DECIDER = (
    "Recorded as departed / removed with no named decider, before ontrack required one; "
    "kept as 'other' because no person is on record deciding it."
)


def departures_named(apps: Any, schema_editor: Any) -> None:
    Participant = apps.get_model("participants", "Participant")
    ParticipantEvent = apps.get_model("participants", "ParticipantEvent")
    departed = Participant.objects.filter(closure_reason="departed")
    for person in departed.filter(models.Q(closed_by__isnull=True) | models.Q(closure_note="")):
        closed = (
            ParticipantEvent.objects.filter(participant_id=person.pk, kind="closed")
            .order_by("-at", "-id")
            .first()
        )
        if person.closed_by_id is None and closed is not None:
            person.closed_by_id = closed.actor_id
        if not person.closure_note.strip():
            written = (closed.data or {}).get("note", "") if closed is not None else ""
            person.closure_note = str(written).strip() or NO_NOTE
        if person.closed_by_id is None:
            before = person.closure_note
            person.closure_reason = "other"
            person.closure_note = NO_DECIDER if before == NO_NOTE else f"{NO_DECIDER} {before}"
            ParticipantEvent.objects.create(
                participant_id=person.pk,
                actor=None,
                kind="edited",
                summary="Closure reason 'departed / removed' recorded as 'other': no named decider",
                data={"closure_reason": ["departed", "other"]},
                at=timezone.now(),
            )
        person.save(update_fields=["closed_by", "closure_note", "closure_reason"])


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0006_hearing_outcome_recorded_at"),
    ]

    operations = [
        migrations.RunPython(departures_named, migrations.RunPython.noop),
    ]
