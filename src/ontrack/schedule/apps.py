"""Check-in schedules, office appointments, check-in outcomes and the missed-check-in watchdog."""

from django.apps import AppConfig


class ScheduleConfig(AppConfig):
    name = "ontrack.schedule"
    label = "schedule"
    verbose_name = "Schedule and check-ins"

    def ready(self) -> None:
        """Show the schedule and compliance panel on the participant page and the schedule's
        signals on the caseload list, answer "CONFIRM" and "RESCHEDULE" replies, put
        check-in photos under the retention purge, and follow suspensions, reinstatements,
        closures and plan changes, and give the alert page the words for a missed
        appointment's codes (participants, messaging, audit and alerts sit below schedule)."""
        from ontrack.audit.retention import RetentionKind, retention_kind_register
        from ontrack.messaging.reply_handlers import register_reply_handler
        from ontrack.participants.caseload_signals import register_signal_source
        from ontrack.participants.panels import register_panel
        from ontrack.participants.services import register_case_change_listener
        from ontrack.schedule import replies
        from ontrack.schedule.queries import caseload_schedule_signals
        from ontrack.schedule.services.case_changes import case_changed
        from ontrack.schedule.services.retention import checkin_photos_purge_before

        register_panel("schedule/_participant_panel.html")
        register_signal_source(caseload_schedule_signals)
        retention_kind_register(
            RetentionKind(
                key="checkin_photos",
                label="Check-in photos",
                default_days=90,
                purge=checkin_photos_purge_before,
                models=("schedule.Checkin",),
                description="The photo taken at each check-in; the check-in record itself "
                "(time, outcome, identity review) is kept.",
            )
        )
        register_reply_handler("confirm", replies.confirm_reply)
        register_reply_handler("reschedule", replies.reschedule_reply)
        register_case_change_listener(case_changed)

        from ontrack.alerts.detail_labels import detail_values_register
        from ontrack.alerts.models import AlertKind
        from ontrack.schedule.models import AppointmentKind, AppointmentType

        for key, choices in (("type", AppointmentType), ("kind", AppointmentKind)):
            detail_values_register(
                key, dict(choices.choices), alert_kind=AlertKind.MISSED_APPOINTMENT
            )

        from ontrack.schedule import timeline_sources

        timeline_sources.register()
