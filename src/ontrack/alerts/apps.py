"""Alert rules, grace and escalation, the alert lifecycle and the triage queue."""

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "ontrack.alerts"
    label = "alerts"
    verbose_name = "Alerts"
