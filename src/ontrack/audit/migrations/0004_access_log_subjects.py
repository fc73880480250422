"""The access log's index of whom each entry is about (``AccessLogSubject``), filled from
the entries already written: the participant an entry names, every id of a list's
``',12,34,'`` text, and the participant who read their own data. One ``INSERT ... SELECT``
each, in the database, so that millions of entries take seconds; the list's text is split
by the database's own means (PostgreSQL's ``string_to_array``, SQLite's ``json_each``)."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

# Each SELECT gives (entry, participant id, time) rows; the list's text is split per database.
NAMED = "SELECT id, participant_id, at FROM {entry} WHERE participant_id IS NOT NULL"
LISTED = {
    "postgresql": "SELECT e.id, CAST(listed AS bigint), e.at FROM {entry} e, "
    "unnest(string_to_array(trim(both ',' from e.participant_ids), ',')) AS listed "
    "WHERE e.participant_ids <> ''",
    "sqlite": "SELECT e.id, listed.value, e.at FROM {entry} e, "
    "json_each('[' || trim(e.participant_ids, ',') || ']') AS listed "
    "WHERE e.participant_ids <> ''",
}
READER = (
    "SELECT id, reader_participant_id, at FROM {entry} WHERE reader_participant_id IS NOT NULL "
    "AND (participant_id IS NULL OR participant_id <> reader_participant_id) "
    "AND participant_ids NOT LIKE '%,' || CAST(reader_participant_id AS TEXT) || ',%'"
)


def subjects_backfilled(apps: Any, schema_editor: Any) -> None:
    quote = schema_editor.quote_name
    entry = quote(apps.get_model("audit", "AccessLogEntry")._meta.db_table)
    subject = quote(apps.get_model("audit", "AccessLogSubject")._meta.db_table)
    for select in (NAMED, LISTED[schema_editor.connection.vendor], READER):
        schema_editor.execute(
            f"INSERT INTO {subject} (entry_id, subject_id, at) {select.format(entry=entry)}",
            params=None,  # no parameters: the '%' of LIKE is the pattern's, not a placeholder
        )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_list_entries_and_participant_readers"),
    ]

    operations = [
        migrations.AlterField(
            model_name="accesslogentry",
            name="participant_ids",
            field=models.TextField(
                blank=True,
                default="",
                help_text="A list's entry: every participant it showed, in order, as ',12,34,'.",
            ),
        ),
        migrations.CreateModel(
            name="AccessLogSubject",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("subject_id", models.BigIntegerField()),
                ("at", models.DateTimeField()),
                (
                    "entry",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="audit.accesslogentry",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["subject_id", "at", "entry"], name="accesslog_subject_at")
                ],
            },
        ),
        migrations.RunPython(subjects_backfilled, migrations.RunPython.noop, elidable=True),
    ]
