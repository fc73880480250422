"""Moving a participant's record out of (and into) ontrack: the full record as a ZIP of
CSV/GeoJSON, and the tracking record in the structure of the Offender Tracking Record
Transfer Service (OTRTS) so a program can change systems without losing history."""

from django.apps import AppConfig


class TransferConfig(AppConfig):
    name = "ontrack.transfer"
    label = "transfer"
    verbose_name = "Record export and transfer"

    def ready(self) -> None:
        from ontrack.participants.panels import register_panel

        register_panel("transfer/panel.html")
