"""Participants and their cases: the person, how to reach them, their release conditions,
court hearings, supervision plan and its history, and the timeline of everything done.

Writes go through ``participants.services`` only; those functions keep the denormalised
columns on ``Participant`` (current level, search text) in step with the rows they summarise.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from ontrack.accounts.models import Office, Program, validate_time_zone


class Language(models.TextChoices):
    """Languages participants speak. The first five are fully translated; notices to the
    others fall back to the program's default language (and the officer sees that)."""

    ENGLISH = "en", "English"
    SPANISH = "es", "Spanish"
    PORTUGUESE = "pt", "Portuguese"
    HAITIAN_CREOLE = "ht", "Haitian Creole"
    FRENCH = "fr", "French"
    KICHE = "quc", "K'iche'"
    MAM = "mam", "Mam"
    RUSSIAN = "ru", "Russian"
    ARABIC = "ar", "Arabic"
    CHINESE = "zh", "Chinese"
    PUNJABI = "pa", "Punjabi"
    TIGRINYA = "ti", "Tigrinya"


class Status(models.TextChoices):
    ENROLLED = "enrolled", "Enrolled"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    CLOSED = "closed", "Closed"


# The lifecycle in one place: from each status, where it may go.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.ENROLLED: frozenset({Status.ACTIVE, Status.SUSPENDED, Status.CLOSED}),
    Status.ACTIVE: frozenset({Status.SUSPENDED, Status.CLOSED}),
    Status.SUSPENDED: frozenset({Status.ACTIVE, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


class ClosureReason(models.TextChoices):
    CASE_CONCLUDED = "case_concluded", "Case concluded"
    TRANSFERRED = "transferred", "Transferred to another program"
    ABSCONDED = "absconded", "Absconded"
    DEPARTED = "departed", "Departed / removed"
    DETAINED = "detained", "Detained"
    DECEASED = "deceased", "Deceased"
    OTHER = "other", "Other"


# Closing a case for one of these reasons is an adverse outcome for the person: it is a named
# staff member's decision with a written note, never the system's (the check constraint on
# ``Participant`` and ``participants.services.participant_close`` both read this one list).
ADVERSE_CLOSURE_REASONS = frozenset(
    {ClosureReason.ABSCONDED, ClosureReason.DEPARTED, ClosureReason.DETAINED}
)


def decision_text(
    *,
    decider: object | None,
    outside_name: str,
    outside_office: str,
    decided_at: dt.datetime | None,
    imported_at: dt.datetime | None,
    imported_by: object | None,
) -> str:
    """One wording for a decision made here or brought in with a record (closures here,
    alert resolutions in alerts): "decided by J. Smith at Denver Field Office on 2026-03-02,
    imported 2026-12-04 by Sam Supervisor", dates on this server's calendar."""
    office = getattr(decider, "office", None) if decider is not None else None
    name = str(decider) if decider is not None else outside_name or "a person not recorded"
    where = outside_office if decider is None else (office.name if office is not None else "")
    text = f"decided by {name}"
    if where:
        text += f" at {where}"
    if decided_at is not None:
        text += f" on {timezone.localtime(decided_at):%Y-%m-%d}"
    if imported_at is not None:
        text += f", imported {timezone.localtime(imported_at):%Y-%m-%d}"
        if imported_by is not None:
            text += f" by {imported_by}"
    return text


class Level(models.TextChoices):
    INTENSIVE = "intensive", "Intensive"
    HIGH = "high", "High"
    STANDARD = "standard", "Standard"
    LOW = "low", "Low"
    MINIMAL = "minimal", "Minimal"


class Participant(models.Model):
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="participants")
    case_number = models.CharField(max_length=40, help_text="Agency case number.")
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    preferred_language = models.CharField(
        max_length=8, choices=Language.choices, default=Language.ENGLISH
    )
    email = models.EmailField(blank=True)
    photo = models.ImageField(upload_to="participants/photos/", blank=True)
    time_zone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_time_zone]
    )
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="participants")
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="caseload",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ENROLLED)
    closure_reason = models.CharField(max_length=20, choices=ClosureReason.choices, blank=True)
    closure_note = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The staff member who decided the closure.",
    )
    # A closure decided in another system and brought in with the record (OTRTS import): the
    # decider has no account here, so they are named as that system recorded them, and the
    # import is recorded beside them. Never the importer in ``closed_by``: they decided nothing.
    closure_decided_by_name = models.CharField(
        max_length=150, blank=True, help_text="Who decided an imported closure, as recorded there."
    )
    closure_decided_by_office = models.CharField(
        max_length=150, blank=True, help_text="Where that person worked (office or agency)."
    )
    closure_imported_at = models.DateTimeField(null=True, blank=True)
    closure_imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who imported a closure decided elsewhere (not its decider).",
    )
    enrolled_at = models.DateTimeField()
    # Denormalised from the current plan so that a 100,000-row caseload filters and sorts on
    # an indexed column instead of joining the plan history.
    level = models.CharField(max_length=12, choices=Level.choices, default=Level.STANDARD)
    # Lower-cased "family given case-number" for substring search without a function index.
    search_text = models.CharField(max_length=260, editable=False, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "case_number"], name="participant_case_number_unique"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="closed") | ~models.Q(closure_reason=""),
                name="participant_closed_has_reason",
            ),
            # An adverse outcome is a person's decision, never the system's: the database
            # itself refuses one without a named decider (a staff member here, or the person
            # an imported record names) and a written note.
            models.CheckConstraint(
                condition=~models.Q(closure_reason__in=sorted(ADVERSE_CLOSURE_REASONS))
                | (
                    (models.Q(closed_by__isnull=False) | ~models.Q(closure_decided_by_name=""))
                    & ~models.Q(closure_note="")
                ),
                name="adverse_closure_needs_a_person_and_a_note",
            ),
            # A decider named by text only ever arrives with an import, which is recorded,
            # and is never doubled by a staff member here.
            models.CheckConstraint(
                condition=models.Q(closure_decided_by_name="")
                | (
                    models.Q(closed_by__isnull=True)
                    & models.Q(closure_imported_at__isnull=False)
                    & models.Q(closure_imported_by__isnull=False)
                ),
                name="closure_outside_decider_only_by_import",
            ),
        ]
        indexes = [
            models.Index(fields=["office", "status", "family_name"]),
            models.Index(fields=["officer", "status", "family_name"]),
            # The officers of an office's people (the filters of its lists), from the index
            # alone: reading each person's row for it took 85 ms an office of 17,000. With
            # the id (SQLite's indexes hold it anyway): a supervisor's scope joined to alerts,
            # windows and the like from the index alone on PostgreSQL too, not the office's
            # 17,000 rows read for each of a page's queries (8-10 ms each).
            models.Index(
                fields=["office", "officer"], include=["id"], name="participant_office_officer"
            ),
            # One per caseload sort, ending in the id the keyset pages break ties with
            # (``caseload_pages``), so any page of any sort, either way, is a range scan.
            models.Index(fields=["family_name", "given_name", "id"], name="participant_sort_name"),
            models.Index(fields=["case_number", "id"], name="participant_sort_case"),
            models.Index(fields=["status", "family_name", "id"], name="participant_sort_status"),
            models.Index(fields=["level", "family_name", "id"], name="participant_sort_level"),
            models.Index(fields=["enrolled_at", "id"], name="participant_sort_enrolled"),
            models.Index(Lower("case_number"), name="participant_case_lower"),
            models.Index(fields=["preferred_language"]),
        ]

    def __str__(self) -> str:
        return f"{self.family_name}, {self.given_name} ({self.case_number})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def closure_decision(self) -> str:
        """Who decided the closure and when, as the console shows it. An imported closure
        names its original decider and says who imported it and when, so that it is never
        read as the importer's decision."""
        if self.status != Status.CLOSED:
            return ""
        return decision_text(
            decider=self.closed_by,
            outside_name=self.closure_decided_by_name,
            outside_office=self.closure_decided_by_office,
            decided_at=self.closed_at,
            imported_at=self.closure_imported_at,
            imported_by=self.closure_imported_by,
        )


