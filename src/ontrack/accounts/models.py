"""Programs, offices and staff accounts.

A staff member's role decides what they may see (DESIGN.md, "Who uses it"); the rules that
turn a role into a set of participants live in ``participants.queries`` because they are
about participants, not about accounts.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django_otp.models import Device, ThrottlingMixin, TimestampMixin

from ontrack.accounts.phones import validate_e164


@functools.cache
def time_zone_names() -> frozenset[str]:
    """Every IANA zone name. ``zoneinfo.available_timezones()`` walks the time-zone database
    on disk at each call (milliseconds, which a caseload import paid per row); the database
    does not change while a process runs."""
    return frozenset(zoneinfo.available_timezones())


@functools.cache
def time_zone_choices() -> list[tuple[str, str]]:
    """The zones a form offers: regional names ("America/New_York"), sorted, without the
    legacy aliases ("EST5EDT", "Cuba")."""
    return [(name, name) for name in sorted(n for n in time_zone_names() if "/" in n)]


def validate_time_zone(value: str) -> None:
    if value not in time_zone_names():
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
    # Where the office is, typed in by an administrator (nothing is geocoded): the zone
    # editor opens here when it knows nothing nearer about the person.
    latitude = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    longitude = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
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

    @property
    def location(self) -> tuple[float, float] | None:
        """(lat, lon), or None unless both are set."""
        if self.latitude is None or self.longitude is None:
            return None
        return (self.latitude, self.longitude)


class Role(models.TextChoices):
    OFFICER = "officer", "Case officer"
    SUPERVISOR = "supervisor", "Supervisor"
    OPERATOR = "operator", "Monitoring operator"
    ADMINISTRATOR = "administrator", "Administrator"
    AUDITOR = "auditor", "Auditor"


class User(AbstractUser):  # type: ignore[django-manager-missing]  # django-otp is untyped
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
    weekly_summary = models.BooleanField(
        default=True,
        help_text="Supervisors: e-mail me the weekly summary of my office's numbers.",
    )
    second_factor_reset_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When an administrator last reset this person's second factor.",
    )

    class Meta:
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def get_session_auth_hash(self) -> str:
        """Django ends every session whose stored hash no longer matches this one (as it does
        when the password changes). Mixing in the time of the last second-factor reset signs
        the person out everywhere when an administrator resets it: a session that was
        verified with the old device must not stay open to enrol a new one."""
        return self._with_second_factor_reset(super().get_session_auth_hash())

    def get_session_auth_fallback_hash(self) -> Iterator[str]:
        for fallback in super().get_session_auth_fallback_hash():
            yield self._with_second_factor_reset(fallback)

    def _with_second_factor_reset(self, password_hash: str) -> str:
        if self.second_factor_reset_at is None:
            return password_hash  # never reset: the same hash as Django's, no session ends
        return salted_hmac(
            "ontrack.accounts.User.second_factor_reset",
            f"{password_hash}:{self.second_factor_reset_at.isoformat()}",
            algorithm="sha256",
        ).hexdigest()

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

    @property
    def keeps_on_call_rota(self) -> bool:
        """Keeps an office's on-call rota (``alerts.on_call``): an administrator every
        office's, a supervisor their own office's (none without one)."""
        if not self.is_active:
            return False
        return self.role == Role.ADMINISTRATOR or (
            self.role == Role.SUPERVISOR and self.office_id is not None
        )


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


class RecoveryCodeDevice(TimestampMixin, ThrottlingMixin, Device):
    """A staff member's recovery codes, a django-otp device so that a code verifies a
    session the way an authenticator app does (``django_otp.login``).

    django-otp's own static device keeps its codes in clear; these are kept only as SHA-256
    digests. A code carries 80 random bits (``second_factor.recovery_code_new``), so a fast
    digest cannot be reversed by trying codes, as with API tokens. Each code works once: it
    is marked used in the same statement that finds it, so two requests cannot both spend
    it. Wrong codes slow further tries down as wrong authenticator codes do."""

    class Meta:
        verbose_name = "recovery codes"

    def verify_token(self, token: str) -> bool:
        from ontrack.accounts.second_factor import recovery_code_digest

        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        spent = self.codes.filter(digest=recovery_code_digest(token), used_at__isnull=True).update(
            used_at=timezone.now()
        )
        if spent:
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
            return True
        self.throttle_increment(commit=True)
        return False

    def get_throttle_factor(self) -> int:
        return int(getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1))

    @property
    def codes_left(self) -> int:
        return self.codes.filter(used_at__isnull=True).count()


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "digest"], name="recovery_code_unique")
        ]

    def __str__(self) -> str:
        return f"recovery code of {self.device.user_id} ({'used' if self.used_at else 'unused'})"


class SecondFactorEventKind(models.TextChoices):
    TOTP_ENROLLED = "totp_enrolled", "Authenticator app set up"
    PASSKEY_ADDED = "passkey_added", "Passkey added"
    PASSKEY_REMOVED = "passkey_removed", "Passkey removed"
    RECOVERY_CODES_MADE = "codes_made", "New recovery codes made"
    RECOVERY_CODE_USED = "code_used", "Signed in with a recovery code"
    RESET = "reset", "Second factor reset"


class SecondFactorEvent(models.Model):
    """A change to a staff member's second factor: who (the person, an administrator, or
    the command line), when, from where. The access log records reads of participants'
    data; these are its counterpart for the sign-in of the staff who read it, shown on the
    person's account page and to auditors. Names are kept as text too, so the record
    outlives an account removed later."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="second_factor_events"
    )
    username = models.CharField(max_length=150)
    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_username = models.CharField(
        max_length=150,
        blank=True,
        help_text="Who made the change when not the person themself: an administrator, or "
        "'command line'.",
    )
    kind = models.CharField(max_length=16, choices=SecondFactorEventKind.choices)
    detail = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.kind}"
