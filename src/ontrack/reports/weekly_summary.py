"""The weekly summary e-mailed to each supervisor: their office's past week in numbers, with
the tables and charts as a PDF attachment.

The numbers are the program dashboard's (``reports.dashboard``): the same table builders,
counted as the page counts them (``rollups.ROLLED``), for the scope the page gives
the supervisor (their office; ``participants_visible_to`` cuts it to what they may read).
The summary holds counts only, never a participant's name, and is written to the access
log as the dashboard page is, one entry per summary.

A week runs Monday to Sunday on the office's calendar. Its summary is due from
``ONTRACK_WEEKLY_SUMMARY_WEEKDAY`` at ``ONTRACK_WEEKLY_SUMMARY_HOUR`` of the following
week, office time (Monday 07:00 by default). The job runs hourly and sends each supervisor
the latest week that is due, once: ``SupervisorSummary`` has one row per supervisor and
week, written with the e-mail, so a second run or a second worker finds it (or loses the
insert) and sends nothing. A supervisor who unticks it on their account page gets none; one
with no e-mail address is skipped with a log line, and gets the week's summary on the next
run after an address is added.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typst
from django.conf import settings
from django.db import IntegrityError, transaction

from ontrack.accounts.models import Office, Role, User
from ontrack.accounts.templatetags.office_time import office_time, office_zone
from ontrack.audit.models import AccessAction
from ontrack.audit.services import access_log_record
from ontrack.messaging.models import Channel, Message
from ontrack.messaging.providers.base import Attachment
from ontrack.messaging.services import staff_notice_queue
from ontrack.reports.compliance import WeekLine, report_period
from ontrack.reports.compliance_drawings import bar_chart_svg, weekly_compliance_svg
from ontrack.reports.compliance_pdf import table_data
from ontrack.reports.dashboard import DashboardScope, Table, dashboard_table
from ontrack.reports.models import SupervisorSummary
from ontrack.reports.rollups import ROLLED

logger = logging.getLogger(__name__)

TEMPLATE = Path(__file__).parent / "templates" / "reports" / "weekly_summary.typ"
# The dashboard's tables the summary holds, in its order.
SUMMARY_TABLES = ("checkins", "alerts", "alert_outcomes", "messages", "reviews")
# The chart shows check-ins of this many weeks, the summarised one last.
TREND_WEEKS = 8
WEEK = dt.timedelta(days=7)


def summary_week_due(now: dt.datetime, *, time_zone: str, weekday: int, hour: int) -> dt.date:
    """The Monday (office calendar) of the latest week whose summary is due at ``now``: a
    week's summary is due from ``weekday`` (0 Monday) at ``hour`` of the week after it,
    on the office's clock."""
    zone = office_zone(time_zone)
    local = now.astimezone(zone)
    this_monday = local.date() - dt.timedelta(days=local.weekday())
    due = dt.datetime.combine(this_monday + dt.timedelta(days=weekday), dt.time(hour), zone)
    last_monday = this_monday - WEEK
    return last_monday if local >= due else last_monday - WEEK


@dataclass(frozen=True, slots=True)
class WeeklySummary:
    """One office's week as its supervisor reads it; ``tables`` by ``SUMMARY_TABLES`` key,
    ``weeks`` the check-in table of each of the last ``TREND_WEEKS`` weeks."""

    office: Office
    first_day: dt.date
    scope: DashboardScope
    tables: dict[str, Table]
    weeks: list[WeekLine]
    prepared_at: dt.datetime

    @property
    def last_day(self) -> dt.date:
        return self.first_day + dt.timedelta(days=6)


def _week_scope(office: Office, first_day: dt.date, now: dt.datetime) -> DashboardScope:
    start, end = report_period(
        first_day, first_day + dt.timedelta(days=6), time_zone=office.time_zone
    )
    return DashboardScope(start=start, end=end, as_of=now, office_id=office.pk)


def weekly_summary(user: User, *, first_day: dt.date, now: dt.datetime) -> WeeklySummary:
    """The summary of the office week from ``first_day`` for ``user`` (a supervisor: their
    office), the records read as they stand at ``now``."""
    office = user.office
    if office is None:
        raise ValueError("a weekly summary is of the reader's office; this user has none")
    scope = _week_scope(office, first_day, now)
    weeks = []
    for back in range(TREND_WEEKS - 1, -1, -1):
        monday = first_day - back * WEEK
        table = dashboard_table(user, _week_scope(office, monday, now), "checkins", ROLLED)
        weeks.append(WeekLine(monday, {str(row[0]): int(row[1]) for row in table.rows}))
    return WeeklySummary(
        office=office,
        first_day=first_day,
        scope=scope,
        tables={key: dashboard_table(user, scope, key, ROLLED) for key in SUMMARY_TABLES},
        weeks=weeks,
        prepared_at=now,
    )


def _total_line(table: Table, *, skip: int = 1) -> str:
    """The table's sum row as "column n" pairs (its first ``skip`` columns are labels)."""
    total = table.total or []
    pairs = zip(table.columns[skip:], total[skip:], strict=False)
    return ", ".join(f"{column} {value}" for column, value in pairs if value != "")


def summary_subject(summary: WeeklySummary) -> str:
    return (
        f"Weekly summary of {summary.office.name}: "
        f"{summary.first_day:%Y-%m-%d} to {summary.last_day:%Y-%m-%d}"
    )


