"""Console forms for schedules, appointments, check-in decisions and office calendars.
Local date-times are read in a named zone (the office's, or the participant's for a home
visit) and handed to the services as aware instants."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django import forms

from ontrack.schedule.models import AppointmentKind, AppointmentType, Cadence
from ontrack.schedule.services.schedules import ScheduleData

WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]
WEEKS = [(1, "First"), (2, "Second"), (3, "Third"), (4, "Fourth"), (-1, "Last")]


def local_to_aware(value: dt.datetime, zone: str) -> dt.datetime:
    """A naive wall-clock date-time from a form, read in ``zone``."""
    return value.replace(tzinfo=ZoneInfo(zone))


class ScheduleForm(forms.Form):
    cadence = forms.ChoiceField(choices=Cadence.choices)
    weekdays = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Weekly: the days. Monthly on a weekday: exactly one.",
    )
    interval = forms.IntegerField(min_value=1, max_value=12, initial=1, help_text="Every N weeks.")
    week = forms.TypedChoiceField(
        choices=WEEKS, coerce=int, initial=1, help_text="Monthly on a weekday."
    )
    day = forms.IntegerField(min_value=1, max_value=31, initial=1, help_text="Monthly on a day.")
    dates = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Custom: dates as YYYY-MM-DD, separated by spaces or commas.",
    )
    opens = forms.TimeField(initial=dt.time(8), help_text="Local time in the participant's zone.")
    closes = forms.TimeField(initial=dt.time(20))
    starts_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean_dates(self) -> tuple[dt.date, ...]:
        raw = self.cleaned_data["dates"].replace(",", " ").split()
        try:
            return tuple(dt.date.fromisoformat(v) for v in raw)
        except ValueError as exc:
            raise forms.ValidationError("Dates must be written YYYY-MM-DD.") from exc

    def data_for_service(self) -> ScheduleData:
        d = self.cleaned_data
        return ScheduleData(
            cadence=d["cadence"],
            opens=d["opens"],
            closes=d["closes"],
            starts_on=d["starts_on"],
            ends_on=d["ends_on"],
            interval=d["interval"],
            weekdays=tuple(d["weekdays"]),
            week=d["week"],
            day=d["day"],
            dates=d["dates"],
        )


class AdhocWindowForm(forms.Form):
    hours = forms.IntegerField(
        min_value=1, max_value=72, initial=4, help_text="Open from now for this many hours."
    )


class AppointmentForm(forms.Form):
    type = forms.ChoiceField(choices=AppointmentType.choices, label="Purpose")
    kind = forms.ChoiceField(choices=AppointmentKind.choices, initial=AppointmentKind.OFFICE)
    starts_at = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Office appointments: the office's local time, at a slot start. Home "
        "visits: the participant's local time.",
    )
    note = forms.CharField(required=False, max_length=300, help_text="For staff only.")


class MoveForm(forms.Form):
    starts_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Local time; leave empty to take the nearest free slot.",
    )
    reason = forms.CharField(max_length=300, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300)


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    reason = forms.CharField(max_length=300, required=False)


class RescheduleDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("decline", "Decline")])
    starts_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="New time (office local); empty: the time the participant chose if still free, "
        "else the nearest free slot after the present one.",
    )
    note = forms.CharField(max_length=300, required=False)


class CloseDayForm(forms.Form):
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(max_length=200)


class CalendarForm(forms.Form):
    slot_minutes = forms.IntegerField(min_value=5, max_value=240)
    slot_capacity = forms.IntegerField(min_value=1, max_value=500)


BULK_ACTIONS = [("move", "Move to the nearest free slot"), ("cancel", "Cancel")]


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=BULK_ACTIONS)
    appointments = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    reason = forms.CharField(max_length=300)

    def __init__(self, *args: object, choices: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["appointments"].choices = choices  # type: ignore[attr-defined]
