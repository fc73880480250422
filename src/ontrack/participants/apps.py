from django.apps import AppConfig


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
