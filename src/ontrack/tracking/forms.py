"""Console forms for the device inventory and a participant's devices."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from ontrack.accounts.models import Office
from ontrack.accounts.templatetags.office_time import office_local, office_zone
from ontrack.tracking.models import Device, DeviceKind, DeviceStatus, Protocol


class DeviceRegisterForm(forms.Form):
    """Add a device to the inventory. ``offices`` are those the user manages devices for;
    ``office_required`` when the user may not register unallocated devices (supervisors).
    Duplicates, the IMEI rule, the clock offset's range and permissions are the service's
    to check (``services.devices.device_register``)."""

    identifier = forms.CharField(
        label="Identifier",
        max_length=40,
        required=False,
        help_text="The 15-digit IMEI for GT06, Teltonika and TK103 units, and for Queclink "
        "units (or a CDMA unit's 14-character MEID); the id the unit sends "
        "(10 to 15 digits) for H02 and Meitrack units and watches, the serial number (6 to 10 "
        "digits) for Suntech units; the device id for MQTT. For a phone "
        "app (OsmAnd / Traccar Client) leave it blank: a long random id is generated, to "
        "enter in the app.",
    )
    kind = forms.ChoiceField(choices=DeviceKind.choices)
    protocol = forms.ChoiceField(choices=Protocol.choices)
    firmware = forms.CharField(max_length=60, required=False)
    office = forms.ModelChoiceField(queryset=Office.objects.none())
    time_offset_minutes = forms.IntegerField(
        label="Clock offset (minutes)",
        initial=0,
        help_text="Minutes the unit's clock is ahead of UTC (many GT06 units send GMT+8: 480).",
    )

    def __init__(
        self, *args: Any, offices: QuerySet[Office], office_required: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        office_field = self.fields["office"]
        assert isinstance(office_field, forms.ModelChoiceField)
        office_field.queryset = offices
        office_field.required = office_required
        if office_required:
            only = list(offices[:2])
            if len(only) == 1:
                office_field.initial = only[0].pk
        else:
            office_field.empty_label = "No office (shared stock)"


class AssignForm(forms.Form):
    """Fit an in-stock device on a participant, chosen by identifier."""

    identifier = forms.CharField(label="Device identifier (IMEI)", max_length=40)

    def clean_identifier(self) -> Device:
        value = self.cleaned_data["identifier"].strip()
        try:
            return Device.objects.get(identifier=value)
        except Device.DoesNotExist:
            raise forms.ValidationError(f"No device {value} is registered.") from None


class SwapForm(AssignForm):
    reason = forms.CharField(max_length=180, label="Why the device is swapped")


class UnassignForm(forms.Form):
    reason = forms.CharField(max_length=180, label="Why the device is taken back")


class TrackWindowForm(forms.Form):
    """A window of the track typed on the office's clock: officers think in the office's
    time, and the same instant typed in UTC would be hours off the day they mean."""

    start = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="From"
    )
    end = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="To"
    )

    def __init__(self, *args: Any, time_zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = office_zone(time_zone)
        abbreviation = timezone.now().astimezone(self.zone).strftime("%Z")
        self.fields["start"].label = f"From ({abbreviation})"
        self.fields["end"].label = f"To ({abbreviation})"

    def full_clean(self) -> None:
        """Naive times typed in the form are read on the office's clock."""
        with timezone.override(self.zone):
            super().full_clean()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise forms.ValidationError("The end must be after the start.")
        return data


class PlaybackForm(forms.Form):
    """The track page's day and playback: ``at`` (an instant, e.g. an alert's, ISO-8601)
    opens the office's day around it with the slider there; ``day`` opens a day of the
    office's calendar; ``stop_min`` is the shortest dwell drawn as a stop."""

    at = forms.DateTimeField(required=False)
    day = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Day"
    )
    stop_min = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=240,
        label="Stops of at least (min)",
        widget=forms.NumberInput(attrs={"size": 4}),
    )

    def asked(self) -> str:
        """The day asked for, as the access log names it ("" when none was)."""
        data = self.cleaned_data
        if data.get("at") is not None:
            return f"the office's day of {data['at'].astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
        if data.get("day") is not None:
            return f"the office's day {data['day']:%Y-%m-%d}"
        return ""

    def day_window(self, time_zone: str) -> tuple[dt.datetime, dt.datetime] | None:
        """[midnight, next midnight) of the office's day asked for (UTC), or None."""
        data = self.cleaned_data
        if data.get("at") is not None:
            day: dt.date = office_local(data["at"], time_zone).date()
        elif data.get("day") is not None:
            day = data["day"]
        else:
            return None
        zone = office_zone(time_zone)
        start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


IN_STOCK = DeviceStatus.IN_STOCK
