"""One timeline per person: what every app recorded about them, newest first, in plain words.

Participants sits below the apps that own most of a person's history (schedule, alerts,
messaging, tracking, reviews), so it cannot query them. Each of those apps registers its
*sources* here from ``AppConfig.ready`` (in its ``timeline_sources.py``); the page asks
every chosen source for its newest entries before a cursor and merges the answers.

Paging is by keyset, never OFFSET: entries are ordered by ``(at, kind, id)`` descending,
where ``kind`` names the source (one table and one time column each, so ``id`` is unique
within it). The next page starts strictly after the last entry shown, which gives no gap
and no repeat across a page boundary even when many entries share one timestamp.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from django.db.models import Model, Q, QuerySet

from ontrack.accounts.models import User
from ontrack.participants.models import Participant

M = TypeVar("M", bound=Model)

MAX_ID = 2**63 - 1
TOP_KIND = "\U0010ffff"  # sorts after every source key: the first page includes them all


@dataclass(frozen=True, order=True)
class Cursor:
    """A place in the timeline: the next page shows what sorts strictly below it."""

    at: dt.datetime
    kind: str
    id: int

    @classmethod
    def top(cls, now: dt.datetime) -> Cursor:
        """Everything up to and including ``now``."""
        return cls(now, TOP_KIND, MAX_ID)

    def token(self) -> str:
        """The cursor as a URL parameter (``2026-05-01T10:00:00.123456+00:00|alert|42``)."""
        return f"{self.at.isoformat()}|{self.kind}|{self.id}"

    @classmethod
    def parse(cls, token: str) -> Cursor:
        """The cursor a ``token`` names; ValueError when it is not one."""
        at_text, kind, id_text = token.split("|")
        at = dt.datetime.fromisoformat(at_text)
        if at.tzinfo is None or not kind or len(kind) > 40:
            raise ValueError("not a timeline cursor")
        number = int(id_text)
        if not 0 <= number <= MAX_ID:
            raise ValueError("not a timeline cursor")
        return cls(at, kind, number)


@dataclass(frozen=True)
class Entry:
    """One thing that happened, as staff read it. ``title`` is plain words (no codes);
    ``technical`` holds the raw codes and ids, shown only in a "technical details"
    disclosure."""

    at: dt.datetime
    kind: str
    id: int
    title: str
    detail: str = ""
    link: str = ""
    thumbnail: str = ""
    thumbnail_alt: str = ""
    actor: str = ""
    technical: tuple[tuple[str, str], ...] = ()
    group: str = field(default="", compare=False)

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.at, self.kind, self.id)


@dataclass(frozen=True)
class Query:
    """What a source is asked: whose entries, for whom (thumbnail links are issued to this
    reader), strictly before ``before``, at most ``limit``."""

    participant: Participant
    reader: User
    before: Cursor
    limit: int


@dataclass(frozen=True)
class Source:
    """One stream of entries: ``kind`` (unique, part of the paging key), the filter
    ``group`` it belongs to, and ``entries`` returning its newest entries before the query's
    cursor, newest first, each with this ``kind``."""

    kind: str
    group: str
    entries: Callable[[Query], Sequence[Entry]]


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    next_cursor: Cursor | None


_sources: dict[str, Source] = {}
_groups: dict[str, str] = {}


def register_group(key: str, label: str) -> None:
    """A filter the page offers (e.g. "alerts": "Alerts"), in registration order."""
    _groups.setdefault(key, label)


def register_source(source: Source) -> None:
    """Add ``source`` to every timeline (once per kind; its group must be registered)."""
    if source.group not in _groups:
        raise ValueError(f"register the timeline group {source.group!r} first")
    _sources.setdefault(source.kind, source)


def groups() -> list[tuple[str, str]]:
    """(key, label) of each filter with at least one source."""
    used = {s.group for s in _sources.values()}
    return [(key, label) for key, label in _groups.items() if key in used]


def before_q(cursor: Cursor, kind: str, *, time: str, pk: str = "pk") -> Q:
    """The rows of source ``kind`` that sort strictly below ``cursor`` in (time, kind, id)
    order, for a queryset whose time column is ``time``. The kind is fixed per source, so
    the comparison on it is settled here and the database compares time and id only."""
    if kind < cursor.kind:
        return Q(**{f"{time}__lte": cursor.at})
    if kind > cursor.kind:
        return Q(**{f"{time}__lt": cursor.at})
    return Q(**{f"{time}__lt": cursor.at}) | Q(**{time: cursor.at, f"{pk}__lt": cursor.id})


def page_rows(queryset: QuerySet[M], q: Query, kind: str, *, time: str) -> QuerySet[M]:
    """A source's rows for the page ``q`` asks for: those of ``queryset`` (already narrowed
    to the person) that sort below the cursor, newest first (ties by id), at most a page."""
    return queryset.filter(before_q(q.before, kind, time=time)).order_by(f"-{time}", "-pk")[
        : q.limit
    ]


def timeline_page(
    participant: Participant,
    reader: User,
    *,
    before: Cursor,
    limit: int,
    groups_shown: Iterable[str] | None = None,
) -> Page:
    """The newest ``limit`` entries below ``before`` from the sources in ``groups_shown``
    (all when None). Each source is asked for one more than a page, so whether an older
    page exists is known without counting."""
    chosen = None if groups_shown is None else set(groups_shown)
    query = Query(participant=participant, reader=reader, before=before, limit=limit + 1)
    streams: list[list[Entry]] = []
    for source in _sources.values():
        if chosen is not None and source.group not in chosen:
            continue
        got = [
            dataclasses.replace(e, group=source.group) for e in source.entries(query)[: limit + 1]
        ]
        streams.append(got)
    merged = list(
        itertools.islice(heapq.merge(*streams, key=lambda e: e.cursor, reverse=True), limit + 1)
    )
    shown = merged[:limit]
    more = len(merged) > limit
    return Page(entries=shown, next_cursor=shown[-1].cursor if more and shown else None)
