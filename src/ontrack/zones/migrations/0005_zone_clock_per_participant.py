"""One clock per participant instead of a last fix time on every zone state.

The gateway wrote ``zonestate.last_fix_at`` on every slot of every participant in each
stored batch (three zones each: three row locks and three new row versions per person), the
largest write of a batch on PostgreSQL. The newest time per participant is carried over;
half of each clock page is left free on PostgreSQL so its per-batch update is HOT."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def clocks_from_states(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(
        "INSERT INTO zones_zoneclock (participant_id, last_fix_at) "
        "SELECT participant_id, MAX(last_fix_at) FROM zones_zonestate "
        "WHERE last_fix_at IS NOT NULL GROUP BY participant_id"
    )
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE zones_zoneclock SET (fillfactor = 50)")


def states_from_clocks(apps: Any, schema_editor: Any) -> None:
    schema_editor.execute(
        "UPDATE zones_zonestate SET last_fix_at = (SELECT c.last_fix_at FROM zones_zoneclock c "
        "WHERE c.participant_id = zones_zonestate.participant_id)"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0016_participant_office_officer_id"),
        ("zones", "0004_zone_state_fillfactor"),
    ]

    operations = [
        migrations.CreateModel(
            name="ZoneClock",
            fields=[
                (
                    "participant",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="participants.participant",
                    ),
                ),
                ("last_fix_at", models.DateTimeField()),
            ],
        ),
        migrations.RunPython(clocks_from_states, states_from_clocks),
        migrations.RemoveField(model_name="zonestate", name="last_fix_at"),
    ]
