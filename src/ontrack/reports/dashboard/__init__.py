"""The program dashboard: counts for a program, office or officer over a date range, as the
records stood at any past instant.

Every table is a plain aggregate over the rows the rest of ontrack writes (participants,
their plan versions and status events, check-in windows, hearings, alerts, messages), so
the page, its CSV downloads and ``bench/reports.py`` all call the same functions. Each
starts from ``participants_visible_to(user)``: a dashboard can never count someone its
reader could not open. The census and the tables over the largest tables (check-ins,
hearings, messages, alerts with their response times, alert outcomes) read their numbers
from a ``Source``: the page from the daily roll-ups for closed days
(``ontrack.reports.rollups.ROLLED``), tests and CSVs may count raw (``RAW``): either way
the same numbers. The tables live in modules by group: ``census``, ``alerts``, ``counts``
(the other counts), on what they share (``scope``, ``measures``).

"As of" an instant ``T`` means what the records said at ``T``:

- supervised at ``T``: enrolled at or before ``T`` and not closed by ``T``;
- status at ``T``: the current status unless a status event (activation, suspension,
  reinstatement, closure) happened after ``T``, in which case the latest status event at or
  before ``T`` (older imported rows without transition events keep their current status);
- level and modality at ``T``: the supervision plan version in force at ``T``;
- events of the date range (enrolments, closures, check-in windows, hearings, alerts,
  messages) count only up to ``T``, and an outcome recorded after ``T`` counts as not yet
  known (hearing outcomes by when they were recorded). Office and officer are the current
  assignment, and an alert's priority its current one (escalations are not dated on the
  alert row).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ontrack.accounts.models import User
from ontrack.reports.dashboard.alerts import (
    ALERT_ACKNOWLEDGEMENTS,
    ALERT_OUTCOMES,
    ALERT_RESOLUTIONS,
    alert_outcomes_table,
    alerts_in_scope,
    alerts_table,
)
from ontrack.reports.dashboard.census import (
    AS_OF_FIELDS,
    MODALITY_RULE,
    CensusRow,
    census,
    census_tables,
    participant_list,
)
from ontrack.reports.dashboard.counts import (
    CHECKINS,
    HEARINGS,
    MESSAGES,
    adverse_closures_table,
    checkins_table,
    closures_table,
    enrolments_table,
    hearings_table,
    messages_table,
    reviews_table,
)
from ontrack.reports.dashboard.measures import Counting, Counts, Measure, raw_counts
from ontrack.reports.dashboard.scope import DashboardScope, Table

__all__ = [
    "ALERT_ACKNOWLEDGEMENTS",
    "ALERT_OUTCOMES",
    "ALERT_RESOLUTIONS",
    "AS_OF_FIELDS",
    "CENSUS_KEYS",
    "CHECKINS",
    "COUNTED_BUILDERS",
    "HEARINGS",
    "MEASURES",
    "MESSAGES",
    "MODALITY_RULE",
    "PLAIN_BUILDERS",
    "RAW",
    "TABLE_KEYS",
    "TABLE_ORDER",
    "CensusRow",
    "Counting",
    "Counts",
    "DashboardScope",
    "Measure",
    "Source",
    "Table",
    "adverse_closures_table",
    "alert_outcomes_table",
    "alerts_in_scope",
    "alerts_table",
    "census",
    "census_tables",
    "checkins_table",
    "closures_table",
    "dashboard_table",
    "dashboard_tables",
    "enrolments_table",
    "hearings_table",
    "messages_table",
    "participant_list",
    "raw_counts",
    "reviews_table",
]

MEASURES = (CHECKINS, HEARINGS, MESSAGES, ALERT_OUTCOMES, ALERT_ACKNOWLEDGEMENTS, ALERT_RESOLUTIONS)


@dataclass(frozen=True, slots=True)
class Source:
    """Where the tables' numbers come from: the measures' counts and the census, either
    from the raw rows (``RAW``) or from the daily roll-ups (``rollups.ROLLED``, what the
    page reads), the same numbers either way."""

    counts: Counting
    census: Callable[[User, DashboardScope], list[CensusRow]]


RAW = Source(counts=raw_counts, census=census)

# Tables read straight from the records, and tables built on measures (which the roll-ups
# can count); ``TABLE_ORDER`` is the page's order.
PLAIN_BUILDERS: dict[str, Callable[[User, DashboardScope], Table]] = {
    "enrolments": enrolments_table,
    "closures": closures_table,
    "reviews": reviews_table,
    "adverse_closures": adverse_closures_table,
}
COUNTED_BUILDERS: dict[str, Callable[[User, DashboardScope, Counting], Table]] = {
    "checkins": checkins_table,
    "hearings": hearings_table,
    "alerts": alerts_table,
    "alert_outcomes": alert_outcomes_table,
    "messages": messages_table,
}
TABLE_ORDER = ("enrolments", "closures", "checkins", "hearings", "alerts", "alert_outcomes",
               "reviews", "adverse_closures", "messages")  # fmt: skip
CENSUS_KEYS = ("status", "level", "modality")
TABLE_KEYS = (*CENSUS_KEYS, *TABLE_ORDER)


def dashboard_table(user: User, scope: DashboardScope, key: str, source: Source = RAW) -> Table:
    """One table by its key (for a CSV download), its numbers read from ``source``.
    ``KeyError`` for an unknown key."""
    if key in CENSUS_KEYS:
        return census_tables(source.census(user, scope))[CENSUS_KEYS.index(key)]
    if key in COUNTED_BUILDERS:
        return COUNTED_BUILDERS[key](user, scope, source.counts)
    return PLAIN_BUILDERS[key](user, scope)


def dashboard_tables(user: User, scope: DashboardScope, source: Source = RAW) -> list[Table]:
    """Every table of the dashboard, in page order, its numbers read from ``source``."""
    tables = census_tables(source.census(user, scope))
    tables.extend(dashboard_table(user, scope, key, source) for key in TABLE_ORDER)
    return tables