class PhoneLabel(models.TextChoices):
    MOBILE = "mobile", "Mobile"
    HOME = "home", "Home"
    WORK = "work", "Work"
    OTHER = "other", "Other"


class Phone(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(max_length=20, db_index=True, help_text="E.164, e.g. +12025550143.")
    label = models.CharField(max_length=8, choices=PhoneLabel.choices, default=PhoneLabel.MOBILE)
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "number"], name="phone_unique_per_participant"
            )
        ]

    def __str__(self) -> str:
        return self.number


class Address(models.Model):
    """An address held from ``valid_from`` until ``valid_to`` (open while current)."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="addresses")
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, default="US")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-valid_from", "-id"]

    def __str__(self) -> str:
        return ", ".join(p for p in [self.line1, self.line2, self.city, self.region] if p)


class Counsel(models.Model):
    """Counsel of record. Copies of notices go to counsel only with the participant's
    recorded consent."""

    participant = models.OneToOneField(
        Participant, on_delete=models.CASCADE, related_name="counsel"
    )
    name = models.CharField(max_length=150)
    organisation = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True)
    consent_to_notices = models.BooleanField(default=False)
    consent_recorded_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class ConditionFlag(models.TextChoices):
    CURFEW = "curfew", "Curfew"
    NO_CONTACT = "no_contact", "No-contact order"
    TRAVEL_RESTRICTED = "travel_restricted", "Travel restricted"
    SURRENDER_PASSPORT = "surrender_passport", "Passport surrendered"
    ELECTRONIC_MONITORING = "electronic_monitoring", "Electronic monitoring"
    SUBSTANCE_TESTING = "substance_testing", "Substance testing"
    EMPLOYMENT_OR_SCHOOL = "employment_or_school", "Maintain employment or school"
    REPORT_IN_PERSON = "report_in_person", "Report in person"


class ReleaseConditions(models.Model):
    participant = models.OneToOneField(
        Participant, on_delete=models.CASCADE, related_name="conditions"
    )
    text = models.TextField(blank=True, help_text="The conditions as the order states them.")
    flags = models.JSONField(default=list, blank=True, help_text="ConditionFlag values.")
    ordered_by = models.CharField(max_length=150, blank=True)
    ordered_on = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Conditions for {self.participant_id}"


class HearingKind(models.TextChoices):
    MASTER_CALENDAR = "master_calendar", "Master calendar"
    INDIVIDUAL = "individual", "Individual / merits"
    ARRAIGNMENT = "arraignment", "Arraignment"
    PRETRIAL = "pretrial", "Pretrial conference"
    TRIAL = "trial", "Trial"
    SENTENCING = "sentencing", "Sentencing"
    BOND = "bond", "Bond / custody"
    OTHER = "other", "Other"


class HearingOutcome(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    ATTENDED = "attended", "Attended"
    FAILED_TO_APPEAR = "failed_to_appear", "Failed to appear"
    RESCHEDULED = "rescheduled", "Rescheduled"
    CANCELLED = "cancelled", "Cancelled"


class Hearing(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="hearings")
    scheduled_at = models.DateTimeField(help_text="Stored in UTC.")
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    court = models.CharField(max_length=150)
    court_address = models.CharField(max_length=250, blank=True)
    kind = models.CharField(max_length=20, choices=HearingKind.choices)
    outcome = models.CharField(
        max_length=20, choices=HearingOutcome.choices, default=HearingOutcome.SCHEDULED
    )
    outcome_recorded_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the outcome was last recorded (reports read outcomes as of a date).",
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["scheduled_at"]
        indexes = [models.Index(fields=["scheduled_at", "outcome"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.court}"

    @property
    def local_time(self) -> dt.datetime:
        """The hearing's time on the court's wall clock."""
        return self.scheduled_at.astimezone(zoneinfo.ZoneInfo(self.time_zone))


class SupervisionPlan(models.Model):
    """One version of a participant's plan. The current version has ``effective_to`` unset;
    a change closes it and opens the next, so the history is the rows themselves."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="plans")
    level = models.CharField(max_length=12, choices=Level.choices)
    app_checkins = models.BooleanField(default=True)
    phone_checkins = models.BooleanField(default=False)
    office_visits = models.BooleanField(default=True)
    gps_device = models.BooleanField(default=False)
    review_date = models.DateField()
    effective_from = models.DateTimeField()
    effective_to = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-effective_from", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant"],
                condition=models.Q(effective_to__isnull=True),
                name="one_current_plan",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} plan for {self.participant_id}"

    @property
    def modalities(self) -> list[str]:
        names = [
            ("app", self.app_checkins),
            ("phone", self.phone_checkins),
            ("office", self.office_visits),
            ("gps", self.gps_device),
        ]
        return [name for name, enabled in names if enabled]


