"""Messaging data: templates and their translations, the outbox, reminder rules, bulk sends,
inbound replies and opt-outs.

The outbox is a table, not a queue (DESIGN.md "Messaging: outbox"): a ``Message`` row is
written in the same transaction as its cause and a sender moves it forward through
``STATUS_TRANSITIONS``, the one place that says which status may follow which.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from ontrack.accounts.models import Office
from ontrack.participants.models import Participant


class Template(models.Model):
    """A notice the system sends, identified by a stable key that code refers to. Bodies are
    per language (``TemplateBody``); variables are written in braces, e.g. ``{when}``."""

    key = models.SlugField(max_length=60, unique=True)
    purpose = models.CharField(max_length=200, help_text="Why this notice is sent.")
    essential = models.BooleanField(
        default=False,
        help_text="Must reach the person even after STOP (sign-in codes, legal notices).",
    )
    bulk = models.BooleanField(default=False, help_text="Offered for bulk messages.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class TemplateBody(models.Model):
    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="bodies")
    language = models.CharField(max_length=8)
    body = models.TextField()

    class Meta:
        ordering = ["template", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "language"], name="template_body_one_per_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template.key} [{self.language}]"


class Channel(models.TextChoices):
    SMS = "sms", "Text message"
    EMAIL = "email", "E-mail"
    OFFICER = "officer", "Officer delivers"


class Recipient(models.TextChoices):
    PARTICIPANT = "participant", "Participant"
    COUNSEL = "counsel", "Counsel"
    STAFF = "staff", "Staff member"


class Traffic(models.TextChoices):
    """One-to-one traffic (codes, replies, reminders) gets a fair share of each sender's
    rate even while a bulk send of 100,000 is draining."""

    DIRECT = "direct", "One-to-one"
    BULK = "bulk", "Bulk"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Undelivered"
    FAILED = "failed", "Failed"
    ERRORED = "errored", "Error, will retry"
    CANCELLED = "cancelled", "Cancelled"
    SUPPRESSED = "suppressed", "Not sent (opted out or no contact)"
    HELD = "held", "Held for the officer to deliver"


S = MessageStatus
# Waiting to be sent: due now, or later (an error's retry, a reminder's time).
WAITING = (S.QUEUED, S.ERRORED)
# Forward-only: each status lists where it may go next; anything else is ignored. "sending"
# may go straight to a final status because a provider's callback can overtake our own
# status write; "errored" goes back to "sending" only for a retry.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    S.QUEUED: frozenset({S.SENDING, S.CANCELLED, S.FAILED, S.SUPPRESSED}),
    S.SENDING: frozenset({S.SENT, S.DELIVERED, S.UNDELIVERED, S.FAILED, S.ERRORED}),
    S.SENT: frozenset({S.DELIVERED, S.UNDELIVERED, S.FAILED}),
    S.ERRORED: frozenset({S.SENDING, S.FAILED, S.CANCELLED}),
    S.HELD: frozenset({S.DELIVERED, S.CANCELLED}),
    S.DELIVERED: frozenset(),
    S.UNDELIVERED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
    S.SUPPRESSED: frozenset(),
}
FINAL_STATUSES = frozenset(s for s, nxt in STATUS_TRANSITIONS.items() if not nxt)


def new_key() -> str:
    return uuid.uuid4().hex


class BroadcastStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    EXPANDING = "expanding", "Writing messages"
    SENDING = "sending", "Sending"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"
    DONE = "done", "Done"


class Broadcast(models.Model):
    """A bulk message: an audience (caseload filters), a template and a stated purpose.
    Expanded into outbox rows in chunks by a background task; pausing holds its queued rows
    back from the sender, cancelling cancels them."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    office = models.ForeignKey(Office, null=True, blank=True, on_delete=models.PROTECT)
    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(max_length=200)
    audience = models.JSONField(default=dict, help_text="The caseload filter used.")
    context = models.JSONField(default=dict, blank=True, help_text="Template variables.")
    status = models.CharField(
        max_length=10, choices=BroadcastStatus.choices, default=BroadcastStatus.SCHEDULED
    )
    send_at = models.DateTimeField()
    created_at = models.DateTimeField()
    audience_size = models.PositiveIntegerField(default=0)
    expanded = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0, help_text="Opted out or no number.")
    last_participant_id = models.BigIntegerField(default=0, help_text="Expansion cursor.")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"bulk {self.pk} {self.template.key} ({self.status})"


