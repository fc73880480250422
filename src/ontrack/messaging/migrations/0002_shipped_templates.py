"""Install the shipped templates (five languages) and the default reminder rules.

Only what is missing is added, so running it on a database whose templates were edited in
the console keeps the edits."""

from typing import Any

from django.db import migrations


def install(apps: Any, schema_editor: Any) -> None:
    from ontrack.messaging.shipped import REMINDER_RULES, TEMPLATES, templates_install

    templates_install(apps, TEMPLATES)
    ReminderRule = apps.get_model("messaging", "ReminderRule")
    if not ReminderRule.objects.exists():
        for kind, offset, at, key in REMINDER_RULES:
            ReminderRule.objects.create(
                kind=kind, offset_minutes=offset, local_time=at, template_key=key
            )


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_outbox")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
