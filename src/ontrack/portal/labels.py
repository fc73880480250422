"""Words the portal shows for values that other apps store as codes or English labels.

Participants' choice labels (hearing kinds, statuses, levels, languages) are plain English
there and carry no translation; changing them would change its migrations. The portal
translates at display time instead, from these maps, in the participant's language. The
"my data" page names each kind of record and each profile field in words, not as the
model's label (``schedule.checkinwindow``) or the column (``case_number``)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ontrack.accounts.templatetags.office_time import zone_name
from ontrack.messaging import datefmt

if TYPE_CHECKING:
    from ontrack.schedule.queries import Repeat

HEARING_KINDS: dict[str, Promise] = {
    "master_calendar": _("Master calendar hearing"),
    "individual": _("Individual hearing (merits)"),
    "arraignment": _("Arraignment"),
    "pretrial": _("Pretrial conference"),
    "trial": _("Trial"),
    "sentencing": _("Sentencing"),
    "bond": _("Bond or custody hearing"),
    "other": _("Other hearing"),
}

PROFILE_FIELDS: dict[str, Promise] = {
    "case_number": _("Case number"),
    "given_name": _("Given name"),
    "family_name": _("Family name"),
    "date_of_birth": _("Date of birth"),
    "preferred_language": _("Language"),
    "email": _("Email"),
    "time_zone": _("Time zone"),
    "status": _("Status"),
    "level": _("Supervision level"),
    "enrolled_at": _("Enrolled on"),
    "office": _("Office"),
}

STATUSES: dict[str, Promise] = {
    "enrolled": _("Enrolled"),
    "active": _("Active"),
    "suspended": _("Suspended"),
    "closed": _("Closed"),
}

LEVELS: dict[str, Promise] = {
    "intensive": _("Intensive"),
    "high": _("High"),
    "standard": _("Standard"),
    "low": _("Low"),
    "minimal": _("Minimal"),
}

LANGUAGES: dict[str, Promise] = {
    "en": _("English"),
    "es": _("Spanish"),
    "pt": _("Portuguese"),
    "ht": _("Haitian Creole"),
    "fr": _("French"),
}

REQUEST_STATUSES: dict[str, Promise] = {
    "pending": _("Waiting for your officer's decision"),
    "approved": _("Accepted: your appointment was moved"),
    "declined": _("Not accepted: your appointment stays as it was"),
}

RECORDS: dict[str, Promise] = {
    "participants.phone": _("Phone numbers"),
    "participants.address": _("Addresses"),
    "participants.counsel": _("Lawyer"),
    "participants.releaseconditions": _("Release conditions"),
    "participants.hearing": _("Court hearings"),
    "participants.supervisionplan": _("Supervision plans"),
    "participants.participantevent": _("History of your case"),
    "participants.reviewrequest": _("Requests for a review"),
    "participants.bulkactionitem": _("Moves to another officer"),
    "schedule.checkinschedule": _("Check-in schedule"),
    "schedule.checkinwindow": _("Check-in times"),
    "schedule.checkin": _("Check-ins"),
    "schedule.appointment": _("Appointments"),
    "schedule.reschedulerequest": _("Requests for another time"),
    "schedule.appointmentbulkitem": _("Appointments changed together with others"),
    "schedule.task": _("Tasks for your officer"),
    "schedule.hearingmiss": _("Missed hearings"),
    "messaging.message": _("Messages sent to you"),
    "messaging.optout": _("Messages you stopped"),
    "messaging.inboundmessage": _("Messages you sent"),
    "alerts.alert": _("Alerts"),
    "alerts.alertrulesetting": _("Alert settings"),
    "tracking.deviceassignment": _("Devices you wore"),
    "tracking.position": _("Locations from a device"),
    "tracking.deviceeventrecord": _("Device events"),
    "tracking.devicecommand": _("Commands sent to a device"),
    "portal.signinchallenge": _("Sign-in codes"),
    "portal.portalaccess": _("Your access to this site"),
    "messaging.messagepart": _("Parts of long messages"),
    "messaging.messageattachment": _("Files sent with messages"),
    "reports.supervisorsummary": _("Weekly summaries for supervisors"),
    "alerts.alertstep": _("Steps taken on alerts"),
    "alerts.alertnotice": _("Notices about alerts"),
    "alerts.oncallpage": _("Alerts texted to staff on call"),
    "zones.zone": _("Zones"),
    "zones.zonestate": _("Inside or outside zones"),
    "zones.zoneclock": _("Last position checked against zones"),
    "reviews.supervisionreview": _("Supervision reviews"),
    "audit.accesslogentry": _("Who looked at your record"),
}

# One sentence per kind of record: what it is, for someone who never saw the system.
EXPLANATIONS: dict[str, Promise] = {
    "participants.phone": _("The numbers we text and that you sign in with."),
    "participants.address": _("Where you live or lived, with the dates."),
    "participants.counsel": _(
        "Your lawyer, and whether you agreed that they get a copy of notices."
    ),
    "participants.releaseconditions": _("The conditions of your release, as ordered."),
    "participants.hearing": _("Your court dates, where they are, and what happened."),
    "participants.supervisionplan": _(
        "Your level of supervision and what it asks of you, with each change."
    ),
    "participants.participantevent": _(
        "What happened in your case and who did it: enrolment, changes, decisions."
    ),
    "participants.reviewrequest": _(
        "Your requests for a review of your supervision, and the answers."
    ),
    "participants.bulkactionitem": _(
        "When your case moved to another officer together with other cases, and back."
    ),
    "schedule.checkinschedule": _("On which days and at which times you check in."),
    "schedule.checkinwindow": _("Each time you had to check in, and what was recorded."),
    "schedule.checkin": _(
        "Each check-in you made: the time, the place taken at that moment, the photo and "
        "the officer's review."
    ),
    "schedule.appointment": _("Your appointments at the office or at home, and if you came."),
    "schedule.reschedulerequest": _("Your requests to move an appointment, and the answers."),
    "schedule.appointmentbulkitem": _(
        "When your appointment was booked, cancelled or moved together with others, and back."
    ),
    "schedule.task": _(
        "Things your officer had to look at, for example a check-in that did not work."
    ),
    "schedule.hearingmiss": _("Court hearings recorded as missed."),
    "messaging.message": _("Every text or e-mail we sent you, and whether it arrived."),
    "messaging.messagepart": _("A long text goes in several parts: whether each one arrived."),
    "messaging.messageattachment": _("A file sent with an e-mail, for example a letter."),
    "reports.supervisorsummary": _(
        "The weekly e-mail to a supervisor about the cases of their office, if it was sent to you."
    ),
    "messaging.optout": _("When you asked us to stop sending texts (STOP)."),
    "messaging.inboundmessage": _("Every text you sent us."),
    "alerts.alert": _(
        "Alerts about your supervision (for example a missed check-in) and how they were closed."
    ),
    "alerts.alertstep": _("Each step staff took on an alert, with their notes."),
    "alerts.alertrulesetting": _("Alert settings made for you alone."),
    "alerts.alertnotice": _("Who was told about an alert, and how."),
    "alerts.oncallpage": _(
        "When an alert was texted to the staff member on call, and when they answered."
    ),
    "zones.zone": _("Places you must stay in or keep away from, and when."),
    "zones.zonestate": _("Whether your device was last inside or outside each zone."),
    "zones.zoneclock": _("When your device's last position was checked against your zones."),
    "tracking.deviceassignment": _("Which device you wore, and when."),
    "tracking.position": _("Every position your device sent."),
    "tracking.deviceeventrecord": _(
        "What your device reported about itself: strap, battery, charging."
    ),
    "tracking.devicecommand": _("When staff asked your device for its position, and its answer."),
    "portal.signinchallenge": _(
        "When sign-in codes were sent to you (the codes themselves are not kept)."
    ),
    "portal.portalaccess": _(
        "When you set your PIN and last signed in (the PIN itself is not kept)."
    ),
    "reviews.supervisionreview": _(
        "Reviews of your supervision level: your record, the proposal and the decision."
    ),
    "audit.accesslogentry": _(
        "Each time someone opened or exported your record, and the reason they gave."
    ),
}

# Written out per language rather than Django's DATE_FORMAT: Django has no formats for
# Haitian Creole, and "F" (the full month name) is in the portal's catalog for every one.
DATE_FORMATS = {
    "es": r"j \d\e F \d\e Y",
    "pt": r"j \d\e F \d\e Y",
    "fr": "j F Y",
    "ht": "j F Y",
}


def _datefmt_language() -> str:
    language = (get_language() or "en")[:2]
    return language if language in datefmt.LANGUAGES else "en"


def day_words(value: dt.date | dt.datetime) -> str:
    """The day in the active language's words and order, as the participant's texts write
    it ("Friday, December 4", "viernes 4 de diciembre", "vandredi 4 desanm"), on the
    active time zone's calendar."""
    if isinstance(value, dt.datetime):
        value = (timezone.localtime(value) if timezone.is_aware(value) else value).date()
    return datefmt.format_date(value, _datefmt_language())


