"""A pluggable automatic face match for check-in photos, off unless a program turns it on.

ontrack ships no implementation: comparing faces makes a biometric template, which a
program must decide to do (and may be forbidden to). A program that does registers a
matcher under a name (``face_matcher_register``) and sets ``ONTRACK_SCHEDULE_FACE_MATCHER``
to that name. Even then the score only helps the officer: every photo still goes to the
human review queue, and no outcome is recorded from a score alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class FaceMatch:
    score: float  # 0.0 (different people) .. 1.0 (same person), as the matcher calibrates it


class FaceMatcher(Protocol):
    def compare(self, enrolment_photo: bytes, checkin_photo: bytes) -> FaceMatch: ...


_registry: dict[str, Callable[[], FaceMatcher]] = {}


def face_matcher_register(name: str, factory: Callable[[], FaceMatcher]) -> None:
    """Offer a matcher under ``name``; it is used only when the setting names it."""
    _registry[name] = factory


def face_matcher() -> FaceMatcher | None:
    """The matcher the setting names, or None (the default: no automatic matching)."""
    name = settings.ONTRACK_SCHEDULE_FACE_MATCHER
    if not name:
        return None
    if name not in _registry:
        raise ImproperlyConfigured(
            f"ONTRACK_SCHEDULE_FACE_MATCHER={name!r} but no face matcher is registered "
            f"under that name (registered: {sorted(_registry) or 'none'})."
        )
    return _registry[name]()
