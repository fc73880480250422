"""Alert rules, grace and escalation, the alert lifecycle and the triage queue."""

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "ontrack.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from ontrack.alerts.status_checks import alerts_pending_past_grace
        from ontrack.operations.status import status_check_register

        status_check_register("alerts", alerts_pending_past_grace)

        from ontrack.alerts.queries import caseload_alert_signals
        from ontrack.participants.caseload_signals import register_signal_source

        register_signal_source(caseload_alert_signals)

        from ontrack.alerts import timeline_sources

        timeline_sources.register()

        from ontrack.alerts.on_call import KEYWORD, on_call_reply
        from ontrack.messaging.reply_handlers import register_staff_reply_handler

        register_staff_reply_handler(KEYWORD, on_call_reply)
