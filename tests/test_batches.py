"""in_batches: every row once, in primary-key order, while the caller writes as it goes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ontrack.batches import in_batches
from ontrack.participants.models import Participant

pytestmark = pytest.mark.django_db


def test_every_row_comes_once_even_when_the_loop_changes_what_the_query_matches(
    make_participant: Callable[..., Participant],
) -> None:
    made = [make_participant() for _ in range(7)]
    seen = []
    for participant in in_batches(Participant.objects.filter(given_name="María"), size=3):
        seen.append(participant.pk)
        # The loop's own write takes the row out of the query, as the watchdogs' do.
        Participant.objects.filter(pk=participant.pk).update(given_name="Marta")
    assert seen == sorted(p.pk for p in made)


def test_value_rows_say_where_their_key_is(make_participant: Callable[..., Participant]) -> None:
    made = [make_participant() for _ in range(4)]
    rows = list(
        in_batches(
            Participant.objects.values_list("pk", "case_number"), size=2, pk_of=lambda r: r[0]
        )
    )
    assert rows == [(p.pk, p.case_number) for p in made]
