from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """Jobs are registered by the processes that run or list them (``ontrack worker``,
    ``ontrack jobs``, ``ontrack status`` and the status page call ``jobs_load``), not at
    start-up: importing every app's ``tasks`` module, Huey and the Redis client took a
    quarter of each ``ontrack`` command's start."""

    name = "ontrack.operations"
    label = "operations"
    verbose_name = "Processes and jobs"
