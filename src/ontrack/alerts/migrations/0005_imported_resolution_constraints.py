"""The resolution constraints with imported resolvers (rows brought in line in 0004)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0004_imported_resolution_resolver"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("disposition", "confirmed_violation"), _negated=True),
                    models.Q(
                        models.Q(
                            ("resolved_by__isnull", False),
                            models.Q(("resolved_by_name", ""), _negated=True),
                            _connector="OR",
                        ),
                        models.Q(("resolution_note", ""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="violation_needs_a_person_and_a_note",
            ),
        ),
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("resolved_by_name", ""),
                    models.Q(
                        ("resolved_by__isnull", True),
                        ("resolution_imported_at__isnull", False),
                        ("resolution_imported_by__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="alert_outside_resolver_only_by_import",
            ),
        ),
    ]
