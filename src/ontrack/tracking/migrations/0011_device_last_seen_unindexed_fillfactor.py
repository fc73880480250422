"""Make the gateway's per-batch device update a HOT update on PostgreSQL.

``store_batch`` moves ``last_seen_at`` (and the latest fix, battery and charging) of every
device in every batch. The index on ``last_seen_at`` made each such update non-HOT: a new
row version on another page and a new entry in every index of the table, for every
device, every batch (``pg_stat_user_tables.n_tup_hot_upd`` was 0 of ~400,000 updates in
``bench/ingest.py --postgres``). Nothing needs that index: the silence watchdog reads the
last-seen time of every worn device anyway, and sorting the device list by it sorts one
row per device (a top-N sort of the table). Dropping
it, and leaving half of each page free on PostgreSQL so the new row version fits beside
the old one, makes those updates HOT (bench/RESULTS.md). Pages written before keep their
layout until the table is rewritten (``VACUUM FULL tracking_device`` at a quiet hour);
SQLite has no fill factor and needs none.
"""

from typing import Any

from django.db import migrations


def fill_half(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE tracking_device SET (fillfactor = 50)")


def fill_full(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE tracking_device RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("tracking", "0010_device_protocols_meitrack_suntech")]

    operations = [
        migrations.RemoveIndex(model_name="device", name="tracking_de_last_se_04eec6_idx"),
        migrations.RunPython(fill_half, fill_full),
    ]
