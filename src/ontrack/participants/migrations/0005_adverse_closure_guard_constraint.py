"""The constraint in a migration of its own: on PostgreSQL, adding it in the transaction
that filled ``closed_by`` would meet that update's pending foreign-key trigger events."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0004_closed_by_and_adverse_closure_guard"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="participant",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("closure_reason__in", ["absconded", "detained"]), _negated=True),
                    models.Q(
                        ("closed_by__isnull", False), models.Q(("closure_note", ""), _negated=True)
                    ),
                    _connector="OR",
                ),
                name="adverse_closure_needs_a_person_and_a_note",
            ),
        ),
    ]
