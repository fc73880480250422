"""Alerts: a condition that staff must look at, with every step of its handling recorded.

An alert is created idempotently per (participant, kind, source) while it is not closed, so a
condition reported by every fix or every watchdog run is one alert with an occurrence count,
not a flood. It starts *pending* for the rule's grace period; a condition that clears within
grace is cancelled without ever reaching the queue.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ontrack.accounts.models import Office, Program
from ontrack.participants.models import Participant, decision_text


class AlertKind(models.TextChoices):
    EXCLUSION_ZONE_ENTRY = "exclusion_zone_entry", "Entered an exclusion zone"
    INCLUSION_ZONE_EXIT = "inclusion_zone_exit", "Left an inclusion zone during its schedule"
    STRAP_TAMPER = "strap_tamper", "Strap tamper"
    DEVICE_REMOVAL = "device_removal", "Device removed"
    LOW_BATTERY = "low_battery", "Low battery"
    CRITICAL_BATTERY = "critical_battery", "Critical battery"
    CHARGER_NOT_CONNECTED = "charger_not_connected", "Charger not connected"
    MESSAGE_GAP = "message_gap", "No report from the device"
    GPS_LOST = "gps_lost", "GPS lost"
    SOS = "sos", "SOS"
    MISSED_CHECKIN = "missed_checkin", "Missed check-in"
    MISSED_APPOINTMENT = "missed_appointment", "Missed appointment"
    MISSED_HEARING = "missed_hearing", "Missed hearing"


class Priority(models.IntegerChoices):
    LOW = 1, "Low"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High"
    CRITICAL = 4, "Critical"


class AlertStatus(models.TextChoices):
    PENDING = "pending", "Pending (within grace)"
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"
    AUTO_RESOLVED = "auto_resolved", "Cleared by itself"
    CANCELLED = "cancelled", "Cleared within grace"


OPEN_STATUSES = (AlertStatus.PENDING, AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


class Disposition(models.TextChoices):
    CONFIRMED_VIOLATION = "confirmed_violation", "Confirmed violation"
    FALSE_ALARM = "false_alarm", "False alarm"
    EQUIPMENT_FAULT = "equipment_fault", "Equipment fault"
    EXCUSED = "excused", "Excused"
    OTHER = "other", "Other"


class Alert(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    source = models.CharField(
        max_length=80, help_text="The condition it is about, e.g. zone:12 or device:7."
    )
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    status = models.CharField(max_length=16, choices=AlertStatus.choices)
    occurred_at = models.DateTimeField(help_text="When the condition began.")
    raised_at = models.DateTimeField(help_text="When it was recorded.")
    visible_at = models.DateTimeField(help_text="When its grace period ends.")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    occurrences = models.PositiveIntegerField(default=1)
    last_occurred_at = models.DateTimeField()
    device_id = models.BigIntegerField(null=True, blank=True)
    zone_id = models.BigIntegerField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    disposition = models.CharField(max_length=24, choices=Disposition.choices, blank=True)
    resolution_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A resolution decided in another system and imported with the record (OTRTS): its
    # resolver has no account here and is named as recorded there; the import is recorded
    # beside them, never put in ``resolved_by`` (the importer resolved nothing).
    resolved_by_name = models.CharField(
        max_length=150, blank=True, help_text="Who resolved an imported alert, as recorded there."
    )
    resolved_by_office = models.CharField(
        max_length=150, blank=True, help_text="Where that person worked (office or agency)."
    )
    resolution_imported_at = models.DateTimeField(null=True, blank=True)
    resolution_imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who imported a resolution decided elsewhere (not its resolver).",
    )
    # Who holds it in the queue: one person works an alert at a time, so two operators do not
    # call the same person about the same tamper. Every change is a step of its history.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who holds it: claimed by themselves or assigned by someone else.",
    )

    class Meta:
        ordering = ["-priority", "-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "kind", "source"],
                condition=models.Q(status__in=["pending", "open", "acknowledged"]),
                name="one_open_alert_per_condition",
            ),
            models.CheckConstraint(
                condition=~models.Q(disposition="confirmed_violation")
                | (
                    (models.Q(resolved_by__isnull=False) | ~models.Q(resolved_by_name=""))
                    & ~models.Q(resolution_note="")
                ),
                name="violation_needs_a_person_and_a_note",
            ),
            # A resolver named by text only ever arrives with an import, which is recorded.
            models.CheckConstraint(
                condition=models.Q(resolved_by_name="")
                | (
                    models.Q(resolved_by__isnull=True)
                    & models.Q(resolution_imported_at__isnull=False)
                    & models.Q(resolution_imported_by__isnull=False)
                ),
                name="alert_outside_resolver_only_by_import",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "visible_at"]),
            models.Index(fields=["participant", "kind", "occurred_at"]),
            # The queue's count of alerts closed in the last day (``queries.alert_counts``).
            models.Index(fields=["status", "closed_at"], name="alert_status_closed"),
            # The dashboard reads the alerts of days not rolled up yet (today) by when their
            # condition began: without it, every render "as of today" scans every alert.
            models.Index(fields=["occurred_at"], name="alert_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()}) for {self.participant_id}"

    @property
    def resolution_decision(self) -> str:
        """Who resolved it and when, as the console shows it; an imported resolution names
        its original resolver and who imported it, never the importer as the resolver."""
        if self.resolved_by_id is None and self.resolution_imported_at is None:
            return ""
        return decision_text(
            decider=self.resolved_by,
            outside_name=self.resolved_by_name,
            outside_office=self.resolved_by_office,
            decided_at=self.closed_at,
            imported_at=self.resolution_imported_at,
            imported_by=self.resolution_imported_by,
        )


class StepAction(models.TextChoices):
    """What a step records. Only ``status`` changes the alert's status; the others keep it
    (``from_status == to_status``) and say who took it, who was given it, or what was noted."""

    STATUS = "status", "Status changed"
    CLAIM = "claim", "Claimed"
    ASSIGN = "assign", "Assigned"
    NOTE = "note", "Note"


class AlertStep(models.Model):
    """One step of an alert's handling: a change of status, or a claim, an assignment or a
    note that keeps it (``action``); who, when, and why."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="steps")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_status = models.CharField(max_length=16, choices=AlertStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=AlertStatus.choices)
    action = models.CharField(max_length=8, choices=StepAction.choices, default=StepAction.STATUS)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.from_status or '-'} -> {self.to_status}"


