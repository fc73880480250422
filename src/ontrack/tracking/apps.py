from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "ontrack.tracking"
    label = "tracking"
    verbose_name = "Devices and positions"

    def ready(self) -> None:
        """Show the location panel on the participant page without participants importing
        tracking (participants sits below tracking in the import stack)."""
        from ontrack.participants.panels import register_panel

        register_panel("tracking/_participant_panel.html")

        from ontrack.tracking import handoff
        from ontrack.tracking.alerting import batch_alerts
        from ontrack.zones.services import batch_evaluate

        handoff.register(batch_evaluate)
        handoff.register(batch_alerts)
