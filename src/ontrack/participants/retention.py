"""Closed cases are kept for the retention period after closure, then removed whole.

Removing the participant row removes everything that hangs from it (plans, hearings,
check-ins, alerts, messages, reviews...), so a closed case cannot leave personal data
behind in another table. What survives is what the policy keeps elsewhere: the access log
(its own period) and the counts each purge run records.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from ontrack.participants.models import Participant, Status


def closed_cases_purge_before(cutoff: dt.datetime, *, chunk: int = 200) -> int:
    """Delete cases closed before ``cutoff``; returns how many cases were removed."""
    removed = 0
    while True:
        ids = list(
            Participant.objects.filter(status=Status.CLOSED, closed_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            return removed
        with transaction.atomic():
            Participant.objects.filter(pk__in=ids).delete()
        removed += len(ids)
