"""The access log: who read or exported which participant's data, when and from where.

Entries name the participant by id rather than by foreign key on purpose: the log must
outlive the record it describes (a purged or closed case keeps its access history), and a
foreign key would either block the purge or delete the evidence.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AccessAction(models.TextChoices):
    VIEW = "view", "Viewed record"
    LIST = "list", "Listed records"
    API_READ = "api_read", "Read through the API"
    EXPORT = "export", "Exported"
    IMPORT = "import", "Imported"


class AccessLogEntry(models.Model):
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    username = models.CharField(max_length=150, help_text="Kept if the account is removed.")
    participant_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=16, choices=AccessAction.choices)
    what = models.CharField(max_length=200, help_text="Which part of the record, or the query.")
    path = models.CharField(max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "access log entry"
        verbose_name_plural = "access log"
        indexes = [models.Index(fields=["user", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.participant_id}"


class RetentionPolicy(models.Model):
    """An administrator's shorter retention period for one kind of data (see
    ``ontrack.audit.retention``). Absent: the deployment's setting applies."""

    kind = models.CharField(max_length=40, unique=True)
    days = models.PositiveIntegerField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.kind}: {self.days} days"


class RetentionRun(models.Model):
    """One nightly purge of one kind: what cut-off applied and how many rows went. Counts
    only, never content, so that the record of a deletion does not keep the data."""

    kind = models.CharField(max_length=40)
    ran_at = models.DateTimeField(db_index=True)
    cutoff = models.DateTimeField()
    days = models.PositiveIntegerField()
    removed = models.PositiveBigIntegerField()
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-ran_at", "kind"]

    def __str__(self) -> str:
        return f"{self.ran_at:%Y-%m-%d} {self.kind}: {self.removed} removed"
