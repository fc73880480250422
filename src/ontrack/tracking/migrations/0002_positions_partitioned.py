"""On PostgreSQL, replace the plain positions table by one partitioned by day.

SQLite keeps the plain table that 0001 created. The partitioned table has the same columns,
primary key and index names as the model, so Django's state and later migrations still
match it. The table is empty at this point, so it is simply recreated.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

# The model's columns and primary key, shared by the partitioned and the plain table.
COLUMNS = """
    "device_id" bigint NOT NULL,
    "participant_id" bigint NULL,
    "time" timestamp with time zone NOT NULL,
    "lat" double precision NOT NULL,
    "lon" double precision NOT NULL,
    "accuracy_m" double precision NULL,
    "speed_kmh" double precision NULL,
    "course" double precision NULL,
    "altitude_m" double precision NULL,
    "satellites" smallint NULL,
    "valid" boolean NOT NULL,
    "received_at" timestamp with time zone NOT NULL,
    PRIMARY KEY ("device_id", "time")
"""

CREATE = f"""
DROP TABLE "tracking_position";
CREATE TABLE "tracking_position" ({COLUMNS}) PARTITION BY RANGE ("time");
CREATE TABLE "tracking_position_default" PARTITION OF "tracking_position" DEFAULT;
"""

PLAIN = f"""
DROP TABLE "tracking_position";
CREATE TABLE "tracking_position" ({COLUMNS});
"""


def _run(schema_editor: Any, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            schema_editor.execute(statement)


def partition(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        _run(schema_editor, CREATE)


def unpartition(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        _run(schema_editor, PLAIN)


class Migration(migrations.Migration):
    dependencies = [("tracking", "0001_initial")]

    operations = [migrations.RunPython(partition, unpartition, elidable=False)]