class AlertRuleSetting(models.Model):
    """A program's or a participant's own value for one kind's rule (``alerts.rules``).

    Exactly one of ``program`` and ``participant`` is set. Every value left empty is
    inherited, field by field: participant, then program, then the built-in default, so a
    participant's override of the priority alone keeps the program's grace period.
    """

    program = models.ForeignKey(
        Program, null=True, blank=True, on_delete=models.CASCADE, related_name="alert_rules"
    )
    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.CASCADE, related_name="alert_rules"
    )
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    enabled = models.BooleanField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, null=True, blank=True)
    grace_minutes = models.PositiveIntegerField(null=True, blank=True)
    escalation_window_hours = models.PositiveIntegerField(null=True, blank=True)
    charger_hours = models.PositiveIntegerField(
        null=True, blank=True, help_text="Charger not connected: hours off charge before it counts."
    )
    gap_tiers_minutes = models.JSONField(
        null=True,
        blank=True,
        help_text="Message gap: minutes of silence at which the alert is raised, then escalated.",
    )
    battery_pct = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Low or critical battery: the reported percentage at or below which it counts.",
    )
    no_fix_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="GPS lost: minutes of reports without a valid fix."
    )
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["kind", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(program__isnull=False) & models.Q(participant__isnull=True))
                | (models.Q(program__isnull=True) & models.Q(participant__isnull=False)),
                name="alert_rule_setting_program_xor_participant",
            ),
            models.UniqueConstraint(
                fields=["program", "kind"],
                condition=models.Q(program__isnull=False),
                name="alert_rule_setting_one_per_program_kind",
            ),
            models.UniqueConstraint(
                fields=["participant", "kind"],
                condition=models.Q(participant__isnull=False),
                name="alert_rule_setting_one_per_participant_kind",
            ),
        ]

    def __str__(self) -> str:
        owner = (
            f"program {self.program_id}"
            if self.program_id
            else f"participant {self.participant_id}"
        )
        return f"{self.kind} rule of {owner}"


class NotifyChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    SMS = "sms", "Text message"


class NotifyRecipient(models.TextChoices):
    OFFICER = "officer", "The participant's officer"
    SUPERVISORS = "supervisors", "The office's supervisors"
    ADDRESS = "address", "A fixed address"


class NotificationRule(models.Model):
    """Who on an office's staff hears of an alert outside the console, from which priority
    on and how. The console queue shows every alert regardless."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="notification_rules")
    min_priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    channel = models.CharField(max_length=8, choices=NotifyChannel.choices)
    recipient = models.CharField(max_length=12, choices=NotifyRecipient.choices)
    address = models.CharField(
        max_length=254, blank=True, help_text="E-mail address or phone number (fixed address)."
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["office", "-min_priority", "channel", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(recipient="address") & ~models.Q(address=""))
                | (~models.Q(recipient="address") & models.Q(address="")),
                name="notification_rule_address_only_for_fixed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.office_id}: {self.channel} to {self.recipient} from {self.min_priority}"


class AlertNotice(models.Model):
    """One staff notice written to the outbox for an alert. The unique key is what keeps an
    alert from notifying the same address twice, however often it is promoted or escalated."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notices")
    rule = models.ForeignKey(
        NotificationRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=8, choices=NotifyChannel.choices)
    to = models.CharField(max_length=254)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    message_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "channel", "to"], name="alert_notice_once_per_address"
            ),
        ]

    def __str__(self) -> str:
        return f"notice of alert {self.alert_id} by {self.channel} to {self.to}"


class OnCallShift(models.Model):
    """Who of an office's staff is on call, from when to when (stored in UTC, entered and
    shown in the office's zone). An office's shifts never overlap (``on_call.shift_add``), so
    at any moment it has at most one person on call."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="on_call_shifts")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["office", "starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="on_call_shift_ends_after_it_starts",
            ),
        ]
        indexes = [models.Index(fields=["office", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.person_id} on call for {self.office_id} from {self.starts_at:%Y-%m-%d %H:%M}"


class OnCallPolicy(models.Model):
    """An office's own escalation: how long an alert may stay open unacknowledged before the
    person on call is texted, and from which priority on. Without one, the defaults
    (``on_call.policy_for``)."""

    office = models.OneToOneField(Office, on_delete=models.CASCADE, related_name="on_call_policy")
    escalate_after_minutes = models.PositiveIntegerField()
    min_priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "on-call policies"

    def __str__(self) -> str:
        return f"on call for {self.office_id} after {self.escalate_after_minutes} min"


class OnCallPage(models.Model):
    """The text that asked the person on call to acknowledge an alert, with the code their
    reply carries. One per alert (``alert`` is unique): however often the watchdog runs, an
    alert pages once. ``phone`` is the number it went to, the only one whose reply counts."""

    alert = models.OneToOneField(Alert, on_delete=models.CASCADE, related_name="on_call_page")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    phone = models.CharField(max_length=32)
    code_hash = models.CharField(
        max_length=64, help_text="The reply code, keyed-hashed with the number: never kept."
    )
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    message_id = models.BigIntegerField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    wrong_replies = models.PositiveSmallIntegerField(
        default=0, help_text="Replies from its number with a code it did not carry."
    )

    class Meta:
        ordering = ["sent_at", "id"]
        indexes = [models.Index(fields=["phone", "code_hash"])]

    def __str__(self) -> str:
        return f"on-call page of alert {self.alert_id} to {self.person_id}"
