"""Demo: a few participants get a known PIN so that the portal can be tried at once (see
the README's portal section). Prints nothing."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.hashers import make_password

from ontrack.accounts.models import Program
from ontrack.participants.models import Participant, Status
from ontrack.portal.models import PortalAccess

DEMO_PIN = "2468"
DEMO_PARTICIPANTS = 5


def seed(*, program: Program, seed_value: int, now: dt.datetime) -> None:
    """The first few open cases (by case number) get PIN ``DEMO_PIN``; deterministic and
    fast (one hash shared by all of them)."""
    del seed_value  # the choice does not depend on it: the lowest case numbers
    pin_hash = make_password(DEMO_PIN)
    chosen = (
        Participant.objects.filter(program=program, phones__isnull=False)
        .exclude(status=Status.CLOSED)
        .order_by("case_number")
        .distinct()[:DEMO_PARTICIPANTS]
    )
    for participant in chosen:
        PortalAccess.objects.update_or_create(
            participant=participant, defaults={"pin_hash": pin_hash, "pin_set_at": now}
        )
