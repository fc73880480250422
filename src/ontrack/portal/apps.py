"""The participant's own mobile pages: sign-in, obligations, check-in, requests, their data."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "ontrack.portal"
    label = "portal"
    verbose_name = "Participant portal"
