"""Statistics, exports, the data inventory: reads of everything, writes of nothing but
exports."""

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "ontrack.reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from ontrack.participants.panels import register_panel

        register_panel("reports/compliance_panel.html")
