"""Leave half of each zone-state page free on PostgreSQL, so the per-batch update of
``last_fix_at`` (every slot of every participant in a stored batch) is a HOT update: the
new row version goes on the same page and no index is touched. At the default fill factor
of 100 every such update wrote a new tuple on another page and new entries in every index:
measured with ``bench/ingest.py --quick --zones --postgres``, ingest with zones went from
72.9 % slower than without to no slower (bench/RESULTS.md). Pages written before this
migration keep their layout until the table is rewritten (``VACUUM FULL zones_zonestate``
at a quiet hour). SQLite has no such setting and needs none."""

from typing import Any

from django.db import migrations


def fill_half(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE zones_zonestate SET (fillfactor = 50)")


def fill_full(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE zones_zonestate RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("zones", "0003_zone_consecutive_fixes")]

    operations = [migrations.RunPython(fill_half, fill_full)]
