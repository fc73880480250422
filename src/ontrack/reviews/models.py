"""A supervision review: why it opened, what the record showed, what the system proposed,
and what a named supervisor decided and why."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ontrack.participants.models import Level, Participant, ReviewRequest


class ReviewOrigin(models.TextChoices):
    REVIEW_DATE = "review_date", "Plan review date reached"
    PARTICIPANT_REQUEST = "participant_request", "Participant's request"


class ReviewOutcome(models.TextChoices):
    PENDING = "pending", "Waiting for a decision"
    STEPPED_DOWN = "stepped_down", "Stepped down"
    KEPT = "kept", "Kept as it is"


class SupervisionReview(models.Model):
    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="supervision_reviews"
    )
    origin = models.CharField(max_length=24, choices=ReviewOrigin.choices)
    request = models.OneToOneField(
        ReviewRequest,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="supervision_review",
        help_text="The participant's own request, when they asked.",
    )
    opened_at = models.DateTimeField(db_index=True)
    period_days = models.PositiveSmallIntegerField(help_text="Compliance period looked at.")
    compliance = models.JSONField(default=dict, help_text="The record as it was when opened.")
    proposed_level = models.CharField(max_length=12, choices=Level.choices, blank=True)
    proposed_without_device = models.BooleanField(default=False)
    proposed_interval_weeks = models.PositiveSmallIntegerField(null=True, blank=True)
    proposal = models.CharField(
        max_length=300, help_text="The step-down proposed, or why none is proposed."
    )
    outcome = models.CharField(
        max_length=16, choices=ReviewOutcome.choices, default=ReviewOutcome.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["opened_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant"],
                condition=models.Q(outcome="pending"),
                name="one_pending_review_per_participant",
            ),
            models.CheckConstraint(
                condition=models.Q(outcome="pending")
                | (models.Q(decided_by__isnull=False) & ~models.Q(decision_reason="")),
                name="review_decision_needs_a_person_and_a_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"review {self.pk} of participant {self.participant_id} ({self.outcome})"

    @property
    def proposes_step_down(self) -> bool:
        return bool(
            self.proposed_level or self.proposed_without_device or self.proposed_interval_weeks
        )