class Message(models.Model):
    """One outgoing text or e-mail. ``idempotency_key`` is fixed when the row is written and
    handed to the provider with every attempt, so a retry after a crash can be recognised
    by the provider instead of sent again; ``attempt_id`` names the claim that owns a row in
    "sending" so a stale worker's late write cannot overwrite a newer outcome."""

    participant = models.ForeignKey(
        Participant,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages",
        help_text="Whom it is to or about; empty only for notices to staff.",
    )
    recipient = models.CharField(
        max_length=12, choices=Recipient.choices, default=Recipient.PARTICIPANT
    )
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.SMS)
    to = models.CharField(max_length=254, blank=True)
    template_key = models.CharField(max_length=60, blank=True, db_index=True)
    language = models.CharField(max_length=8)
    body = models.TextField(help_text="As staff see it: secrets replaced by placeholders.")
    sealed_body = models.TextField(
        blank=True,
        default="",
        db_default="",  # the bulk writer inserts rows with raw SQL that leaves it out
        help_text="The text with its secrets, encrypted (messaging.sealing) until sent.",
    )
    segments = models.PositiveSmallIntegerField(default=1)
    purpose = models.CharField(max_length=200)
    cause = models.CharField(max_length=200, blank=True)
    essential = models.BooleanField(default=False)
    traffic = models.CharField(max_length=6, choices=Traffic.choices, default=Traffic.DIRECT)
    status = models.CharField(
        max_length=12, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    status_reason = models.CharField(max_length=300, blank=True)
    error_code = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField()
    send_at = models.DateTimeField(db_index=True)
    status_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    attempt_id = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    handed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Written just before this attempt went to the provider: only a message "
        "with it set can be in doubt after a crash.",
    )
    idempotency_key = models.CharField(max_length=32, unique=True, default=new_key)
    provider = models.CharField(max_length=20, blank=True)
    provider_message_id = models.CharField(max_length=100, blank=True)
    broadcast = models.ForeignKey(
        Broadcast, null=True, blank=True, on_delete=models.CASCADE, related_name="messages"
    )
    anchor_key = models.CharField(max_length=60, blank=True, help_text="Reminder anchor.")
    reminder_rule = models.ForeignKey(
        "ReminderRule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_message_id"],
                condition=~models.Q(provider_message_id=""),
                name="message_provider_id_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(participant__isnull=False) | models.Q(recipient="staff"),
                name="message_participant_unless_staff",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "traffic", "send_at"], name="message_due"),
            models.Index(fields=["participant", "created_at"], name="message_participant"),
            # The outbox, newest first (for those who see every participant's messages), and the
            # dashboard's messages of the days not rolled up yet (today).
            models.Index(fields=["created_at", "id"], name="message_created"),
            models.Index(fields=["anchor_key"], name="message_anchor"),
            models.Index(fields=["broadcast", "status"], name="message_broadcast"),
            # The status page's oldest message due: only the few waiting, not the years sent.
            models.Index(
                fields=["send_at"], condition=models.Q(status__in=WAITING), name="message_waiting"
            ),
        ]

    def __str__(self) -> str:
        return f"message {self.pk} {self.template_key or 'direct'} ({self.status})"


