"""Templates, the outbox, providers, reminders, bulk messages and inbound replies."""

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "ontrack.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from ontrack.audit.retention import RetentionKind, retention_kind_register
        from ontrack.messaging.services import messages_purge_before
        from ontrack.messaging.signals import hearing_saved
        from ontrack.messaging.status_checks import outbox_oldest_due
        from ontrack.operations.status import status_check_register
        from ontrack.participants.models import Hearing
        from ontrack.participants.panels import register_panel

        register_panel("messaging/panel.html")
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
        # Hearings live in participants, below messaging; their reminders follow each save.
        post_save.connect(hearing_saved, sender=Hearing, dispatch_uid="messaging.hearing_saved")