def when_words(value: dt.datetime) -> str:
    """The day in words and the local time on the 24-hour clock."""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{datefmt.format_date(local.date(), _datefmt_language())}, {local:%H:%M}"


def repeat_words(repeat: Repeat) -> str:
    """The line that stands for a schedule's further check-ins, in the active language:
    "Then every day until Friday, January 1", "Después, cada semana (lunes, jueves)". Day
    names and dates are messaging's, so a text message and the page say them alike."""
    language = _datefmt_language()
    values: dict[str, object] = {
        "days": ", ".join(datefmt.DAYS[language][d] for d in repeat.weekdays),
        "n": repeat.interval,
    }
    if repeat.until is not None:
        values["date"] = datefmt.format_date(repeat.until, language)
    if repeat.every_day:
        text = (
            gettext("Then every day until %(date)s") if repeat.until else gettext("Then every day")
        )
    elif repeat.interval == 1:
        text = (
            gettext("Then every week (%(days)s) until %(date)s")
            if repeat.until
            else gettext("Then every week (%(days)s)")
        )
    else:
        text = (
            gettext("Then every %(n)s weeks (%(days)s) until %(date)s")
            if repeat.until
            else gettext("Then every %(n)s weeks (%(days)s)")
        )
    return text % values


DEVICE_TRACKING: dict[str, Promise] = {
    "ankle": _(
        "Your ankle monitor sends your position all the time, day and night, not only when "
        "you check in."
    ),
    "wrist": _(
        "Your wrist monitor sends your position all the time, day and night, not only when "
        "you check in."
    ),
    "phone": _(
        "The tracking app on your phone sends your position all the time, day and night, not "
        "only when you check in."
    ),
}


