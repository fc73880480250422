"""Closed cases are kept for the retention period after closure, then removed whole.

Removing the participant row removes everything that hangs from it by a cascading foreign
key (plans, hearings, check-ins, alerts, messages, reviews...). Some rows about a person
deliberately carry no cascading key: positions (no database constraint, so the gateway's
inserts never check one) and device events and commands (kept, unlinked, if a participant
row were ever deleted by hand). The apps that own them sit above participants, so they
register a purge here at start-up (``closed_case_purge_register``) and it runs in the same
transaction as the case's removal: a closed case cannot leave where its person was behind.
What survives is what the policy keeps elsewhere: the access log (its own period) and the
counts each purge run records.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence

from django.db import transaction

from ontrack.participants.models import Participant, Status

logger = logging.getLogger(__name__)

# Removes the rows of the given participants that their deletion would not take with it;
# returns how many rows went.
ClosedCasePurge = Callable[[Sequence[int]], int]

_case_purges: dict[str, ClosedCasePurge] = {}


def closed_case_purge_register(name: str, purge: ClosedCasePurge) -> None:
    """Run ``purge`` with the ids of every closed case about to be removed. Registering the
    same name again replaces it (an app's ``ready()`` may run twice in tests)."""
    _case_purges[name] = purge


def closed_cases_purge_before(cutoff: dt.datetime, *, chunk: int = 200) -> int:
    """Delete cases closed before ``cutoff``, with the rows the registered purges remove
    for them; returns how many cases were removed."""
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
            for name, purge in _case_purges.items():
                rows = purge(ids)
                logger.info("closed-case purge %s removed=%d cases=%d", name, rows, len(ids))
            Participant.objects.filter(pk__in=ids).delete()
        removed += len(ids)
