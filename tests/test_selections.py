"""Signed selections: a preview's token confirms exactly what it showed, to whom it showed
it, for the action it was shown for, within ten minutes."""

from __future__ import annotations

import time

import pytest
from django.core import signing
from django.core.exceptions import ValidationError

from ontrack import selections


class _ElevenMinutesAgo(signing.TimestampSigner):
    """Signs as the clock read eleven minutes ago: a preview left open too long."""

    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time()) - 11 * 60)


def test_a_token_gives_back_its_ids_and_pinned_values_to_its_user() -> None:
    token = selections.selection_sign(user_id=7, action="a", ids=[3, 1], officer=9)
    assert selections.selection_read(user_id=7, action="a", token=token) == ([3, 1], {"officer": 9})


@pytest.mark.parametrize(
    ("user_id", "action", "suffix"),
    [(8, "a", ""), (7, "b", ""), (7, "a", "x")],
    ids=["another user", "another action", "altered"],
)
def test_a_token_is_refused_for_another_user_another_action_or_altered(
    user_id: int, action: str, suffix: str
) -> None:
    token = selections.selection_sign(user_id=7, action="a", ids=[1])
    with pytest.raises(ValidationError, match="altered or is not yours"):
        selections.selection_read(user_id=user_id, action=action, token=token + suffix)


def test_a_token_expires_after_ten_minutes() -> None:
    token = _ElevenMinutesAgo(salt=f"{selections.SALT}:a").sign_object({"u": 7, "ids": [1]})
    with pytest.raises(ValidationError, match="more than 10 minutes old"):
        selections.selection_read(user_id=7, action="a", token=token)