class EventKind(models.TextChoices):
    ENROLLED = "enrolled", "Enrolled"
    ACTIVATED = "activated", "Activated"
    SUSPENDED = "suspended", "Suspended"
    REINSTATED = "reinstated", "Reinstated"
    CLOSED = "closed", "Closed"
    EDITED = "edited", "Details changed"
    TRANSFERRED = "transferred", "Transferred"
    PLAN_CHANGED = "plan_changed", "Plan changed"
    HEARING_ADDED = "hearing_added", "Hearing added"
    HEARING_UPDATED = "hearing_updated", "Hearing updated"
    COUNSEL_CHANGED = "counsel_changed", "Counsel changed"
    CONDITIONS_CHANGED = "conditions_changed", "Release conditions changed"
    ADDRESS_CHANGED = "address_changed", "Address changed"
    IMPORTED = "imported", "Imported"
    DEVICE_CHANGED = "device_changed", "Device assigned or returned"


class ParticipantEvent(models.Model):
    """The history timeline: who changed what and when. Written by the services, never by
    views, so that no change can skip it."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(max_length=24, choices=EventKind.choices)
    summary = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["participant", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d} {self.kind}: {self.summary}"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DECIDED = "decided", "Decided"


class ReviewRequest(models.Model):
    """A participant's own request that their supervision level be reviewed (from the
    portal). It waits in the review queue until a supervisor decides, with a reason, so that
    a request is never lost or answered without a named person."""

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="review_requests"
    )
    reason = models.TextField()
    created_at = models.DateTimeField(db_index=True)
    status = models.CharField(
        max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decision = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"review request {self.pk} ({self.status})"


class ImportStatus(models.TextChoices):
    CHECKING = "checking", "Checking"
    CHECKED = "checked", "Checked; waiting for confirmation"
    NOTHING_TO_IMPORT = "nothing", "Checked; nothing to import"
    IMPORTING = "importing", "Importing"
    IMPORTED = "imported", "Imported"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired (never confirmed)"


# An import's lifecycle in one place: from each status, where it may go.
IMPORT_TRANSITIONS: dict[str, frozenset[str]] = {
    ImportStatus.CHECKING: frozenset(
        {ImportStatus.CHECKED, ImportStatus.NOTHING_TO_IMPORT, ImportStatus.FAILED}
    ),
    ImportStatus.CHECKED: frozenset({ImportStatus.IMPORTING, ImportStatus.EXPIRED}),
    ImportStatus.IMPORTING: frozenset({ImportStatus.IMPORTED, ImportStatus.FAILED}),
    ImportStatus.NOTHING_TO_IMPORT: frozenset(),
    ImportStatus.IMPORTED: frozenset(),
    ImportStatus.FAILED: frozenset(),
    ImportStatus.EXPIRED: frozenset(),
}
# While an import is in one of these, the worker has (or will have) it in hand.
IMPORT_RUNNING = frozenset({ImportStatus.CHECKING, ImportStatus.IMPORTING})


class CaseloadImport(models.Model):
    """A caseload CSV uploaded at ``/participants/import/``: the worker checks it (a dry
    run), the uploader reads the report and confirms, then the worker imports it. The file
    waits owner-only under ``$ONTRACK_HOME/imports/`` until the import ends; a check nobody
    confirms is expired, its file deleted, after a day (``participants.tasks``). Only its
    uploader sees it, so nobody else's upload can be imported by guessing its number."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    file_name = models.CharField(max_length=255, help_text="As uploaded; shown only.")
    stored_name = models.CharField(
        max_length=64, unique=True, help_text="The file's name under $ONTRACK_HOME/imports/."
    )
    size = models.PositiveBigIntegerField(help_text="Bytes.")
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.CHECKING
    )
    rows_total = models.PositiveIntegerField(
        default=0, help_text="Lines after the header: the rows expected, for the progress bar."
    )
    rows_done = models.PositiveIntegerField(default=0)
    checked_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Written after every batch; a run silent for long was stopped and is resumed.",
    )
    report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"caseload import {self.pk} ({self.status})"


