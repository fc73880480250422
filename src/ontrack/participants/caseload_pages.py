"""The caseload list a page at a time, by keyset (seek) rather than by page number.

A page is the rows that come after (or, going back, before) one row in the list's order;
the order is a sort's fields with the id last, so it is total and a row added or removed
meanwhile neither repeats nor hides another. Each page then costs an index range scan of
one page, however deep: ``OFFSET`` read and threw away every row before the page (page 500
of 100,000 took 104 ms), and ``Paginator`` counted every row on every page.

The cursor is the boundary row's key, signed with the sort it belongs to: a forged cursor,
or one from another sort or an older format, is refused with :class:`BadCursor` (the page
answers 400, the API 422), never a 500. The count shown is exact up to ``COUNT_CAP`` and
"more than" beyond, so it reads at most that many index entries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db.models import Q, QuerySet

from ontrack.keyset import ordering_reversed, rows_after
from ontrack.paging import COUNT_CAP, count_capped
from ontrack.participants.models import Participant
from ontrack.participants.queries import SORTS

CURSOR_SALT = "ontrack.participants.caseload.v1"


class BadCursor(ValueError):
    """A cursor this list did not give (forged, from another sort, or of an older format)."""


@dataclass(frozen=True, slots=True)
class CaseloadPage:
    rows: list[Participant]
    next_cursor: str | None  # pass as ``after``
    previous_cursor: str | None  # pass as ``before``
    count: int  # exact when not ``count_capped``; else COUNT_CAP
    count_capped: bool
    at_end: bool  # the last page (asked for by ``last``)


def caseload_page(
    queryset: QuerySet[Participant],
    sort: str,
    *,
    after: str | None = None,
    before: str | None = None,
    last: bool = False,
    size: int = 50,
) -> CaseloadPage:
    """One page of ``queryset`` (filtered, not yet ordered) in ``sort``'s order: the first
    page, the page after the row ``after`` names, the page before the row ``before`` names,
    or the ``last`` page. Raises :class:`BadCursor` for a cursor this list did not give."""
    ordering = SORTS[sort]
    backward = bool(before) or (last and not after)
    cursor = before if before else after
    rows = queryset
    if cursor:
        rows = rows.filter(_beyond(ordering, cursor_key(cursor, sort), backward=backward))
    walk = ordering_reversed(ordering) if backward else ordering
    fetched = list(rows.order_by(*walk)[: size + 1])
    page = fetched[:size]
    more = len(fetched) > size
    if backward:
        page.reverse()
    if not page:
        has_next = has_previous = False
    elif backward:
        has_previous = more
        has_next = bool(cursor) and _any_beyond(queryset, ordering, page[-1], backward=False)
    else:
        has_next = more
        has_previous = bool(cursor) and _any_beyond(queryset, ordering, page[0], backward=True)
    count, capped = count_capped(queryset, COUNT_CAP)
    return CaseloadPage(
        rows=page,
        next_cursor=row_cursor(page[-1], sort) if has_next else None,
        previous_cursor=row_cursor(page[0], sort) if has_previous else None,
        count=count,
        count_capped=capped,
        at_end=bool(page) and not has_next,
    )


def _beyond(ordering: Sequence[str], key: Sequence[Any], *, backward: bool) -> Q:
    """The rows after ``key`` in ``ordering`` (before it, ``backward``). Every sort field is
    NOT NULL."""
    return rows_after(ordering_reversed(ordering) if backward else ordering, key)


def _any_beyond(
    queryset: QuerySet[Participant], ordering: Sequence[str], row: Participant, *, backward: bool
) -> bool:
    key = [getattr(row, name.removeprefix("-")) for name in ordering]
    return queryset.filter(_beyond(ordering, key, backward=backward)).exists()


def row_cursor(row: Participant, sort: str) -> str:
    """The signed cursor naming ``row``'s place in ``sort``'s order."""
    values = []
    for name in SORTS[sort]:
        value = getattr(row, name.removeprefix("-"))
        values.append(value.isoformat() if isinstance(value, dt.datetime) else value)
    return signing.dumps(values, salt=f"{CURSOR_SALT}:{sort}", compress=True)


def cursor_key(cursor: str, sort: str) -> list[Any]:
    """The key a cursor names, checked: signed for this sort, one value per sort field, of
    the field's type."""
    try:
        values = signing.loads(cursor, salt=f"{CURSOR_SALT}:{sort}")
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise BadCursor("Not a page link of this list.") from None
    ordering = SORTS[sort]
    if not isinstance(values, list) or len(values) != len(ordering):
        raise BadCursor("Not a page link of this list.")
    key: list[Any] = []
    for name, value in zip(ordering, values, strict=True):
        bare = name.removeprefix("-")
        if bare == "id":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif bare == "enrolled_at":
            try:
                value = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
            except ValueError:
                value = None
            ok = value is not None and value.tzinfo is not None
        else:
            ok = isinstance(value, str)
        if not ok:
            raise BadCursor("Not a page link of this list.")
        key.append(value)
    return key
