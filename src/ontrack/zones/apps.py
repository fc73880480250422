"""Geofences: inclusion and exclusion zones, their schedules, and the vectorised zone engine."""

from django.apps import AppConfig


class ZonesConfig(AppConfig):
    name = "ontrack.zones"
    label = "zones"
    verbose_name = "Zones"
