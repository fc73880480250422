"""Who performs an action: a staff member, whose permissions are checked, or the system.

Service functions take ``actor: Actor``. A periodic job, the seed, an import run from the
command line or the device gateway acts as a ``SystemActor`` and passes one explicitly
(``SYSTEM``, or ``SystemActor("nightly purge")`` to name the job), so skipping a
permission check is always written down at the call site. ``None`` is not an actor:
forgetting to pass one is a type error for mypy and a ``TypeError`` at run time, never a
silently skipped check (the accident that Wagtail's ``skip_permission_checks`` avoids).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from django.core.exceptions import PermissionDenied

from ontrack.accounts.models import User


@dataclass(frozen=True, slots=True)
class SystemActor:
    """The system acting on its own; ``reason`` names the job, for logs and debugging."""

    reason: str

    def __str__(self) -> str:
        return f"system ({self.reason})"


SYSTEM = SystemActor("system")

Actor: TypeAlias = User | SystemActor


def actor_user(actor: Actor) -> User | None:
    """The staff member to record as having acted (an event's "by", a ``decided_by``), or
    ``None`` for the system, which is recorded as no one."""
    if isinstance(actor, User):
        return actor
    if isinstance(actor, SystemActor):
        return None
    raise TypeError(f"actor must be a User or a SystemActor, not {actor!r}")


def permission_require(actor: Actor, allowed: Callable[[User], bool], message: str) -> None:
    """Refuse a staff member for whom ``allowed`` is false; the system passes. Anything
    else (``None`` above all) is refused with ``TypeError`` rather than waved through."""
    user = actor_user(actor)
    if user is not None and not allowed(user):
        raise PermissionDenied(message)
