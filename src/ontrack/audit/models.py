"""The access log: who read or exported which participant's data, when and from where.

Entries name the participant by id rather than by foreign key on purpose: the log must
outlive the record it describes (a purged or closed case keeps its access history), and a
foreign key would either block the purge or delete the evidence.

A list view is one entry carrying the ids of everyone it showed (``participant_ids``), not
one entry per person: a caseload page of 50 is one act of reading, and fifty rows each would
bury every other entry. The log's filters find a person in those lists too, through
:class:`AccessLogSubject`, the index of whom each entry is about.
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
    participant_ids = models.TextField(
        blank=True,
        default="",
        help_text="A list's entry: every participant it showed, in order, as ',12,34,'.",
    )
    reader_participant_id = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="The participant, when they read their own data (portal); no staff user.",
    )
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

    @property
    def listed_ids(self) -> list[int]:
        """Every participant the entry is about: the one it names, or all a list showed."""
        ids = [int(part) for part in self.participant_ids.split(",") if part]
        if self.participant_id is not None and self.participant_id not in ids:
            ids.insert(0, self.participant_id)
        return ids

    @property
    def subject_ids(self) -> list[int]:
        """Everyone the entry is about, the participant reading their own data included:
        what :class:`AccessLogSubject` holds for it."""
        ids = self.listed_ids
        if self.reader_participant_id is not None and self.reader_participant_id not in ids:
            ids.append(self.reader_participant_id)
        return ids


class AccessLogSubject(models.Model):
    """One participant an access-log entry is about, with the entry's time: the index the
    log's participant filter reads. A substring search of every entry's list took 3.4 s on
    SQLite at 100,000 participants; this is an index range per person searched for.

    Written with its entry (``access_log_record``) and purged with it (``access_log_purge``,
    which deletes these first, so the entry itself stays a single fast delete: hence
    ``DO_NOTHING``). The column is ``subject_id``, not ``participant_id``, on purpose: these
    rows are the entries' index, not data of their own, so the data inventory and the
    participant's download (which take every model with a ``participant_id``) keep showing
    the entries themselves."""

    entry = models.ForeignKey(AccessLogEntry, on_delete=models.DO_NOTHING, related_name="+")
    subject_id = models.BigIntegerField()
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["subject_id", "at", "entry"], name="accesslog_subject_at"),
        ]

    def __str__(self) -> str:
        return f"entry {self.entry_id}: participant {self.subject_id}"


def listed_ids_text(ids: list[int]) -> str:
    """``[12, 34]`` -> ``",12,34,"``: each id between commas, so ``",12,"`` finds 12 only."""
    return f",{','.join(str(i) for i in ids)}," if ids else ""


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