class MessagePart(models.Model):
    """One part of a text the provider split into several (a long SMPP message goes as one
    ``submit_sm`` per segment, each with its own message id and its own delivery receipt).
    The message is delivered when every part is; one part undelivered or failed is the
    message's outcome. A text sent in one piece has no parts."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveSmallIntegerField(help_text="1 for the first part.")
    provider = models.CharField(max_length=20)
    provider_message_id = models.CharField(max_length=100)
    status = models.CharField(
        max_length=12, choices=MessageStatus.choices, default=MessageStatus.SENT
    )
    status_at = models.DateTimeField()

    class Meta:
        ordering = ["message", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_message_id"], name="message_part_provider_id_unique"
            ),
            models.UniqueConstraint(fields=["message", "number"], name="message_part_number"),
        ]

    def __str__(self) -> str:
        return f"part {self.number} of message {self.message_id} ({self.status})"


class MessageAttachment(models.Model):
    """A file sent with an e-mail (a report as PDF), written with its message in the same
    transaction and handed to the provider with every attempt. Texts carry none. Deleted
    with its message, so the messages' retention covers it."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=100)
    content_type = models.CharField(max_length=100)
    content = models.BinaryField()

    class Meta:
        ordering = ["message", "id"]

    def __str__(self) -> str:
        return f"{self.filename} of message {self.message_id}"


class RateBucket(models.Model):
    """One provider account's token bucket (``ratelimit``), shared by every sender process:
    a claim locks this row, refills it to the claim's time, and reserves tokens (messages or
    segments) for the rows it takes, so N workers together keep to the contracted rate.
    Times are seconds since the epoch (wall clock: workers on several machines share it)."""

    provider = models.CharField(max_length=20, primary_key=True)
    tokens = models.FloatField()
    updated = models.FloatField()

    def __str__(self) -> str:
        return f"rate bucket {self.provider}: {self.tokens:.1f} tokens"


class AnchorKind(models.TextChoices):
    APPOINTMENT = "appointment", "Appointment"
    CHECKIN_WINDOW = "checkin_window", "Check-in window"
    HEARING = "hearing", "Court hearing"


class ReminderRule(models.Model):
    """ "3 days before at 09:00" is ``offset_minutes=-4320, local_time=09:00``; "2 hours
    before" is ``offset_minutes=-120`` with no local time. For a check-in window the anchor
    is the moment the window closes."""

    kind = models.CharField(max_length=16, choices=AnchorKind.choices)
    offset_minutes = models.IntegerField(help_text="Negative: before the anchor.")
    local_time = models.TimeField(
        null=True, blank=True, help_text="Deliver at this time on the participant's clock."
    )
    template_key = models.CharField(max_length=60)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "offset_minutes"]

    def __str__(self) -> str:
        at = f" at {self.local_time:%H:%M}" if self.local_time else ""
        return f"{self.kind} {self.offset_minutes:+d} min{at}"


class OptOut(models.Model):
    """A participant's STOP: non-essential texts are not sent while it stands. START
    removes it; the inbound messages keep the history of both."""

    participant = models.OneToOneField(
        Participant, on_delete=models.CASCADE, related_name="sms_opt_out"
    )
    since = models.DateTimeField()
    source = models.CharField(max_length=60, help_text="The keyword or provider error.")

    def __str__(self) -> str:
        return f"opt-out {self.participant_id} since {self.since:%Y-%m-%d}"


class InboundAction(models.TextChoices):
    CONFIRM = "confirm", "Confirm"
    RESCHEDULE = "reschedule", "Reschedule request"
    HELP = "help", "Help"
    STOP = "stop", "Stop"
    START = "start", "Start"
    PIN = "pin", "PIN"
    LANGUAGE = "language", "Language change"
    NONE = "", "Free text"


class InboundMessage(models.Model):
    """A text received. ``needs_answer`` keeps it in the officer's inbox until someone
    replies or marks it handled."""

    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.CASCADE, related_name="inbound"
    )
    provider = models.CharField(max_length=20)
    provider_message_id = models.CharField(max_length=100)
    from_number = models.CharField(max_length=32)
    to_number = models.CharField(max_length=32, blank=True)
    body = models.TextField()
    received_at = models.DateTimeField()
    action = models.CharField(max_length=12, choices=InboundAction.choices, blank=True)
    needs_answer = models.BooleanField(default=False)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_message_id"], name="inbound_provider_id_unique"
            )
        ]
        indexes = [models.Index(fields=["needs_answer", "received_at"], name="inbound_open")]

    def __str__(self) -> str:
        return f"inbound {self.pk} from {self.from_number}"
