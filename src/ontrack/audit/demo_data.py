"""Demo access log: 90 days of staff reading records, so ``/audit/`` shows what an
auditor would review rather than only their own visit.

The audit app sits at the bottom of the stack and knows no participant, so the seeder (which
does) hands :func:`history` who read what and when; this module writes the rows. The log's
``at`` is set on insert (``auto_now_add``), so the past times are written afterwards in one
batched update, and the entries are indexed by whom they are about with those times.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction

from ontrack.audit.models import AccessLogEntry
from ontrack.audit.services import access_log_subjects_write


@dataclass(frozen=True, slots=True)
class Read:
    """One access-log entry as the views would have written it."""

    at: dt.datetime
    user_id: int
    username: str
    participant_id: int | None
    action: str
    what: str
    path: str


@transaction.atomic
def history(reads: Sequence[Read]) -> int:
    """Write ``reads`` with their own times; returns how many."""
    rows = AccessLogEntry.objects.bulk_create(
        [
            AccessLogEntry(
                user_id=r.user_id,
                username=r.username,
                participant_id=r.participant_id,
                action=r.action,
                what=r.what,
                path=r.path,
                ip_address="10.20.0." + str(10 + r.user_id % 200),
                user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0",
            )
            for r in reads
        ],
        batch_size=1000,
    )
    table = connection.ops.quote_name(AccessLogEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET at = %s WHERE id = %s",  # noqa: S608 - a fixed table name
            [(r.at, row.pk) for r, row in zip(reads, rows, strict=True)],
        )
    for r, row in zip(reads, rows, strict=True):
        row.at = r.at
    access_log_subjects_write(rows)
    return len(rows)
