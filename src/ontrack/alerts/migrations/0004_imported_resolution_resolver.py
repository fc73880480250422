"""Imported resolutions name their original resolver as text, with who imported them and
when, instead of naming the importer as the resolver. Alerts imported before this kept the
importer in ``resolved_by`` and the original resolver in ``details["imported_from"]``: they
are moved to the new fields (the import time is the record's import in the access log). The
constraints follow in 0005 (PostgreSQL's pending trigger events, as in participants 0005).
"""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

NOT_RECORDED = "(not in the imported record)"


def _deferred_checks_now(schema_editor: Any) -> None:
    """Run PostgreSQL's deferred foreign-key checks of the rows just written, so that the
    field changes that follow in this migration's transaction are allowed ("cannot ALTER
    TABLE ... because it has pending trigger events")."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def imported_resolutions_reattributed(apps: Any, schema_editor: Any) -> None:
    Alert = apps.get_model("alerts", "Alert")
    AccessLogEntry = apps.get_model("audit", "AccessLogEntry")
    imported = Alert.objects.filter(details__has_key="imported_from", resolved_by__isnull=False)
    for alert in imported:
        origin = alert.details.get("imported_from") or {}
        entry = (
            AccessLogEntry.objects.filter(participant_id=alert.participant_id, action="import")
            .order_by("at")
            .first()
        )
        alert.resolution_imported_by_id = alert.resolved_by_id
        alert.resolution_imported_at = (
            entry.at if entry is not None else alert.closed_at or alert.raised_at
        )
        alert.resolved_by_id = None
        alert.resolved_by_name = str(origin.get("resolved_by") or NOT_RECORDED)[:150]
        alert.save(
            update_fields=[
                "resolved_by",
                "resolved_by_name",
                "resolution_imported_at",
                "resolution_imported_by",
            ]
        )
    _deferred_checks_now(schema_editor)


def imported_resolutions_back(apps: Any, schema_editor: Any) -> None:
    """Going back, the old constraint wants an account in ``resolved_by``: the importer again,
    as before this migration (the resolver's name stays in ``details``)."""
    Alert = apps.get_model("alerts", "Alert")
    Alert.objects.filter(resolved_by__isnull=True, resolution_imported_by__isnull=False).update(
        resolved_by=models.F("resolution_imported_by")
    )
    _deferred_checks_now(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0003_rule_battery_level_and_minutes_without_fix"),
        ("participants", "0008_departed_is_adverse"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("audit", "0002_retention"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="alert",
            name="violation_needs_a_person_and_a_note",
        ),
        migrations.AddField(
            model_name="alert",
            name="resolution_imported_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="alert",
            name="resolution_imported_by",
            field=models.ForeignKey(
                blank=True,
                help_text="Who imported a resolution decided elsewhere (not its resolver).",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="alert",
            name="resolved_by_name",
            field=models.CharField(
                blank=True,
                help_text="Who resolved an imported alert, as recorded there.",
                max_length=150,
            ),
        ),
        migrations.AddField(
            model_name="alert",
            name="resolved_by_office",
            field=models.CharField(
                blank=True, help_text="Where that person worked (office or agency).", max_length=150
            ),
        ),
        migrations.RunPython(imported_resolutions_reattributed, imported_resolutions_back),
    ]
