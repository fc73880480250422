"""The closure constraints with imported deciders (rows brought in line in 0009)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0009_imported_closure_decider"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="participant",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("closure_reason__in", ["absconded", "departed", "detained"]), _negated=True
                    ),
                    models.Q(
                        models.Q(
                            ("closed_by__isnull", False),
                            models.Q(("closure_decided_by_name", ""), _negated=True),
                            _connector="OR",
                        ),
                        models.Q(("closure_note", ""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="adverse_closure_needs_a_person_and_a_note",
            ),
        ),
        migrations.AddConstraint(
            model_name="participant",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("closure_decided_by_name", ""),
                    models.Q(
                        ("closed_by__isnull", True),
                        ("closure_imported_at__isnull", False),
                        ("closure_imported_by__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="closure_outside_decider_only_by_import",
            ),
        ),
    ]
