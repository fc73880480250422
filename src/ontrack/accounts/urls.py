from django.urls import path

from ontrack.accounts import second_factor_views, views

app_name = "accounts"

urlpatterns = [
    path("", views.account, name="account"),
    path("staff/<int:pk>/", views.account, name="staff_contact"),
    path("second-factor/", second_factor_views.verify, name="second_factor"),
    path("second-factor/setup/", second_factor_views.setup, name="second_factor_setup"),
    path(
        "second-factor/recovery-codes/",
        second_factor_views.recovery_codes,
        name="second_factor_recovery_codes",
    ),
    path(
        "second-factor/passkeys/<int:pk>/remove/",
        second_factor_views.remove_passkey,
        name="passkey_remove",
    ),
    path("second-factor/changes/", second_factor_views.events, name="second_factor_events"),
    path(
        "staff/<int:pk>/second-factor/reset/",
        second_factor_views.reset,
        name="second_factor_reset",
    ),
]
