"""Install the ``language_changed`` notice (five languages): the answer to "LANG ES",
"KREYÒL"... Only what is missing is added, so an edited body is kept."""

from typing import Any

from django.db import migrations

NEW_KEYS = ("language_changed",)


def install(apps: Any, schema_editor: Any) -> None:
    from ontrack.messaging.shipped import TEMPLATES

    Template = apps.get_model("messaging", "Template")
    TemplateBody = apps.get_model("messaging", "TemplateBody")
    for key in NEW_KEYS:
        shipped = TEMPLATES[key]
        template, _ = Template.objects.get_or_create(
            key=key,
            defaults={
                "purpose": shipped.purpose,
                "essential": shipped.essential,
                "bulk": shipped.bulk,
            },
        )
        for language, body in shipped.bodies.items():
            TemplateBody.objects.get_or_create(
                template=template, language=language, defaults={"body": body}
            )


class Migration(migrations.Migration):
    dependencies = [("messaging", "0004_parts_rate_buckets_language_replies")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
