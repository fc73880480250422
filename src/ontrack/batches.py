"""Walking a large query while writing as you go, safely on SQLite.

``QuerySet.iterator()`` keeps a read statement open between chunks. On SQLite in WAL mode
that statement holds a read snapshot, and a write on the same connection inside the loop
(``BEGIN IMMEDIATE``) then fails at once with "database is locked" as soon as another
process (the gateway, the web app) has written since the snapshot began: SQLite cannot
upgrade a stale snapshot, and its busy timeout does not apply. :func:`in_batches` reads one
batch at a time by primary key, with no statement left open while the caller writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from django.db.models import QuerySet

Row = TypeVar("Row")


def _pk_of_instance(row: Any) -> Any:
    return row.pk


def in_batches(
    queryset: QuerySet[Any, Row],
    *,
    size: int = 500,
    pk_of: Callable[[Row], Any] = _pk_of_instance,
) -> Iterator[Row]:
    """Every row of ``queryset`` in primary-key order, ``size`` at a time. For
    ``values_list`` rows, ``pk_of`` says where the primary key is (e.g. ``lambda r: r[0]``,
    with ``"pk"`` listed first)."""
    last: Any = None
    ordered = queryset.order_by("pk")
    while True:
        page = ordered if last is None else ordered.filter(pk__gt=last)
        batch = list(page[:size])
        if not batch:
            return
        yield from batch
        last = pk_of(batch[-1])
