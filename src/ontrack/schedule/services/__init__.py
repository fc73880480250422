"""The schedule app's public service API: the actions other apps (participants' reviews,
tracking, the portal) and their tests call. Each lives in the module of its domain
(``windows``, ``checkins``, ``appointments``...); inside the schedule app, import from
that module directly.

Staff actions take ``actor`` and check that they may change the participant's case before
writing; actions the participant reaches through the portal take the participant (the
portal has authenticated them). Each takes an optional ``now`` so that tests and the
periodic jobs can drive time.
"""

from ontrack.schedule.services.appointments import (
    appointment_book,
    appointment_cancel,
    appointment_move,
)
from ontrack.schedule.services.checkins import (
    checkin_phone,
    checkin_submit,
    checkin_technical_failure,
    window_excuse,
)
from ontrack.schedule.services.officer_tasks import task_open, task_source_done
from ontrack.schedule.services.offices import office_close_day
from ontrack.schedule.services.reschedules import reschedule_decide, reschedule_request_create
from ontrack.schedule.services.schedules import ScheduleData, schedule_set
from ontrack.schedule.services.watchdog import missed_checkins_mark
from ontrack.schedule.services.windows import window_adhoc

__all__ = [
    "ScheduleData",
    "appointment_book",
    "appointment_cancel",
    "appointment_move",
    "checkin_phone",
    "checkin_submit",
    "checkin_technical_failure",
    "missed_checkins_mark",
    "office_close_day",
    "reschedule_decide",
    "reschedule_request_create",
    "schedule_set",
    "task_open",
    "task_source_done",
    "window_adhoc",
    "window_excuse",
]
