"""Keeps hearing reminders in step with the hearing: participants cannot call messaging
(it sits below), so messaging listens to the saves itself."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from ontrack.participants.models import Hearing


def hearing_saved(
    sender: type[Hearing], instance: Hearing, raw: bool = False, **kwargs: Any
) -> None:
    if raw:
        return
    from ontrack.messaging.services import hearing_anchor, reminders_sync

    anchor = hearing_anchor(instance)
    transaction.on_commit(lambda: reminders_sync(anchor))
