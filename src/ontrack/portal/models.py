"""What the portal keeps to sign participants in: one-time challenges (code and link, stored
only as keyed hashes), the PIN (an argon2 hash) and a small throttle log."""

from __future__ import annotations

from django.db import models

from ontrack.participants.models import Participant


class SignInChallenge(models.Model):
    """One code sent by text and the matching one-time link. Only HMACs of the code and the
    token are stored, so a copy of the database does not let anyone sign in."""

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="portal_challenges"
    )
    code_hash = models.CharField(max_length=64)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["participant", "created_at"])]

    def __str__(self) -> str:
        return f"sign-in challenge {self.pk}"


class PortalAccess(models.Model):
    """The participant's PIN, asked after every code or link so that a phone that is lost
    or shared is not enough on its own."""

    participant = models.OneToOneField(
        Participant, on_delete=models.CASCADE, related_name="portal_access"
    )
    pin_hash = models.CharField(max_length=200, blank=True)
    pin_failures = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    pin_set_at = models.DateTimeField(null=True, blank=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"portal access of participant {self.participant_id}"


class ThrottleHit(models.Model):
    """One counted attempt (a code requested or a code tried) for a key such as
    ``send:+12025550143`` or ``ip:203.0.113.9``; old rows are simply ignored."""

    key = models.CharField(max_length=80)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["key", "at"])]

    def __str__(self) -> str:
        return f"{self.key} at {self.at:%Y-%m-%d %H:%M}"
