"""Portal forms: few fields, plain labels, large inputs on a phone."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ontrack.portal.services import PIN_MAX, PIN_MIN


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Your phone number"),
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("The code in the text message"),
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


_PIN_ATTRS = {"inputmode": "numeric", "autocomplete": "off", "pattern": "[0-9]*"}


class PinForm(forms.Form):
    pin = forms.CharField(
        label=_("Your PIN"),
        min_length=PIN_MIN,
        max_length=PIN_MAX,
        widget=forms.PasswordInput(attrs=_PIN_ATTRS),
    )


class PinSetForm(forms.Form):
    pin = forms.RegexField(
        label=_("Choose a PIN (4 to 8 numbers)"),
        regex=r"^[0-9]{4,8}$",
        error_messages={"invalid": _("Use 4 to 8 numbers.")},
        widget=forms.PasswordInput(attrs=_PIN_ATTRS),
    )
    pin_again = forms.CharField(
        label=_("Type the PIN again"), widget=forms.PasswordInput(attrs=_PIN_ATTRS)
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("pin") and data.get("pin") != data.get("pin_again"):
            self.add_error("pin_again", _("The two PINs are not the same."))
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Why? (a few words)"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


SlotChoices = list[tuple[str, str | list[tuple[str, str]]]]


class RescheduleForm(ReasonForm):
    """Another time: one of the office's free slots (grouped by day, a native picker on a
    phone) or none of them, and why. The slot is checked by schedule when the request is
    made (a slot taken meanwhile is refused there, in words), not here."""

    slot = forms.CharField(
        label=_("Choose a free time"),
        required=False,
        widget=forms.Select(),
    )
    field_order = ["slot", "reason"]

    def __init__(self, *args: Any, slots: SlotChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        none = ("", str(_("None of these times: I explain below")))
        self.fields["slot"].widget.choices = [none, *slots]
