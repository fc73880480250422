"""Check-in schedules and their windows, check-ins and their outcomes, offices' calendars,
appointments, reschedule requests and the officer's tasks.

Instants are stored in UTC; every "local" rule names its zone: a check-in window is
computed in the participant's zone, an office's slots and closures in the office's zone.
Writes go through ``schedule.services`` only.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ontrack.accounts.models import Office
from ontrack.participants.models import Hearing, Participant, SupervisionPlan


class Cadence(models.TextChoices):
    WEEKLY = "weekly", "Weekly / every N weeks"
    MONTHLY_WEEKDAY = "monthly_weekday", "Monthly on a weekday (e.g. first Tuesday)"
    MONTHLY_DAY = "monthly_day", "Monthly on a day of the month"
    CUSTOM = "custom", "Custom dates"


class CheckinSchedule(models.Model):
    """A participant's check-in cadence and daily window (wall-clock times in the
    participant's zone). One per participant; editing it regenerates future windows only.
    ``weekdays`` are 0 = Monday; ``week`` is 1–4 or -1 (last) for ``monthly_weekday``;
    ``dates`` are ISO dates for ``custom``."""

    participant = models.OneToOneField(
        Participant, on_delete=models.CASCADE, related_name="checkin_schedule"
    )
    plan = models.ForeignKey(
        SupervisionPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cadence = models.CharField(max_length=16, choices=Cadence.choices)
    interval = models.PositiveSmallIntegerField(default=1, help_text="Every N weeks.")
    weekdays = models.JSONField(default=list, blank=True)
    week = models.SmallIntegerField(default=1)
    day = models.PositiveSmallIntegerField(default=1)
    dates = models.JSONField(default=list, blank=True)
    opens = models.TimeField(help_text="Local opening time of each window.")
    closes = models.TimeField(help_text="Local closing time (next day if not after opening).")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)
    generated_until = models.DateField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.get_cadence_display()} check-ins for {self.participant_id}"


class Outcome(models.TextChoices):
    """How a check-in window (or one attempt) ended. A technical failure means the person
    tried; it is never counted as missed."""

    DUE = "due", _("Due")
    ON_TIME = "on_time", _("On time")
    LATE = "late", _("Late")
    MISSED = "missed", _("Missed")
    EXCUSED = "excused", _("Excused")
    TECHNICAL_FAILURE = "technical_failure", _("Technical failure")


# Check-in compliance, as the dashboard and the caseload list both count it: windows met (on
# time or late) of windows judged (met or missed). Excused windows, technical failures and
# windows still due are neither.
COMPLIANCE_MET = (Outcome.ON_TIME, Outcome.LATE)
COMPLIANCE_JUDGED = (*COMPLIANCE_MET, Outcome.MISSED)
# How long a check-in window may stay open: an ad-hoc request at most this (the console
# offers up to 72 hours), a scheduled window a day. A day's windows are then found among
# those opening since this long before it, through the index, not every earlier window.
WINDOW_LONGEST = dt.timedelta(hours=72)


class CheckinWindow(models.Model):
    """One occurrence of a schedule, or an ad-hoc request from the officer (no schedule):
    the participant may check in from ``opens_at`` until ``closes_at``. ``outcome``
    summarises the window (the best attempt, or missed/excused)."""

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="checkin_windows"
    )
    schedule = models.ForeignKey(
        CheckinSchedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="windows"
    )
    local_date = models.DateField()
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.DUE)
    outcome_at = models.DateTimeField(null=True, blank=True)
    excused_reason = models.CharField(max_length=300, blank=True)
    excused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reminders_synced = models.BooleanField(default=False)

    class Meta:
        ordering = ["opens_at", "pk"]
        constraints = [
            # One window a day per schedule; ad-hoc windows (no schedule) are not limited.
            models.UniqueConstraint(
                fields=["participant", "local_date", "schedule"],
                name="checkin_window_one_per_day",
            ),
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")),
                name="checkin_window_closes_after_opening",
            ),
            models.CheckConstraint(
                condition=~models.Q(outcome="excused") | ~models.Q(excused_reason=""),
                name="checkin_window_excused_has_reason",
            ),
        ]
        indexes = [
            # With the closing time, a day's windows of an office's people are counted from
            # the index alone (``queries.windows_between_for``).
            models.Index(
                fields=["participant", "opens_at", "closes_at"], name="window_participant_opens"
            ),
            models.Index(fields=["outcome", "closes_at"]),
            # A day's windows of every office, found and filtered by closing time and person
            # from the index alone (``queries.windows_between_for``): reading the table for
            # them cost an office's day 1-1.6 s on PostgreSQL at 100,000 participants.
            models.Index(
                fields=["opens_at", "closes_at", "participant"],
                include=["id"],
                name="window_opens_closes",
            ),
        ]

    def __str__(self) -> str:
        return f"window {self.pk} {self.local_date} ({self.outcome})"


class Modality(models.TextChoices):
    APP = "app", "Mobile check-in"
    PHONE = "phone", "Phone (text) check-in"


class FailureReason(models.TextChoices):
    CAMERA = "camera", "Camera unavailable"
    LOCATION = "location", "Location unavailable"
    UPLOAD = "upload", "Upload failed"
    OTHER = "other", "Other"


class Review(models.TextChoices):
    NOT_NEEDED = "not_needed", "No photo"
    PENDING = "pending", "Waiting for review"
    APPROVED = "approved", "Identity confirmed"
    REJECTED = "rejected", "Identity not confirmed"


class Checkin(models.Model):
    """One attempt to check in. ``attempted_at`` is the phone's time of the attempt (it
    decides on time or late, bounded to be plausible), ``received_at`` the server's, and
    ``phone_attempted_at`` what the phone claimed before those bounds.
    The photo is stored in the default storage and served only by a permission-checked
    view."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="checkins")
    # RESTRICT, not PROTECT: a window with a check-in is never deleted on its own (schedule
    # changes keep it), but both go together when the whole case is removed.
    window = models.ForeignKey(
        CheckinWindow, null=True, blank=True, on_delete=models.RESTRICT, related_name="checkins"
    )
    client_ref = models.CharField(max_length=64)
    reference = models.CharField(max_length=16, unique=True)
    modality = models.CharField(max_length=8, choices=Modality.choices, default=Modality.APP)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    attempted_at = models.DateTimeField()
    received_at = models.DateTimeField()
    phone_attempted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The time the phone claimed, as sent; attempted_at is what counted.",
    )
    photo = models.FileField(upload_to="schedule/checkins/%Y/%m/", blank=True)
    photo_content_type = models.CharField(max_length=60, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    accuracy_m = models.FloatField(null=True, blank=True)
    failure_reason = models.CharField(max_length=10, choices=FailureReason.choices, blank=True)
    failure_detail = models.CharField(max_length=500, blank=True)
    review = models.CharField(max_length=12, choices=Review.choices, default=Review.NOT_NEEDED)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.CharField(max_length=300, blank=True)
    face_match_score = models.FloatField(
        null=True, blank=True, help_text="Only when a program enabled a face matcher."
    )

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "client_ref"], name="checkin_client_ref_unique"
            ),
            models.CheckConstraint(
                condition=~models.Q(review="rejected") | ~models.Q(review_reason=""),
                name="checkin_rejection_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["participant", "received_at"]),
            models.Index(fields=["review", "received_at"]),
        ]

    def __str__(self) -> str:
        return f"check-in {self.reference} ({self.outcome})"