def reporting_words(every: dt.timedelta | None) -> str:
    """How often the device reported over the last day, in the active language, rounded
    the way a person would say it (seconds under a minute, then minutes, then hours)."""
    if every is None:
        return gettext("It has sent no position in the last day.")
    seconds = every.total_seconds()
    if seconds < 50:
        n = max(1, round(seconds))
        return gettext("Over the last day it sent a position about every %(n)s seconds.") % {"n": n}
    if seconds < 90 * 60:
        n = max(1, round(seconds / 60))
        return ngettext(
            "Over the last day it sent a position about every minute.",
            "Over the last day it sent a position about every %(n)s minutes.",
            n,
        ) % {"n": n}
    n = round(seconds / 3600)
    return ngettext(
        "Over the last day it sent a position about every hour.",
        "Over the last day it sent a position about every %(n)s hours.",
        n,
    ) % {"n": n}


# North American zones by the abbreviation tzdata gives them (EST and EDT are both
# "Eastern Time"), for zones under America/ and Hawaii's.
def hearing_kind(code: str, fallback: str = "") -> str:
    label = HEARING_KINDS.get(code)
    return str(label) if label is not None else fallback


def record_label(key: str, fallback: str) -> str:
    label = RECORDS.get(key)
    return str(label) if label is not None else fallback


def record_explanation(key: str) -> str:
    explanation = EXPLANATIONS.get(key)
    return str(explanation) if explanation is not None else ""


def shown_value(name: str, value: Any) -> str:
    """A stored value as the "my data" page shows it: dates and times in words on the
    participant's clock, yes or no, a time zone by its name."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, dt.datetime):
        return when_words(value)
    if isinstance(value, dt.date):
        return local_date(value)
    if name == "time_zone" and isinstance(value, str):
        return zone_name(value)
    return str(value)


def local_date(value: dt.date | dt.datetime) -> str:
    """A date (or the local date and time of an instant) in the active language's words."""
    date_format = DATE_FORMATS.get((get_language() or "en")[:2], "F j, Y")
    if isinstance(value, dt.datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return formats.date_format(local, f"{date_format}, H:i")
    return formats.date_format(value, date_format)


def profile_rows(profile: dict[str, Any]) -> list[tuple[str, str]]:
    """The "about me" fields as (label, value) in words, in a fixed order."""
    rows = []
    for key, value in profile.items():
        if key == "status":
            shown: Any = STATUSES.get(value, value)
        elif key == "level":
            shown = LEVELS.get(value, value)
        elif key == "preferred_language":
            shown = LANGUAGES.get(value, value)
        elif key == "time_zone":
            shown = zone_name(value)
        elif isinstance(value, dt.date):
            shown = local_date(value)
        else:
            shown = value if value not in (None, "") else "—"
        rows.append((str(PROFILE_FIELDS.get(key, key.replace("_", " "))), str(shown)))
    return rows
