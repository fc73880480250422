"""Geofences: inclusion and exclusion zones, their schedules, and the vectorised zone engine."""

from django.apps import AppConfig


class ZonesConfig(AppConfig):
    name = "ontrack.zones"
    label = "zones"
    verbose_name = "Zones"

    def ready(self) -> None:
        """Show the zones panel on the participant page (participants sits below zones)."""
        from ontrack.participants.panels import register_panel

        register_panel("zones/_participant_panel.html")