class OfficeCalendar(models.Model):
    """How an office's opening hours (``Office.opening_hours``, local to the office) are cut
    into appointment slots, and how many people one slot takes."""

    office = models.OneToOneField(Office, on_delete=models.CASCADE, related_name="calendar")
    slot_minutes = models.PositiveSmallIntegerField(default=30)
    slot_capacity = models.PositiveSmallIntegerField(default=4)

    def __str__(self) -> str:
        return f"calendar of {self.office}"


class OfficeClosure(models.Model):
    """A holiday or closure: no slot is offered on that local date."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField()
    reason = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["office", "date"], name="office_closure_unique")
        ]

    def __str__(self) -> str:
        return f"{self.office} closed {self.date}"


class OfficeSlot(models.Model):
    """A bookable slot of an office, created when first booked. ``booked`` is moved only by
    a conditional UPDATE (``booked < capacity``), so two concurrent bookings can never both
    take the last place, on SQLite or PostgreSQL."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="slots")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveSmallIntegerField()
    booked = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["office", "starts_at"], name="office_slot_unique"),
            models.CheckConstraint(
                condition=models.Q(booked__lte=models.F("capacity")),
                name="office_slot_within_capacity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.office} {self.starts_at:%Y-%m-%d %H:%M} ({self.booked}/{self.capacity})"


class AppointmentType(models.TextChoices):
    """What an appointment is for. The label is the stated purpose shown to the participant
    as it is: notices never give another reason for coming in."""

    ROUTINE_CHECKIN = "routine_checkin", _("Routine check-in")
    DOCUMENT_SERVICE = "document_service", _("Document service")
    HEARING_PREPARATION = "hearing_preparation", _("Hearing preparation")
    DEVICE_FITTING = "device_fitting", _("Device fitting")
    DEVICE_REMOVAL = "device_removal", _("Device removal")
    PLAN_REVIEW = "plan_review", _("Plan review")


class AppointmentKind(models.TextChoices):
    OFFICE = "office", _("Office appointment")
    HOME_VISIT = "home_visit", _("Home visit")


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    ATTENDED = "attended", "Attended"
    MISSED = "missed", "Missed"
    CANCELLED = "cancelled", "Cancelled"


class Appointment(models.Model):
    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="appointments"
    )
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="appointments")
    slot = models.ForeignKey(
        OfficeSlot, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    kind = models.CharField(max_length=12, choices=AppointmentKind.choices)
    type = models.CharField(max_length=24, choices=AppointmentType.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="For staff only.")
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    status_at = models.DateTimeField(null=True, blank=True)
    status_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="appointment_ends_after_start",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="office", status="booked") | models.Q(slot__isnull=False),
                name="appointment_office_booking_has_slot",
            ),
        ]
        indexes = [
            models.Index(fields=["participant", "starts_at"]),
            models.Index(fields=["office", "starts_at"]),
            models.Index(fields=["status", "ends_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.starts_at:%Y-%m-%d %H:%M} ({self.status})"


class AppointmentBulkKind(models.TextChoices):
    BOOK = "book", "Appointments booked in bulk"
    CANCEL = "cancel", "Appointments cancelled in bulk"
    MOVE = "move", "Appointments moved in bulk"
    CLOSE_DAY = "close_day", "Office day closed"
    UNDO = "undo", "Bulk appointment action undone"


class AppointmentBulkAction(models.Model):
    """One run of a bulk appointment action (a round of bookings, a bulk cancel or move, a
    closed office day), recorded as one event with its reason so that it can be reviewed,
    and within ``ONTRACK_BULK_UNDO_MINUTES`` undone, as the single decision it was. An undo
    is an action of its own that names the run it undid (``undoes``).

    ``day`` and ``closure_created`` are for a closed day: the undo reopens the day only if
    this run is what closed it. ``notified`` is False for a bulk booking whose people were
    not told (imported appointments), so that withdrawing it does not tell them either."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=AppointmentBulkKind.choices)
    reason = models.TextField()
    office = models.ForeignKey(
        Office, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    day = models.DateField(null=True, blank=True)
    closure_created = models.BooleanField(default=False)
    notified = models.BooleanField(default=True)
    created_at = models.DateTimeField(db_index=True)
    undoes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="undone_by"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.created_at:%Y-%m-%d %H:%M}"


class AppointmentBulkItem(models.Model):
    """One appointment in a bulk run: its status and time before and after.
    ``status_before`` is blank for an appointment the run booked; ``skipped`` says why the
    run left it as it was (no free slot, or, for an undo, changed since)."""

    action = models.ForeignKey(
        AppointmentBulkAction, on_delete=models.CASCADE, related_name="items"
    )
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="+")
    status_before = models.CharField(max_length=10, choices=AppointmentStatus.choices, blank=True)
    starts_at_before = models.DateTimeField(null=True, blank=True)
    status_after = models.CharField(max_length=10, choices=AppointmentStatus.choices)
    starts_at_after = models.DateTimeField()
    skipped = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.appointment_id}: {self.status_before or '-'} -> {self.status_after}"


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


class RescheduleRequest(models.Model):
    """A participant's request to move an appointment, with the free slot they chose if
    any; an officer approves (the appointment moves, to that slot unless they pick
    another) or declines with a note."""

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="reschedule_requests"
    )
    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="reschedule_requests"
    )
    reason = models.TextField()
    preferred_starts_at = models.DateTimeField(
        null=True, blank=True, help_text="The office's free slot the participant chose, if any."
    )
    original_starts_at = models.DateTimeField(
        null=True, blank=True, help_text="When the appointment was at the time of the request."
    )
    created_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment"],
                condition=models.Q(status="pending"),
                name="one_pending_reschedule_per_appointment",
            )
        ]

    def __str__(self) -> str:
        return f"reschedule request {self.pk} ({self.status})"


class TaskKind(models.TextChoices):
    TECHNICAL_FAILURE = "technical_failure", "Check-in technical failure"
    RESCHEDULE_REQUEST = "reschedule_request", "Reschedule request"
    HEARING_OUTCOME = "hearing_outcome", "Record a hearing outcome"
    LATE_UPLOAD = "late_upload", "Check-in sent long after the time it claims"
    DEVICE_RETRIEVAL = "device_retrieval", "Collect a device no longer in the plan"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"


class Task(models.Model):
    """Work for the participant's officer that is not an alert (a technical failure is the
    program's problem to fix, not a violation). ``source`` names what opened it (e.g.
    ``checkin:12``) so opening the same task twice is a no-op."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=20, choices=TaskKind.choices)
    source = models.CharField(max_length=60, unique=True)
    summary = models.CharField(max_length=300)
    status = models.CharField(max_length=6, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"task {self.pk}: {self.summary}"


class HearingMiss(models.Model):
    """A hearing recorded as not attended for which the watchdog raised ``missed_hearing``;
    kept so the alert is raised once even after it is resolved."""

    hearing = models.OneToOneField(Hearing, on_delete=models.CASCADE, related_name="+")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    raised_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"missed hearing {self.hearing_id}"
