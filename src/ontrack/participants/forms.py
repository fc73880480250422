"""Console forms. They validate shape and turn input into service arguments; the rules
(who may, what is allowed) stay in ``participants.services``."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone

from ontrack.accounts.models import Office, Role, User, time_zone_choices
from ontrack.participants.models import (
    ClosureReason,
    ConditionFlag,
    HearingKind,
    HearingOutcome,
    Language,
    Level,
)
from ontrack.participants.services import AddressData, PlanData, phone_normalise

DATE = forms.DateInput(attrs={"type": "date"})
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def officers_for(user: User) -> Any:
    officers = User.objects.filter(
        role__in=[Role.OFFICER, Role.SUPERVISOR], is_active=True
    ).select_related("office")
    if user.role != Role.ADMINISTRATOR:
        officers = officers.filter(office_id=user.office_id or 0)
    return officers.order_by("last_name", "first_name")


class OfficerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj} — {obj.office}" if obj.office else str(obj)


class PhonesField(forms.CharField):
    """One or more numbers, separated by commas or new lines, returned in E.164."""

    def clean(self, value: Any) -> list[str]:
        raw = super().clean(value) or ""
        numbers = [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]
        return [phone_normalise(number) for number in numbers]


class PlanFields(forms.Form):
    level = forms.ChoiceField(choices=Level.choices, initial=Level.STANDARD)
    app_checkins = forms.BooleanField(required=False, initial=True, label="App check-ins")
    phone_checkins = forms.BooleanField(required=False, label="Phone check-ins")
    office_visits = forms.BooleanField(required=False, initial=True, label="Office visits")
    gps_device = forms.BooleanField(required=False, label="GPS device")
    review_date = forms.DateField(widget=DATE, help_text="When this plan is next reviewed.")

    def clean_review_date(self) -> dt.date:
        value: dt.date = self.cleaned_data["review_date"]
        if value < timezone.localdate():
            raise forms.ValidationError("The review date cannot be in the past.")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        modalities = ("app_checkins", "phone_checkins", "office_visits", "gps_device")
        if not any(data.get(name) for name in modalities):
            raise forms.ValidationError("Choose at least one way of reporting.")
        return data

    def plan(self) -> PlanData:
        data = self.cleaned_data
        return PlanData(
            level=data["level"],
            review_date=data["review_date"],
            app_checkins=data["app_checkins"],
            phone_checkins=data["phone_checkins"],
            office_visits=data["office_visits"],
            gps_device=data["gps_device"],
        )


class AddressFields(forms.Form):
    line1 = forms.CharField(label="Address", max_length=200)
    line2 = forms.CharField(label="Apartment, unit", max_length=200, required=False)
    city = forms.CharField(max_length=100)
    region = forms.CharField(label="State", max_length=100, required=False)
    postal_code = forms.CharField(max_length=20, required=False)

    def address(self) -> AddressData:
        data = self.cleaned_data
        return AddressData(
            line1=data["line1"],
            line2=data["line2"],
            city=data["city"],
            region=data["region"],
            postal_code=data["postal_code"],
        )


class EnrolForm(PlanFields, AddressFields):
    case_number = forms.CharField(max_length=40)
    given_name = forms.CharField(max_length=100)
    family_name = forms.CharField(max_length=100)
    date_of_birth = forms.DateField(widget=DATE)
    preferred_language = forms.ChoiceField(choices=Language.choices)
    phones = PhonesField(
        required=False,
        help_text="Mobile first. Several numbers: separate with commas.",
    )
    email = forms.EmailField(required=False)
    office = forms.ModelChoiceField(queryset=Office.objects.none())
    officer = OfficerChoiceField(queryset=User.objects.none(), required=False)
    conditions_text = forms.CharField(
        label="Release conditions", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    condition_flags = forms.MultipleChoiceField(
        choices=ConditionFlag.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    field_order = [
        "case_number",
        "given_name",
        "family_name",
        "date_of_birth",
        "preferred_language",
        "phones",
        "email",
        "line1",
        "line2",
        "city",
        "region",
        "postal_code",
        "office",
        "officer",
    ]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offices = Office.objects.select_related("program")
        if user.role != Role.ADMINISTRATOR:
            offices = offices.filter(pk=user.office_id or 0)
            self.fields["office"].initial = user.office_id
        office_field = self.fields["office"]
        assert isinstance(office_field, forms.ModelChoiceField)
        office_field.queryset = offices
        officer_field = self.fields["officer"]
        assert isinstance(officer_field, forms.ModelChoiceField)
        officer_field.queryset = officers_for(user)
        if user.role == Role.OFFICER:
            officer_field.initial = user.pk

    def clean_date_of_birth(self) -> dt.date:
        value: dt.date = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if value >= today:
            raise forms.ValidationError("The date of birth must be in the past.")
        if value.year < today.year - 120:
            raise forms.ValidationError("Check the year of birth.")
        return value


class EditForm(forms.Form):
    case_number = forms.CharField(max_length=40)
    given_name = forms.CharField(max_length=100)
    family_name = forms.CharField(max_length=100)
    date_of_birth = forms.DateField(widget=DATE)
    preferred_language = forms.ChoiceField(choices=Language.choices)
    email = forms.EmailField(required=False)
    time_zone = forms.ChoiceField(choices=time_zone_choices)
    phones = PhonesField(required=False, help_text="Mobile first, separated by commas.")
    photo = forms.ImageField(
        required=False, help_text="Enrolment photo, JPEG or PNG, at most 5 MB. Leave empty to keep."
    )


class PlanForm(PlanFields):
    reason = forms.CharField(max_length=300, help_text="Recorded in the plan history.")


class HearingForm(forms.Form):
    scheduled_at = forms.DateTimeField(
        widget=DATETIME, label="Date and time", help_text="Local time at the court."
    )
    time_zone = forms.ChoiceField(choices=time_zone_choices)
    court = forms.CharField(max_length=150)
    court_address = forms.CharField(max_length=250, required=False)
    kind = forms.ChoiceField(choices=HearingKind.choices)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def scheduled_at_aware(self) -> dt.datetime:
        """The form's wall-clock time read in the court's zone (not the server's)."""
        naive = timezone.make_naive(self.cleaned_data["scheduled_at"], dt.UTC)
        return naive.replace(tzinfo=zoneinfo.ZoneInfo(self.cleaned_data["time_zone"]))


class HearingOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(choices=HearingOutcome.choices)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class CounselForm(forms.Form):
    name = forms.CharField(max_length=150)
    organisation = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    phone = forms.CharField(max_length=30, required=False)
    consent_to_notices = forms.BooleanField(
        required=False,
        label="The participant consents to counsel receiving copies of appointment notices",
    )


class ConditionsForm(forms.Form):
    text = forms.CharField(
        label="Conditions as ordered", widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    flags = forms.MultipleChoiceField(
        choices=ConditionFlag.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    ordered_by = forms.CharField(max_length=150, required=False)
    ordered_on = forms.DateField(widget=DATE, required=False)


class AddressForm(AddressFields):
    valid_from = forms.DateField(widget=DATE, label="Living here since")


class CloseForm(forms.Form):
    reason = forms.ChoiceField(choices=[("", "— choose —"), *ClosureReason.choices])
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=(
            "Required for absconded, departed / removed and detained: say what was decided and why."
        ),
    )


class SuspendForm(forms.Form):
    reason = forms.CharField(max_length=200)


class TransferForm(forms.Form):
    officer = OfficerChoiceField(queryset=User.objects.none())

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        officer_field = self.fields["officer"]
        assert isinstance(officer_field, forms.ModelChoiceField)
        officer_field.queryset = officers_for(user)


class BulkTransferForm(TransferForm):
    """Move the selected participants, or a whole caseload, to one officer."""

    from_officer = OfficerChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Whole caseload of",
        help_text="Leave empty to move only the participants ticked in the list.",
    )
    field_order = ["from_officer", "officer"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        from_field = self.fields["from_officer"]
        assert isinstance(from_field, forms.ModelChoiceField)
        from_field.queryset = officers_for(user)


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text=f"CSV with a header row; at most {settings.ONTRACK_IMPORT_MAX_BYTES // 2**20} MB."
    )
