"""Console forms for the device inventory and a participant's devices."""

from __future__ import annotations

from typing import Any

from django import forms

from ontrack.tracking.models import Device, DeviceStatus


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
    start = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="From (UTC)"
    )
    end = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="To (UTC)"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise forms.ValidationError("The end must be after the start.")
        return data


IN_STOCK = DeviceStatus.IN_STOCK
