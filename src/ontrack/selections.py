"""Signed selections: what a bulk action's preview showed one staff member, so that the
confirmation acts on exactly that and nothing else.

A preview page lists who or what a bulk action would touch and hands the browser a token
naming those ids (and whatever else the action pins, e.g. the target officer). The
confirmation sends the token back; an altered token, one issued to someone else or for
another action, or one older than ``MAX_AGE`` is refused with a message that says which,
and nothing is done. Scope is checked again at confirmation by the caller: the token says
what was shown, not what may still be touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError

SALT = "ontrack.selections"
MAX_AGE = 10 * 60  # seconds a preview can be confirmed: long enough to read the list

EXPIRED = (
    "This preview is more than 10 minutes old, so it can no longer be confirmed. Preview it again."
)
ALTERED = (
    "This confirmation does not match a preview you were shown (it was altered or is not "
    "yours). Nothing was done. Preview it again."
)


def selection_sign(*, user_id: int, action: str, ids: Sequence[int], **pinned: Any) -> str:
    """A token for ``ids`` shown to ``user_id`` for ``action``, with ``pinned`` values."""
    return signing.dumps({"u": user_id, "ids": list(ids), **pinned}, salt=f"{SALT}:{action}")


def selection_read(*, user_id: int, action: str, token: str) -> tuple[list[int], dict[str, Any]]:
    """The ids and pinned values of a token this user was issued for ``action``;
    ``ValidationError`` (``EXPIRED`` or ``ALTERED``) otherwise."""
    try:
        claims = signing.loads(token, salt=f"{SALT}:{action}", max_age=MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError(EXPIRED) from None
    except signing.BadSignature:
        raise ValidationError(ALTERED) from None
    if not isinstance(claims, dict) or claims.pop("u", None) != user_id:
        raise ValidationError(ALTERED)
    ids = claims.pop("ids", None)
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise ValidationError(ALTERED)
    return ids, claims
