"""A compliance report on one person for a range of days, as a court receives it: the plan in
force, check-ins and hearings by outcome, each alert with how it ended and who decided, the
period's track and zones, and check-in compliance week by week.

The numbers are the program dashboard's (``reports.dashboard``): the same table builders,
with the scope cut to one participant (``DashboardScope.participant_id``), counted from the
raw rows. A person's report therefore never says something the dashboard of their office
does not, and the reports of everyone in an office add up to the office's dashboard.

The days are the office's calendar days (the court and the officer read the office's
clock), both ends included; the records are read as they stand when the report is made.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q

from ontrack.accounts.models import User
from ontrack.accounts.templatetags.office_time import office_local, office_zone
from ontrack.alerts.models import Alert, AlertStatus
from ontrack.participants.models import Participant, SupervisionPlan
from ontrack.reports.dashboard import (
    DashboardScope,
    Table,
    alert_outcomes_table,
    alerts_in_scope,
    checkins_table,
    hearings_table,
)
from ontrack.tracking.queries import participant_positions
from ontrack.zones.queries import participant_zones, zone_feature

# A court asks about months, at most a year; longer ranges are refused rather than drawn.
MAX_DAYS = 366
# The map draws at most this many fixes, evenly thinned: a year of one-minute fixes would
# make a PDF no one can open, and the line looks the same.
MAX_TRACK_POINTS = 2_000
WEEK = dt.timedelta(days=7)


@dataclass(frozen=True, slots=True)
class PlanLine:
    """One version of the supervision plan in force during the period."""

    level: str
    modalities: list[str]
    effective_from: dt.datetime
    effective_to: dt.datetime | None
    reason: str
    changed_by: str


@dataclass(frozen=True, slots=True)
class AlertLine:
    """One alert of the period and how it stood when the report was made."""

    occurred_at: dt.datetime
    kind: str
    priority: str
    outcome: str
    decided_by: str
    decided_at: dt.datetime | None
    note: str


@dataclass(frozen=True, slots=True)
class WeekLine:
    """Check-in windows that opened in one week of the period, by outcome (the check-in
    table's labels and order)."""

    first_day: dt.date
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    """Everything the report says, as records and numbers; ``compliance_pdf`` words it."""

    participant: Participant
    scope: DashboardScope
    first_day: dt.date
    last_day: dt.date
    time_zone: str
    plans: list[PlanLine]
    checkins: Table
    hearings: Table
    alert_outcomes: Table
    alerts: list[AlertLine]
    weeks: list[WeekLine]
    track: list[tuple[float, float]]
    track_fixes: int
    zones: list[dict[str, Any]]
    prepared_by: str
    prepared_at: dt.datetime


# No place on earth is further ahead of UTC than this (Kiribati, UTC+14).
AHEAD_OF_UTC = dt.timedelta(hours=14)


def report_days_check(first: dt.date, last: dt.date, *, now: dt.datetime) -> None:
    """Refuse, with a ValidationError that says why, a range that ends before it starts, is
    longer than ``MAX_DAYS`` or starts on a day that has not begun anywhere yet. It needs no
    one's time zone, so a request is refused before anyone's record is opened."""
    if last < first:
        raise ValidationError("The report's last day is before its first day.")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValidationError(f"A report covers at most {MAX_DAYS} days.")
    if first > (now.astimezone(dt.UTC) + AHEAD_OF_UTC).date():
        raise ValidationError("The report cannot start on a day that has not come yet.")


def report_period(
    first: dt.date, last: dt.date, *, time_zone: str
) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)`` in UTC of the office's calendar days ``first`` to ``last``, both
    included (a day of a DST change is 23 or 25 hours long)."""
    zone = office_zone(time_zone)

    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)

    return midnight(first), midnight(last + dt.timedelta(days=1))


def _plans(participant: Participant, start: dt.datetime, end: dt.datetime) -> list[PlanLine]:
    versions = (
        SupervisionPlan.objects.filter(participant=participant, effective_from__lt=end)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=start))
        .select_related("changed_by")
        .order_by("effective_from", "id")
    )
    return [
        PlanLine(
            level=plan.get_level_display(),
            modalities=plan.modalities,
            effective_from=plan.effective_from,
            effective_to=plan.effective_to,
            reason=plan.reason,
            changed_by=str(plan.changed_by) if plan.changed_by else "",
        )
        for plan in versions
    ]


def _decided_by(alert: Alert) -> str:
    if alert.status == AlertStatus.AUTO_RESOLVED:
        return "Nobody: the condition ended"
    if alert.resolved_by is not None:
        return str(alert.resolved_by)
    if alert.resolved_by_name:
        return f"{alert.resolved_by_name} (imported)"
    return ""


def _alert_line(alert: Alert, as_of: dt.datetime) -> AlertLine:
    """The alert as it stood at ``as_of``: a closing recorded later counts as open, as on
    the dashboard's outcomes table."""
    closed = alert.closed_at is not None and alert.closed_at <= as_of
    if closed and alert.status == AlertStatus.RESOLVED:
        outcome = alert.get_disposition_display()
    elif closed:
        outcome = alert.get_status_display()
    elif alert.acknowledged_at is not None and alert.acknowledged_at <= as_of:
        outcome = "Open (acknowledged)"
    else:
        outcome = "Open"
    return AlertLine(
        occurred_at=alert.occurred_at,
        kind=alert.get_kind_display(),
        priority=alert.get_priority_display(),
        outcome=outcome,
        decided_by=_decided_by(alert) if closed else "",
        decided_at=alert.closed_at if closed else None,
        note=alert.resolution_note if closed else "",
    )


