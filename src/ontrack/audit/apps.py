from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "ontrack.audit"
    label = "audit"
    verbose_name = "Access log"
