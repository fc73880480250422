"""What a dashboard counts (``DashboardScope``: whose records, which days, as of when), what
it shows (``Table``), and the people in scope every table starts from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from ontrack.participants.queries import participants_visible_to


@dataclass(frozen=True, slots=True)
class DashboardScope:
    """What to count: a program, office, officer and/or one participant (None: all the reader
    may see), the events of ``[start, end)``, and the instant ``as_of`` the records are read
    at. One participant is the compliance report's scope (``reports.compliance``): the same
    tables, cut to one person, so their numbers are the dashboard's."""

    start: dt.datetime
    end: dt.datetime
    as_of: dt.datetime
    program_id: int | None = None
    office_id: int | None = None
    officer_id: int | None = None
    participant_id: int | None = None

    @property
    def period_end(self) -> dt.datetime:
        """Nothing after ``as_of`` is counted, whatever the range says."""
        return min(self.end, self.as_of)

    def describe(self) -> str:
        parts = [
            f"{self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}",
            f"as of {self.as_of:%Y-%m-%d %H:%M} UTC",
        ]
        for name in ("program_id", "office_id", "officer_id", "participant_id"):
            value = getattr(self, name)
            if value:
                parts.append(f"{name.removesuffix('_id')}={value}")
        return " ".join(parts)


@dataclass(slots=True)
class Table:
    """One dashboard table: what the page shows, the CSV holds and the chart draws.
    ``chart`` pairs a label with a value; ``total`` is the sum row where one makes sense."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    total: list[Any] | None = None
    note: str = ""
    chart: list[tuple[str, float]] = field(default_factory=list)

    @property
    def labelled_rows(self) -> list[list[tuple[str, Any]]]:
        """Each row's values beside their column's name: on a phone the page prints each
        row as lines of "name value" instead of a table wider than the screen."""
        return [list(zip(self.columns, row, strict=True)) for row in self.rows]

    @property
    def labelled_total(self) -> list[tuple[str, Any]]:
        return list(zip(self.columns, self.total or [], strict=True))

    @property
    def wide(self) -> bool:
        """More columns than half a laptop's screen, or a phone's, shows without scrolling."""
        return len(self.columns) > 4


def participants_in_scope(user: User, scope: DashboardScope) -> QuerySet[Participant]:
    """The participants the reader may see, narrowed to the chosen program/office/officer
    (or participant)."""
    people = participants_visible_to(user)
    if scope.program_id:
        people = people.filter(program_id=scope.program_id)
    if scope.office_id:
        people = people.filter(office_id=scope.office_id)
    if scope.officer_id:
        people = people.filter(officer_id=scope.officer_id)
    if scope.participant_id:
        people = people.filter(pk=scope.participant_id)
    return people


def of_participants(rows: QuerySet[Any], people: QuerySet[Participant]) -> QuerySet[Any]:
    """Rows about ``people``. When that is everyone (an administrator with no filter) the
    semi-join is left out: over millions of rows it would cost as much as the count."""
    if people.query.is_empty():
        return rows.none()
    if not people.query.where:
        return rows
    return rows.filter(participant_id__in=people.values("pk"))


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "–"


def with_shares(key: str, title: str, head: str, rows: list[list[Any]], note: str = "") -> Table:
    whole = sum(r[1] for r in rows)
    return Table(
        key=key,
        title=title,
        columns=[head, "Participants", "Share"],
        rows=[[label, n, share(n, whole)] for label, n in rows],
        total=["Total", whole, share(whole, whole)],
        note=note,
        chart=[(str(label), n) for label, n in rows],
    )


def in_period(field_name: str, scope: DashboardScope) -> Q:
    return Q(**{f"{field_name}__gte": scope.start, f"{field_name}__lt": scope.period_end})
