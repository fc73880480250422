from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "ontrack.audit"
    label = "audit"
    verbose_name = "Access log and retention"

    def ready(self) -> None:
        """The access log is itself personal data with a retention period."""
        from ontrack.audit.retention import RetentionKind, retention_kind_register
        from ontrack.audit.services import access_log_purge

        retention_kind_register(
            RetentionKind(
                key="access_log",
                label="Access log",
                default_days=7 * 365,
                purge=access_log_purge,
                models=("audit.AccessLogEntry", "audit.AccessLogSubject"),
                description="Who read or exported which record; kept for oversight.",
                console_may_shorten=False,
            )
        )
