from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ontrack.accounts"
    label = "accounts"
    verbose_name = "Offices and staff"
