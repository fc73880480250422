"""Daily roll-ups of the dashboard's measures: what ``/reports/`` reads for closed days
instead of millions of raw rows. Derived data only: ``rollups_rebuild`` can recreate every
row from the records at any time, so nothing here is ever edited by hand."""

from __future__ import annotations

from django.db import models

from ontrack.accounts.models import Office, Program, User
from ontrack.messaging.models import Message


class RollupLevel(models.TextChoices):
    """How far a row is summed: per officer's caseload, per office, per program. A reader
    reads one level (an officer's own caseload, a supervisor's office, everyone), so a year
    of a whole program is a few thousand rows rather than one per officer and day."""

    OFFICER = "officer", "Officer"
    OFFICE = "office", "Office"
    PROGRAM = "program", "Program"


class Span(models.TextChoices):
    """How many days a row sums (``ontrack.reports.rollups.spans``): a day at every level;
    program rows are also summed per week, month and quarter, so that a year of a whole
    program reads a few spans' rows instead of every day's."""

    DAY = "day", "Day"
    WEEK = "week", "Week (days 1-7, 8-14, 15-21 or 22-28 of a month)"
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"


class DailyCount(models.Model):
    """How many rows of a measure (``ontrack.reports.dashboard.Measure``) had their event on
    ``day`` (UTC), or in the ``span`` of days starting on ``day``, for the participants of
    one program, office or officer (their assignment when the roll-up was computed), by group
    and label.

    ``settled_on`` and ``present_on`` make "as of" exact for any midnight ``M``: the label
    holds at ``M`` iff ``settled_on`` is before ``M``'s date (it is the UTC date of the
    instant one microsecond before the label came to hold, so an outcome recorded at exactly
    midnight belongs to the day that ends then); empty: never. Likewise the row counts at
    all iff ``present_on`` is empty or before ``M``'s date. A longer span is only read for
    midnights after its end, so there a date within the span is kept as the span's first
    day (``present_on`` empty): all that matters is that it is before ``M``'s.
    """

    measure = models.CharField(max_length=32)
    level = models.CharField(max_length=8, choices=RollupLevel.choices)
    span = models.CharField(max_length=8, choices=Span.choices, default=Span.DAY)
    day = models.DateField()
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    office = models.ForeignKey(
        Office, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    officer = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    group = models.CharField(max_length=32, blank=True)
    label = models.CharField(max_length=32, blank=True)
    settled_on = models.DateField(null=True, blank=True)
    present_on = models.DateField(null=True, blank=True)
    n = models.PositiveIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["measure", "level", "span", "day"], name="rollup_program_span"),
            models.Index(fields=["measure", "level", "office", "day"], name="rollup_office_day"),
            models.Index(fields=["measure", "level", "officer", "day"], name="rollup_officer_day"),
        ]

    def __str__(self) -> str:
        return f"{self.measure} {self.day} {self.level} {self.group}/{self.label}: {self.n}"


class CensusChange(models.Model):
    """By how many the participants of one program, office or officer (their assignment when
    the roll-up was computed) supervised with a (status, plan level, modality) changed at
    instants whose UTC date, one microsecond before, is ``day``: the census at a midnight
    ``M`` is the sum of the changes before ``M``'s date (``ontrack.reports.rollups.census``).
    Enrolment adds one, closure takes one away, a suspension or a plan change moves one."""

    level = models.CharField(max_length=8, choices=RollupLevel.choices)
    day = models.DateField()
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    office = models.ForeignKey(
        Office, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    officer = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16)
    plan_level = models.CharField(max_length=12, blank=True)
    modality = models.CharField(max_length=8, blank=True)
    n = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["level", "day"], name="census_program_day"),
            models.Index(fields=["level", "office", "day"], name="census_office_day"),
            models.Index(fields=["level", "officer", "day"], name="census_officer_day"),
        ]

    def __str__(self) -> str:
        key = f"{self.status}/{self.plan_level}/{self.modality}"
        return f"census {self.day} {self.level} {key}: {self.n:+d}"


class RollupRun(models.Model):
    """One computation of the roll-ups: days from ``first_day`` (empty: all history) up to
    but not including ``covers_until`` were recomputed from the records as they stood at
    ``computed_at``. The dashboard says which run its closed days come from."""

    computed_at = models.DateTimeField()
    first_day = models.DateField(null=True, blank=True)
    covers_until = models.DateField()
    rows = models.PositiveIntegerField()
    seconds = models.FloatField()

    class Meta:
        ordering = ["-computed_at", "-id"]
        get_latest_by = "computed_at"

    def __str__(self) -> str:
        return f"roll-up of {self.computed_at:%Y-%m-%d %H:%M} UTC"


class SupervisorSummary(models.Model):
    """A weekly summary e-mailed to a supervisor (``reports.weekly_summary``): written in the
    transaction that queues the e-mail, and at most one per supervisor and week, which is
    what keeps a job run twice, or by two workers at once, from sending it twice."""

    supervisor = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    week = models.DateField(help_text="The Monday (office calendar) of the week summarised.")
    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-week", "supervisor"]
        constraints = [
            models.UniqueConstraint(fields=["supervisor", "week"], name="one_summary_a_week")
        ]

    def __str__(self) -> str:
        return f"weekly summary {self.week} to user {self.supervisor_id}"
