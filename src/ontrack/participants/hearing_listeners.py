"""Apps above participants that follow court hearings (messaging's hearing reminders)
register here at start-up (``AppConfig.ready``): participants cannot import them (DESIGN.md,
import direction). ``services.hearing_add`` and ``services.hearing_update`` announce each
hearing they write, the way case changes reach ``register_case_change_listener``'s
listeners; hearings are written nowhere else (the seed's demo rows aside)."""

from __future__ import annotations

import functools
from typing import Protocol

from django.db import transaction


class HearingListener(Protocol):
    def __call__(self, *, hearing_id: int) -> None: ...


_hearing_listeners: list[HearingListener] = []


def register_hearing_listener(callback: HearingListener) -> None:
    """Hear of every hearing added, moved, given an outcome (a cancellation is one) or
    otherwise changed. Registering the same callback twice is a no-op."""
    if callback not in _hearing_listeners:
        _hearing_listeners.append(callback)


def hearing_change_announce(hearing_id: int) -> None:
    """Tell the listeners once the transaction has committed (so they read the hearing as
    saved, and a rolled-back change is never announced). Each runs on its own: one that
    fails is logged and does not stop the others or undo the change."""
    for callback in list(_hearing_listeners):
        transaction.on_commit(functools.partial(callback, hearing_id=hearing_id), robust=True)
