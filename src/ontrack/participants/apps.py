from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def _search_index_ensure(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """After every ``migrate``: a table rebuild on SQLite drops the search index's triggers
    (see ``participants.search``), so any that are missing are put back."""
    from ontrack.participants.search import search_index_ensure

    search_index_ensure(connections[using])


class ParticipantsConfig(AppConfig):
    name = "ontrack.participants"
    label = "participants"
    verbose_name = "Participants and cases"

    def ready(self) -> None:
        from ontrack.audit.retention import RetentionKind, retention_kind_register
        from ontrack.audit.services import subject_directory_register
        from ontrack.participants.queries import AccessLogSubjects
        from ontrack.participants.retention import closed_cases_purge_before

        subject_directory_register(AccessLogSubjects())
        post_migrate.connect(_search_index_ensure, sender=self)

        from ontrack.participants import timeline_sources

        timeline_sources.register()

        retention_kind_register(
            RetentionKind(
                key="closed_cases",
                label="Closed cases",
                default_days=7 * 365,
                purge=closed_cases_purge_before,
                models=("participants.Participant",),
                description="A case after its closure: the whole record, with everything "
                "attached to it, is removed when the period ends.",
            )
        )
