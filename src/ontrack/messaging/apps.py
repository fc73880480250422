"""Templates, the outbox, providers, reminders, bulk messages and inbound replies."""

from django.apps import AppConfig


def _broadcast_expand_enqueue(broadcast_id: int) -> object:
    """Hand a bulk message's expansion to the worker. The job module (and Huey with it) is
    imported with the first bulk message sent, not at every process's start."""
    from ontrack.messaging.tasks import broadcast_expand_task

    return broadcast_expand_task(broadcast_id)


class MessagingConfig(AppConfig):
    name = "ontrack.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from ontrack.audit.retention import RetentionKind, retention_kind_register
        from ontrack.messaging import broadcasts
        from ontrack.messaging.queries import caseload_text_signals
        from ontrack.messaging.services.reminders import hearing_reminders_follow
        from ontrack.messaging.services.retention import messages_purge_before
        from ontrack.messaging.status_checks import outbox_oldest_due
        from ontrack.operations.status import status_check_register
        from ontrack.participants.caseload_signals import register_signal_source
        from ontrack.participants.hearing_listeners import register_hearing_listener
        from ontrack.participants.panels import register_panel

        register_panel("messaging/panel.html")
        register_signal_source(caseload_text_signals)
        broadcasts.expansion_job_register(_broadcast_expand_enqueue)
        status_check_register("outbox", outbox_oldest_due)
        retention_kind_register(
            RetentionKind(
                key="messages",
                label="Messages",
                default_days=365,
                purge=messages_purge_before,
                models=("messaging.Message", "messaging.InboundMessage"),
                description="Texts and e-mails sent and received, with delivery status.",
            )
        )
        # Hearings live in participants, below messaging; their reminders follow each change.
        register_hearing_listener(hearing_reminders_follow)

        from ontrack.messaging import timeline_sources

        timeline_sources.register()
