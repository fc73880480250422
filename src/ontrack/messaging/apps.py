"""Templates, the outbox, providers, reminders, bulk messages and inbound replies."""

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "ontrack.messaging"
    label = "messaging"
    verbose_name = "Messaging"
