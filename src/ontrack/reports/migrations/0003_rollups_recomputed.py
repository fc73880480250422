"""The roll-ups computed before the alert response-time measures hold none of them: they are
deleted, so the dashboard counts from the records until the worker's next roll-up job
(hourly) computes them all again. Roll-ups are derived data: nothing is lost."""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def rollups_delete(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("reports", "DailyCount").objects.all().delete()
    apps.get_model("reports", "RollupRun").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_supervisor_summary")]

    operations = [migrations.RunPython(rollups_delete, migrations.RunPython.noop)]
