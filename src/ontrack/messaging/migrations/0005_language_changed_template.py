"""Install the ``language_changed`` notice (five languages): the answer to "LANG ES",
"KREYÒL"... Only what is missing is added, so an edited body is kept."""

from typing import Any

from django.db import migrations


def install(apps: Any, schema_editor: Any) -> None:
    from ontrack.messaging.default_templates import templates_add_missing

    templates_add_missing(apps, ("language_changed",))


class Migration(migrations.Migration):
    dependencies = [("messaging", "0004_parts_rate_buckets_language_replies")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
