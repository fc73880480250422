from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "ontrack.operations"
    label = "operations"
    verbose_name = "Processes and jobs"

    def ready(self) -> None:
        """Register every app's jobs in every process, as the admin autodiscovers its
        modules: the worker runs them, the status page and ``ontrack jobs`` list them."""
        from ontrack.operations.jobs import jobs_load

        jobs_load()
