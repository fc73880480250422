"""Programs, offices and staff accounts.

A staff member's role decides what they may see (DESIGN.md, "Who uses it"); the rules that
turn a role into a set of participants live in ``participants.queries`` because they are
about participants, not about accounts.
"""

from __future__ import annotations

import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models

from ontrack.accounts.phones import validate_e164


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. America/New_York).")


class Program(models.Model):
    """A supervision program (e.g. an ATD contract or a county pretrial service). Case
    numbers are unique within a program."""

    name = models.CharField(max_length=120, unique=True)
    default_language = models.CharField(max_length=8, default="en")

    def __str__(self) -> str:
        return self.name


class Office(models.Model):
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="offices")
    name = models.CharField(max_length=120)
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=20, blank=True)
    time_zone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_time_zone]
    )
    opening_hours = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per weekday, e.g. {"mon": [["08:00", "17:00"]], "sat": []}.',
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["program", "name"], name="office_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OFFICER = "officer", "Case officer"
    SUPERVISOR = "supervisor", "Supervisor"
    OPERATOR = "operator", "Monitoring operator"
    ADMINISTRATOR = "administrator", "Administrator"
    AUDITOR = "auditor", "Auditor"


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.OFFICER)
    office = models.ForeignKey(
        Office, null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    phone = models.CharField(
        max_length=20,
        blank=True,
        validators=[validate_e164],
        help_text="Mobile number for alert texts, in E.164 (e.g. +12025550143).",
    )

    class Meta:
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def has_perm(self, perm: str, obj: models.Model | None = None) -> bool:
        """An active administrator holds every ``/admin/`` permission by role, as a
        superuser would: accounts are created with a role, never with Django permissions, so
        without this an administrator could sign in to ``/admin/`` and change nothing there
        (not even shorten a retention period). What an admin page must never allow (editing
        the access log) its ``ModelAdmin`` refuses for everyone."""
        if self.is_active and self.role == Role.ADMINISTRATOR:
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        if self.is_active and self.role == Role.ADMINISTRATOR:
            return True
        return super().has_module_perms(app_label)

    @property
    def reads_participants(self) -> bool:
        """Everyone but the auditor (who reads only the access log) reads some participants."""
        return self.is_active and self.role != Role.AUDITOR

    @property
    def writes_participants(self) -> bool:
        return self.is_active and self.role in {
            Role.OFFICER,
            Role.SUPERVISOR,
            Role.ADMINISTRATOR,
        }

    @property
    def reads_access_log(self) -> bool:
        return self.is_active and self.role in {Role.AUDITOR, Role.ADMINISTRATOR}

    @property
    def manages_retention(self) -> bool:
        """May shorten how long each kind of data is kept (never lengthen: see
        ``ontrack.audit.retention``)."""
        return self.is_active and self.role == Role.ADMINISTRATOR

    @property
    def sees_system_status(self) -> bool:
        """Is told when the system's processes fall behind (the status page and banner):
        administrators run them, operators rely on them around the clock."""
        return self.is_active and self.role in {Role.ADMINISTRATOR, Role.OPERATOR}

    @property
    def manages_caseloads(self) -> bool:
        """May move participants between officers (bulk transfer) and import caseloads."""
        return self.is_active and self.role in {Role.SUPERVISOR, Role.ADMINISTRATOR}


class ApiToken(models.Model):
    """A bearer token for integrations. Only a SHA-256 digest is stored; the token itself is
    shown once when created. Tokens are high-entropy random strings, so a fast digest is
    enough (a password hash would only slow every API call)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters, to tell tokens apart.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
