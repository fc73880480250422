"""The zone set version row and the triggers that change it (``models.ZoneSetVersion``)."""

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def _new_version(vendor: str) -> str:
    """What a trigger runs: a new random version (the row is made again if a test's flush,
    or a person, removed it)."""
    draw = "(random() * 9e18)::bigint" if vendor == "postgresql" else "random()"
    return (
        f"INSERT INTO zones_zonesetversion (id, version) VALUES (1, {draw}) "  # noqa: S608
        f"ON CONFLICT (id) DO UPDATE SET version = {draw}"
    )


# (trigger name, event, table); SQLite triggers run per row, PostgreSQL's per statement.
_TRIGGERS = [
    (f"{name}_bumps_zone_set", event, table)
    for name, event, table in [
        ("zones_zone_ins", "INSERT", "zones_zone"),
        ("zones_zone_upd", "UPDATE", "zones_zone"),
        ("zones_zone_del", "DELETE", "zones_zone"),
        ("zones_attached_ins", "INSERT", "zones_zone_attached"),
        ("zones_attached_upd", "UPDATE", "zones_zone_attached"),
        ("zones_attached_del", "DELETE", "zones_zone_attached"),
        ("zones_participant_tz", "UPDATE OF time_zone", "participants_participant"),
    ]
]
TRIGGER_NAMES = [name for name, _, _ in _TRIGGERS]


def triggers_create(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    execute = schema_editor.execute
    vendor = schema_editor.connection.vendor
    execute("INSERT INTO zones_zonesetversion (id, version) VALUES (1, 0)")
    if vendor == "postgresql":
        execute(
            "CREATE FUNCTION zones_zone_set_bump() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {_new_version(vendor)}; RETURN NULL; END $$"
        )
        action = "FOR EACH STATEMENT EXECUTE FUNCTION zones_zone_set_bump()"
    else:
        action = f"BEGIN {_new_version(vendor)}; END"
    for name, event, table in _TRIGGERS:
        execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} {action}")


def triggers_drop(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    postgresql = schema_editor.connection.vendor == "postgresql"
    for name, _, table in _TRIGGERS:
        on_table = f" ON {table}" if postgresql else ""
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}{on_table}")
    if postgresql:
        schema_editor.execute("DROP FUNCTION IF EXISTS zones_zone_set_bump()")


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0016_participant_office_officer_id"),
        ("zones", "0005_zone_clock_per_participant"),
    ]

    operations = [
        migrations.CreateModel(
            name="ZoneSetVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("version", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(triggers_create, triggers_drop),
    ]
