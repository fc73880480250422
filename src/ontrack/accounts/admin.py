from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from ontrack.accounts.models import ApiToken, Office, Program, SecondFactorEvent, User
from ontrack.accounts.phones import phone_normalise


class _PhoneInE164:
    """Administrators type a number as they have it; it is stored in E.164, as a staff
    member's own "My account" page stores it, or refused saying why."""

    cleaned_data: dict[str, object]

    def clean_phone(self) -> str:
        raw = str(self.cleaned_data.get("phone") or "").strip()
        return phone_normalise(raw) if raw else ""


class StaffChangeForm(_PhoneInE164, UserChangeForm[User]):
    pass


class StaffCreationForm(_PhoneInE164, UserCreationForm[User]):
    pass


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin[Program]):
    list_display = ["name", "default_language"]


@admin.register(Office)
class OfficeAdmin(admin.ModelAdmin[Office]):
    list_display = ["name", "program", "time_zone", "phone"]
    list_filter = ["program", "time_zone"]
    search_fields = ["name", "address"]


@admin.register(User)
class StaffAdmin(UserAdmin):
    form = StaffChangeForm
    add_form = StaffCreationForm
    list_display = ["username", "first_name", "last_name", "role", "office", "phone", "is_active"]
    list_filter = ["role", "office", "is_active"]
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("Role", {"fields": ("role", "office", "phone")}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        ("Role", {"fields": ("role", "office", "phone")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    """Tokens are made with ``ontrack createtoken`` and only revoked here: changing a token's
    user would hand someone else's access to whoever holds it."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "digest", "prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


# Second factors change only through ontrack.accounts.second_factor, which records each
# change; django-otp's own admin would also show an authenticator's key to any administrator.
for _model in (TOTPDevice, WebAuthnCredential):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(SecondFactorEvent)
class SecondFactorEventAdmin(admin.ModelAdmin[SecondFactorEvent]):
    """Read-only, like the access log: the record of staff second-factor changes."""

    list_display = ["at", "username", "kind", "actor_username", "detail", "ip_address"]
    list_filter = ["kind"]
    search_fields = ["username", "actor_username"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
