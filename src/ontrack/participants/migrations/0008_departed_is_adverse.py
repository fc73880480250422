"""The adverse-closure constraint now covers "departed / removed" too (rows fixed in 0007)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0007_departed_closures_named"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="participant",
            name="adverse_closure_needs_a_person_and_a_note",
        ),
        migrations.AddConstraint(
            model_name="participant",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("closure_reason__in", ["absconded", "departed", "detained"]),
                        _negated=True,
                    ),
                    models.Q(
                        ("closed_by__isnull", False), models.Q(("closure_note", ""), _negated=True)
                    ),
                    _connector="OR",
                ),
                name="adverse_closure_needs_a_person_and_a_note",
            ),
        ),
    ]
