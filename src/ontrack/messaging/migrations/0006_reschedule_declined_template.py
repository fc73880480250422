"""Install the ``reschedule_declined`` notice (five languages): a declined request to move
an appointment is told to the person, so they still come at the booked time. Only what is
missing is added, so an edited body is kept."""

from typing import Any

from django.db import migrations


def install(apps: Any, schema_editor: Any) -> None:
    from ontrack.messaging.default_templates import templates_add_missing

    templates_add_missing(apps, ("reschedule_declined",))


class Migration(migrations.Migration):
    dependencies = [("messaging", "0005_language_changed_template")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