class SavedFilter(models.Model):
    """A caseload view (search, filters and sort) a staff member named to come back to. Only
    its owner lists, opens or deletes it; ``query`` holds the list's own parameters only
    (``participants.saved_filters`` cleans it), never a page cursor."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters"
    )
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_filter_name_per_user")
        ]

    def __str__(self) -> str:
        return f"saved filter {self.name!r} of user {self.user_id}"


class BulkActionKind(models.TextChoices):
    TRANSFER = "transfer", "Caseload transfer"
    TRANSFER_UNDO = "transfer_undo", "Caseload transfer undone"


class BulkAction(models.Model):
    """One action over many people, recorded as one event with its reason, so that it can
    be reviewed (and, within a short window, undone) as the single decision it was. Each
    person's own timeline also gets its entry, which names this action."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=24, choices=BulkActionKind.choices)
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    undoes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="undone_by"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.created_at:%Y-%m-%d %H:%M}"


class BulkActionItem(models.Model):
    """One person in a bulk action: their officer before and after. ``skipped`` says why
    this person was left as they were (an undo leaves anyone changed since)."""

    action = models.ForeignKey(BulkAction, on_delete=models.CASCADE, related_name="items")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="+")
    office_before = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="+")
    officer_before = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    office_after = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="+")
    officer_after = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    skipped = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.participant_id}: {self.officer_before_id} -> {self.officer_after_id}"
