"""The demo's roll-ups: computed once the other apps have written their 90 days of history,
so the dashboard's closed days read like a running system's from the first page."""

from __future__ import annotations

import datetime as dt

from ontrack.accounts.models import Program
from ontrack.reports.rollups import rollups_rebuild


def seed(*, program: Program, seed_value: int, now: dt.datetime) -> None:
    """Every program's roll-ups, the demo's included (the roll-ups are never per program)."""
    rollups_rebuild()
