"""Install the shipped templates (five languages) and the default reminder rules.

Only what is missing is added, so running it on a database whose templates were edited in
the console keeps the edits."""

from typing import Any

from django.db import migrations


def install(apps: Any, schema_editor: Any) -> None:
    from ontrack.messaging.default_templates import (
        TEMPLATES,
        reminder_rules_add_missing,
        templates_add_missing,
    )

    templates_add_missing(apps, TEMPLATES)
    reminder_rules_add_missing(apps)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_outbox")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