def _weeks(user: User, scope: DashboardScope, time_zone: str) -> list[WeekLine]:
    """The check-in table for each week of the period (the last one may be shorter): the
    weeks partition the period, so they add up to the period's table."""
    weeks = []
    start = scope.start
    while start < scope.end:
        week = dataclasses.replace(scope, start=start, end=min(start + WEEK, scope.end))
        table = checkins_table(user, week)
        weeks.append(
            WeekLine(
                first_day=office_local(start, time_zone).date(),
                counts={str(row[0]): int(row[1]) for row in table.rows},
            )
        )
        start = week.end
    return weeks


def _track(
    participant: Participant, start: dt.datetime, end: dt.datetime
) -> tuple[list[tuple[float, float]], int]:
    """(lon, lat) of the period's valid fixes, thinned evenly to ``MAX_TRACK_POINTS``, and
    how many fixes there were."""
    fixes = participant_positions(participant, start, end)
    total = fixes.count()
    step = max(1, -(-total // MAX_TRACK_POINTS))
    points = [
        (lon, lat)
        for index, (lon, lat) in enumerate(fixes.values_list("lon", "lat").iterator())
        if index % step == 0 and lon is not None and lat is not None
    ]
    return points, total


def compliance_report(
    user: User,
    participant: Participant,
    *,
    first: dt.date,
    last: dt.date,
    now: dt.datetime,
) -> ComplianceReport:
    """The report on ``participant`` (already read through the gate) for the office's days
    ``first`` to ``last``, prepared by ``user`` at ``now``. ValidationError for a range
    ``report_days_check`` refuses."""
    report_days_check(first, last, now=now)
    time_zone = participant.office.time_zone
    start, end = report_period(first, last, time_zone=time_zone)
    scope = DashboardScope(start=start, end=end, as_of=now, participant_id=participant.pk)
    alerts = alerts_in_scope(user, scope).select_related("resolved_by").order_by("occurred_at")
    track, fixes = _track(participant, start, scope.period_end)
    return ComplianceReport(
        participant=participant,
        scope=scope,
        first_day=first,
        last_day=last,
        time_zone=time_zone,
        plans=_plans(participant, start, end),
        checkins=checkins_table(user, scope),
        hearings=hearings_table(user, scope),
        alert_outcomes=alert_outcomes_table(user, scope),
        alerts=[_alert_line(alert, now) for alert in alerts],
        weeks=_weeks(user, scope, time_zone),
        track=track,
        track_fixes=fixes,
        zones=[zone_feature(zone) for zone in participant_zones(participant).order_by("pk")],
        prepared_by=str(user),
        prepared_at=now,
    )
