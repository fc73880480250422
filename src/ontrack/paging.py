"""Counting a long list no further than a person reads it.

A list's "2,417,093 entries" costs a count of every matching row on every page: the whole
access log, unfiltered, took 194 ms to count on PostgreSQL at 100,000 participants, more
than the page's budget for a number nobody acts on. Counts here are exact up to
``COUNT_CAP`` and "more than" beyond, so a count reads at most that many index entries. The
caseload, the access log and the outbox count this way.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet

COUNT_CAP = 10_000


def count_capped(queryset: QuerySet[Any], cap: int) -> tuple[int, bool]:
    """How many rows, counted no further than ``cap``, and whether there are more."""
    counted = queryset.order_by()[: cap + 1].count()
    return min(counted, cap), counted > cap


class CappedPaginator(Paginator):
    """A ``Paginator`` whose count stops at ``COUNT_CAP`` (``capped`` says there are more).
    Its pages are those of the first ``COUNT_CAP`` rows: a list that long is narrowed by
    its filters, not paged through."""

    object_list: QuerySet[Any]

    @cached_property
    def _counted(self) -> tuple[int, bool]:
        return count_capped(self.object_list, COUNT_CAP)

    @property
    def count(self) -> int:
        return self._counted[0]

    @property
    def capped(self) -> bool:
        return self._counted[1]