def summary_text(summary: WeeklySummary) -> str:
    """The e-mail's text: the week's headline numbers, each from a dashboard table."""
    tables = summary.tables
    checkins = tables["checkins"]
    alerts = tables["alerts"]
    by_kind = ", ".join(f"{label} {n}" for label, n in alerts.chart) or "none"
    outcomes = ", ".join(f"{row[0]} {row[1]}" for row in checkins.rows)
    base = settings.ONTRACK_PUBLIC_URL
    zone = summary.office.time_zone
    return "\n\n".join(
        [
            f"The week of {summary.office.name} from Monday {summary.first_day:%Y-%m-%d} to "
            f"Sunday {summary.last_day:%Y-%m-%d} (office days, {zone}), as the records stood "
            f"at {office_time(summary.prepared_at, zone)}. Counts only: no participant is "
            "named. The attached PDF has the tables and charts.",
            f"Check-in windows: {outcomes}. {checkins.note.split('. ')[0]}.",
            f"Alerts that reached the queue: {_total_line(alerts, skip=2)}. By type: {by_kind}.",
            f"Messages to participants: {_total_line(tables['messages'])}.",
            f"Supervision reviews opened: {_total_line(tables['reviews'])}.",
            f"The program dashboard has the same tables for any range of days: {base}/reports/"
            f"?office={summary.office.pk}. You get this summary as a supervisor; to stop it, "
            f"untick it on your account page: {base}/account/",
        ]
    )


def _charts(summary: WeeklySummary) -> dict[str, tuple[str, str]]:
    """The drawings printed under a table: (SVG, caption) by table key."""
    alerts = summary.tables["alerts"]
    weeks = [(f"{week.first_day:%m-%d}", week.counts) for week in summary.weeks]
    return {
        "checkins": (
            weekly_compliance_svg(weeks, title="Check-ins by week"),
            f"Check-in windows by outcome over {TREND_WEEKS} weeks (each starts on the Monday "
            "shown; the last is this summary's week).",
        ),
        "alerts": (
            str(bar_chart_svg(alerts.chart, title=alerts.title)),
            "Alerts that reached the queue this week, by type.",
        ),
    }


def summary_pdf(summary: WeeklySummary) -> bytes:
    """The summary's tables and charts as PDF bytes (Typst, as the compliance report)."""
    zone = summary.office.time_zone
    charts = _charts(summary)
    data: dict[str, Any] = {
        "office": summary.office.name,
        "period": f"{summary.first_day:%Y-%m-%d} to {summary.last_day:%Y-%m-%d}",
        "time_zone": zone,
        "as_of": office_time(summary.prepared_at, zone),
        "sections": [
            {
                "table": table_data(summary.tables[key]),
                "chart": charts.get(key, ("", ""))[0],
                "caption": charts.get(key, ("", ""))[1],
            }
            for key in SUMMARY_TABLES
        ],
    }
    return typst.compile(
        TEMPLATE.read_bytes(),
        ignore_system_fonts=True,
        sys_inputs={"data": json.dumps(data)},
        timestamp=int(summary.prepared_at.timestamp()),
    )


def weekly_summary_send(supervisor: User, *, now: dt.datetime) -> Message | None:
    """Queue ``supervisor``'s summary of the latest week due at ``now``, unless it was sent
    already, they opted out, or they have no e-mail address (logged). Returns the message,
    or None when nothing was queued."""
    office = supervisor.office
    if office is None or not supervisor.weekly_summary or supervisor.role != Role.SUPERVISOR:
        return None
    week = summary_week_due(
        now,
        time_zone=office.time_zone,
        weekday=settings.ONTRACK_WEEKLY_SUMMARY_WEEKDAY,
        hour=settings.ONTRACK_WEEKLY_SUMMARY_HOUR,
    )
    if SupervisorSummary.objects.filter(supervisor=supervisor, week=week).exists():
        return None
    if not supervisor.email.strip():
        logger.info(
            "weekly summary not sent supervisor=%s week=%s reason=no_email", supervisor.pk, week
        )
        return None
    summary = weekly_summary(supervisor, first_day=week, now=now)
    attachment = Attachment(
        filename=f"weekly-summary-{week:%Y%m%d}.pdf",
        content_type="application/pdf",
        content=summary_pdf(summary),
    )
    try:
        with transaction.atomic():
            record = SupervisorSummary.objects.create(
                supervisor=supervisor, week=week, office=office, created_at=now
            )
            message = staff_notice_queue(
                user=supervisor,
                channel=Channel.EMAIL,
                subject=summary_subject(summary),
                body=summary_text(summary),
                cause=f"weekly summary {week:%Y-%m-%d}",
                attachments=[attachment],
            )
            record.message = message
            record.save(update_fields=["message"])
            access_log_record(
                user=supervisor,
                action=AccessAction.LIST,
                what=f"weekly summary e-mail {summary.scope.describe()}",
            )
    except IntegrityError:  # another worker sent it in the meantime
        return None
    logger.info("weekly summary queued supervisor=%s week=%s", supervisor.pk, week)
    return message


def weekly_summaries_send(*, now: dt.datetime) -> int:
    """Every active supervisor's due summary (``weekly_summary_send``); how many were
    queued."""
    supervisors = User.objects.filter(
        role=Role.SUPERVISOR, is_active=True, office__isnull=False, weekly_summary=True
    ).select_related("office")
    return sum(weekly_summary_send(user, now=now) is not None for user in supervisors)
