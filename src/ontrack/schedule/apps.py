"""Check-in schedules, office appointments, check-in outcomes and the missed-check-in watchdog."""

from django.apps import AppConfig


class ScheduleConfig(AppConfig):
    name = "ontrack.schedule"
    label = "schedule"
    verbose_name = "Schedule and check-ins"
