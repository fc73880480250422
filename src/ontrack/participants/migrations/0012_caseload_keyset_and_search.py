"""Indexes for the caseload's keyset pages (one per sort, ending in the id) and for its
substring search: on SQLite an FTS5 trigram table kept up to date by triggers, on
PostgreSQL pg_trgm with a GIN index (``participants.search`` says why).

The SQL is written out here rather than imported, so this migration stays what it was when
the app's modules change; ``participants.search.search_index_ensure`` uses the same trigger
definitions to put back any a later table rebuild dropped.
"""

from collections.abc import Callable

from django.conf import settings
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE participants_participant_search USING fts5(search_text, "
    "content='participants_participant', content_rowid='id', tokenize='trigram')",
    """CREATE TRIGGER IF NOT EXISTS participants_participant_search_insert
    AFTER INSERT ON participants_participant BEGIN
        INSERT INTO participants_participant_search(rowid, search_text)
            VALUES (new.id, new.search_text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS participants_participant_search_delete
    AFTER DELETE ON participants_participant BEGIN
        INSERT INTO participants_participant_search(
            participants_participant_search, rowid, search_text
        ) VALUES ('delete', old.id, old.search_text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS participants_participant_search_update
    AFTER UPDATE ON participants_participant BEGIN
        INSERT INTO participants_participant_search(
            participants_participant_search, rowid, search_text
        ) VALUES ('delete', old.id, old.search_text);
        INSERT INTO participants_participant_search(rowid, search_text)
            VALUES (new.id, new.search_text);
    END""",
    "INSERT INTO participants_participant_search(participants_participant_search) "
    "VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS participants_participant_search_insert",
    "DROP TRIGGER IF EXISTS participants_participant_search_delete",
    "DROP TRIGGER IF EXISTS participants_participant_search_update",
    "DROP TABLE IF EXISTS participants_participant_search",
]
POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS participant_search_trgm ON participants_participant "
    "USING gin (search_text gin_trgm_ops)",
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS participant_search_trgm"]


def _run(
    statements: dict[str, list[str]],
) -> Callable[[StateApps, BaseDatabaseSchemaEditor], None]:
    """Runs the statements for the database's vendor (none for another vendor)."""

    def run(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        for statement in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_second_factor"),
        ("participants", "0011_caseload_import"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="participant",
            name="participant_family__e87d2a_idx",
        ),
        migrations.RemoveIndex(
            model_name="participant",
            name="participant_level_7c2508_idx",
        ),
        migrations.AddIndex(
            model_name="participant",
            index=models.Index(
                fields=["family_name", "given_name", "id"], name="participant_sort_name"
            ),
        ),
        migrations.AddIndex(
            model_name="participant",
            index=models.Index(fields=["case_number", "id"], name="participant_sort_case"),
        ),
        migrations.AddIndex(
            model_name="participant",
            index=models.Index(
                fields=["status", "family_name", "id"], name="participant_sort_status"
            ),
        ),
        migrations.AddIndex(
            model_name="participant",
            index=models.Index(
                fields=["level", "family_name", "id"], name="participant_sort_level"
            ),
        ),
        migrations.AddIndex(
            model_name="participant",
            index=models.Index(fields=["enrolled_at", "id"], name="participant_sort_enrolled"),
        ),
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        ),
    ]
