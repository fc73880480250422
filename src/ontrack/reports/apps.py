"""Statistics, exports, the data inventory: reads of everything, writes of nothing but
exports."""

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "ontrack.reports"
    label = "reports"
    verbose_name = "Reports"
