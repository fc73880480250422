"""Imported closures name their original decider as text, with who imported them and when
(``closure_decided_by_*``, ``closure_imported_*``), instead of naming the importer as the
decider. Closures imported before this kept the importer in ``closed_by`` (note "imported as
closed"; the document carried no decider): the importer moves to ``closure_imported_by`` and
the decider is said to be unrecorded. The constraints follow in 0010 (on PostgreSQL they
cannot be added in the transaction that updated these rows).
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


def imported_closures_reattributed(apps: Any, schema_editor: Any) -> None:
    Participant = apps.get_model("participants", "Participant")
    ParticipantEvent = apps.get_model("participants", "ParticipantEvent")
    imported = Participant.objects.filter(
        status="closed",
        closure_note="imported as closed",
        closed_by__isnull=False,
        events__kind="imported",
    ).distinct()
    for person in imported:
        closed = (
            ParticipantEvent.objects.filter(participant_id=person.pk, kind="closed")
            .order_by("-at", "-id")
            .first()
        )
        person.closure_imported_by_id = person.closed_by_id
        person.closure_imported_at = closed.at if closed is not None else person.closed_at
        person.closed_by_id = None
        person.closure_decided_by_name = NOT_RECORDED
        person.save(
            update_fields=[
                "closed_by",
                "closure_decided_by_name",
                "closure_imported_at",
                "closure_imported_by",
            ]
        )
    _deferred_checks_now(schema_editor)


def imported_closures_back(apps: Any, schema_editor: Any) -> None:
    """Going back, the old constraint wants an account in ``closed_by``: the importer again,
    as before this migration."""
    Participant = apps.get_model("participants", "Participant")
    Participant.objects.filter(closed_by__isnull=True, closure_imported_by__isnull=False).update(
        closed_by=models.F("closure_imported_by")
    )
    _deferred_checks_now(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("participants", "0008_departed_is_adverse"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="participant",
            name="adverse_closure_needs_a_person_and_a_note",
        ),
        migrations.AddField(
            model_name="participant",
            name="closure_decided_by_name",
            field=models.CharField(
                blank=True,
                help_text="Who decided an imported closure, as recorded there.",
                max_length=150,
            ),
        ),
        migrations.AddField(
            model_name="participant",
            name="closure_decided_by_office",
            field=models.CharField(
                blank=True, help_text="Where that person worked (office or agency).", max_length=150
            ),
        ),
        migrations.AddField(
            model_name="participant",
            name="closure_imported_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="participant",
            name="closure_imported_by",
            field=models.ForeignKey(
                blank=True,
                help_text="Who imported a closure decided elsewhere (not its decider).",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(imported_closures_reattributed, imported_closures_back),
    ]
