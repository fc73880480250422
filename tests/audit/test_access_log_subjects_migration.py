"""Upgrading a database whose access log was written before the index of whom each entry is
about: the migration fills it from the entries themselves, so that the participant filter
finds the reads and lists of the years already logged."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ontrack.audit.models import AccessLogSubject
from tests.support import latest_migrations, migrate_to

BEFORE = [("audit", "0003_list_entries_and_participant_readers")]


@pytest.mark.django_db(transaction=True)
def test_entries_already_logged_are_indexed_by_everyone_they_are_about() -> None:
    latest = latest_migrations()
    old = migrate_to(BEFORE)
    Entry = old.get_model("audit", "AccessLogEntry")
    at = timezone.now() - dt.timedelta(days=400)
    written = {
        "a record": Entry.objects.create(action="view", what="a record", participant_id=12),
        "a list": Entry.objects.create(action="list", what="a list", participant_ids=",3,45,6,"),
        "own data": Entry.objects.create(
            action="view", what="own data", participant_id=7, reader_participant_id=7
        ),
        "own list": Entry.objects.create(
            action="list", what="own list", participant_ids=",8,9,", reader_participant_id=9
        ),
        "read by one": Entry.objects.create(
            action="view", what="read by one", participant_id=10, reader_participant_id=11
        ),
        "a query": Entry.objects.create(action="list", what="a query"),
    }
    Entry.objects.update(at=at)
    migrate_to(latest)

    indexed = sorted(
        (row.entry.what, row.subject_id, row.at == at)
        for row in AccessLogSubject.objects.select_related("entry").filter(
            entry__in=[entry.pk for entry in written.values()]
        )
    )
    assert indexed == [
        ("a list", 3, True),
        ("a list", 6, True),
        ("a list", 45, True),
        ("a record", 12, True),
        ("own data", 7, True),
        ("own list", 8, True),
        ("own list", 9, True),
        ("read by one", 10, True),
        ("read by one", 11, True),
    ], "each participant named, listed or reading, once per entry, at the entry's time"
