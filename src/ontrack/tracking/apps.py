from typing import Any

from django.apps import AppConfig


def _zones_evaluate(batch: Any) -> None:
    """The zone engine's hand-off callback, imported with the first stored batch: the engine
    (shapely, numpy) is a third of a second of imports at every process start, and only the
    processes that store positions use it."""
    from ontrack.zones.services import batch_evaluate

    batch_evaluate(batch)


class TrackingConfig(AppConfig):
    name = "ontrack.tracking"
    label = "tracking"
    verbose_name = "Devices and positions"

    def ready(self) -> None:
        """Show the location panel on the participant page and the device on the caseload
        list without participants importing tracking (participants sits below tracking in the
        import stack); likewise the device events' words for the alert page (alerts sits
        below tracking)."""
        from ontrack.participants.caseload_signals import register_signal_source
        from ontrack.participants.panels import register_panel
        from ontrack.tracking.queries import caseload_device_signals

        register_panel("tracking/_participant_panel.html")
        register_signal_source(caseload_device_signals)

        from ontrack.tracking import handoff
        from ontrack.tracking.alerting import batch_alerts

        handoff.register(_zones_evaluate)
        handoff.register(batch_alerts)

        from ontrack.participants.services import register_case_change_listener
        from ontrack.tracking.services.devices import case_changed

        register_case_change_listener(case_changed)

        from ontrack.tracking.queries import participant_last_position
        from ontrack.zones.queries import last_position_source_register

        last_position_source_register(participant_last_position)

        from ontrack.operations.status import status_check_register
        from ontrack.tracking.status_checks import gateway_last_stored, gateway_spool

        status_check_register("gateway", gateway_last_stored)
        status_check_register("spool", gateway_spool)

        from ontrack.tracking import timeline_sources

        timeline_sources.register()

        from ontrack.alerts.detail_labels import detail_values_register

        detail_values_register("event", timeline_sources.EVENT_WORDS)

        from ontrack.audit.retention import RetentionKind, retention_kind_register
        from ontrack.participants.retention import closed_case_purge_register
        from ontrack.tracking.retention import (
            closed_cases_tracking_purge,
            device_events_purge_before,
            positions_purge_before,
        )

        closed_case_purge_register("tracking", closed_cases_tracking_purge)

        retention_kind_register(
            RetentionKind(
                key="positions",
                label="Positions",
                default_days=365,
                purge=positions_purge_before,
                models=("tracking.Position",),
                description="Where a device was; whole day partitions dropped on PostgreSQL.",
            )
        )
        retention_kind_register(
            RetentionKind(
                key="device_events",
                label="Device events",
                default_days=365,
                purge=device_events_purge_before,
                models=("tracking.DeviceEventRecord",),
                description="Tamper, battery, charging, power and signal events.",
            )
        )
