"""What the caseload list says about each person on the page: open alerts, last contact, next
obligation, 30-day check-in compliance and, for a wearer, the device's battery and last fix.

Participants sits below alerts, schedule, tracking and messaging, so those apps register a
source here from their ``AppConfig.ready()`` (as they do panels, ``participants.panels``).
A source reads its own tables for the page's participant ids only, in a fixed number of
queries (one grouped read per signal, never one per person), and answers a
:class:`CaseloadSignals` per person it knows something about; ``caseload_signals`` folds
the sources' answers into one per row. A page therefore costs the same number of queries
whatever its size, and the list's keyset paging is untouched: nothing here is a sort key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db.models import Min

from ontrack.participants.models import Hearing, HearingOutcome

# Check-in windows the compliance figure looks back over.
COMPLIANCE_DAYS = 30


@dataclass(frozen=True, slots=True)
class Dated:
    """Something that happened or is due, and what it is in words ("check-in", "hearing")."""

    at: dt.datetime
    what: str


@dataclass(frozen=True, slots=True)
class DeviceSignal:
    """The worn device as the list shows it: ``stale`` when it has had no fix for longer
    than the live map's stale threshold, or none yet."""

    battery_pct: int | None
    last_fix_at: dt.datetime | None
    stale: bool


@dataclass(frozen=True, slots=True)
class CaseloadSignals:
    """One row's signals, or one source's part of them (the fields it does not know keep
    their empty defaults)."""

    open_alerts: int = 0
    top_priority: int = 0  # the highest priority among the open alerts; 0 when none
    top_priority_label: str = ""
    last_contact: Dated | None = None
    next_obligation: Dated | None = None
    windows_met: int = 0  # check-in windows of the last 30 days met (on time or late)...
    windows_judged: int = 0  # ... of those met or missed (the dashboard's compliance)
    device: DeviceSignal | None = None

    @property
    def compliance_pct(self) -> int | None:
        """Windows met of windows judged, in whole percent; None when none was judged."""
        if not self.windows_judged:
            return None
        return round(100 * self.windows_met / self.windows_judged)

    def merged(self, other: CaseloadSignals) -> CaseloadSignals:
        """Both parts together: counts add up, the later contact and the sooner obligation
        win, the higher priority wins."""
        top = self if self.top_priority >= other.top_priority else other
        return CaseloadSignals(
            open_alerts=self.open_alerts + other.open_alerts,
            top_priority=top.top_priority,
            top_priority_label=top.top_priority_label,
            last_contact=_latest(self.last_contact, other.last_contact),
            next_obligation=_soonest(self.next_obligation, other.next_obligation),
            windows_met=self.windows_met + other.windows_met,
            windows_judged=self.windows_judged + other.windows_judged,
            device=self.device or other.device,
        )


def _latest(a: Dated | None, b: Dated | None) -> Dated | None:
    if a is None or b is None:
        return a or b
    return a if a.at >= b.at else b


def _soonest(a: Dated | None, b: Dated | None) -> Dated | None:
    if a is None or b is None:
        return a or b
    return a if a.at <= b.at else b


# A source: the page's participant ids and the instant read at -> what it knows of each.
SignalSource = Callable[[Sequence[int], dt.datetime], dict[int, CaseloadSignals]]

_sources: list[SignalSource] = []


def register_signal_source(source: SignalSource) -> None:
    """Add ``source`` to every caseload page (once, in registration order)."""
    if source not in _sources:
        _sources.append(source)


def hearing_signals(participant_ids: Sequence[int], now: dt.datetime) -> dict[int, CaseloadSignals]:
    """The next hearing still scheduled: participants' own part of the next obligation."""
    rows = (
        Hearing.objects.filter(
            participant_id__in=participant_ids,
            scheduled_at__gte=now,
            outcome=HearingOutcome.SCHEDULED,
        )
        .order_by()
        .values("participant_id")
        .annotate(at=Min("scheduled_at"))
        .values_list("participant_id", "at")
    )
    return {pk: CaseloadSignals(next_obligation=Dated(at, "hearing")) for pk, at in rows}


def caseload_signals(
    participant_ids: Sequence[int], now: dt.datetime
) -> dict[int, CaseloadSignals]:
    """Every id's signals (empty ones for an id no source knows), one query per signal."""
    ids = list(participant_ids)
    signals = {pk: CaseloadSignals() for pk in ids}
    if not ids:
        return signals
    for source in (hearing_signals, *_sources):
        for pk, part in source(ids, now).items():
            signals[pk] = signals[pk].merged(part)
    return signals
