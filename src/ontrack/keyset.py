"""Keyset (seek) paging's one condition, shared by the API's lists (``apipages``) and the
caseload (``participants.caseload_pages``): the rows that come after a given row in a total
order, written so that the database starts an index range scan at that row."""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from functools import reduce
from typing import Any

from django.db.models import Q


def ordering_reversed(ordering: Sequence[str]) -> tuple[str, ...]:
    """The same order walked the other way (``"-name"`` for ``"name"`` and back)."""
    return tuple(name[1:] if name.startswith("-") else f"-{name}" for name in ordering)


def rows_after(
    ordering: Sequence[str], key: Sequence[Any], nullable: Mapping[str, bool] | None = None
) -> Q:
    """The rows after ``key`` in ``ordering`` (nulls last): later in the first field, or
    equal in it and later in the next, and so on. ``nullable`` names the fields that may be
    null (none, if not given)."""
    nullable = nullable or {}
    alternatives = []
    equal = Q()
    for name, value in zip(ordering, key, strict=True):
        bare = name.removeprefix("-")
        if value is None:
            equal &= Q(**{f"{bare}__isnull": True})  # after a null come only nulls
            continue
        later = Q(**{f"{bare}__{'lt' if name.startswith('-') else 'gt'}": value})
        if nullable.get(bare, False):
            later |= Q(**{f"{bare}__isnull": True})
        alternatives.append(equal & later)
        equal &= Q(**{bare: value})
    condition = reduce(operator.or_, alternatives)
    first, value = ordering[0], key[0]
    if value is not None and not nullable.get(first.removeprefix("-"), False):
        # Redundant, but a range on the leading column is what an index scan starts from.
        bound = "lte" if first.startswith("-") else "gte"
        condition &= Q(**{f"{first.removeprefix('-')}__{bound}": value})
    return condition
