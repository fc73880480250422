"""What every schedule action starts from: the instant it acts at and the actor's right
to change the participant's case (or to run the office's calendar).

Each action takes an optional ``now`` so that tests and the periodic jobs can drive time,
and staff actions take ``actor``; these two helpers are shared by every module of the
package so that the default clock and the permission rule are stated once.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from ontrack.accounts.actors import Actor, permission_require
from ontrack.accounts.models import Office, Role, User
from ontrack.participants.models import Participant
from ontrack.participants.queries import can_write_participant


def now_or_clock(now: dt.datetime | None) -> dt.datetime:
    """The instant the caller gave (a test, a job replaying a run), else the clock."""
    return now if now is not None else timezone.now()


def require_write(actor: Actor, participant: Participant) -> None:
    """Refuse a staff member who may not change the participant's case; a ``SystemActor``
    (a periodic job, a case-change listener) is not checked."""
    permission_require(
        actor,
        lambda user: can_write_participant(user, participant),
        "You may not change this participant's schedule.",
    )


def require_office_manager(actor: User, office: Office) -> None:
    """The office's supervisor, or an administrator, runs its calendar (and undoes a day
    it closed)."""
    if not actor.manages_caseloads or (
        actor.role != Role.ADMINISTRATOR and actor.office_id != office.pk
    ):
        raise PermissionDenied("Only the office's supervisor or an administrator may do that.")
