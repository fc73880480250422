from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from ontrack.accounts.models import ApiToken, Office, Program, User


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
    list_display = ["username", "first_name", "last_name", "role", "office", "is_active"]
    list_filter = ["role", "office", "is_active"]
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("Role", {"fields": ("role", "office", "phone")}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        ("Role", {"fields": ("role", "office")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["digest", "prefix", "created_at", "last_used_at"]
