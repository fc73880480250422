"""Substring search of the caseload, served by an index instead of a scan of every row.

A participant's ``search_text`` is "family given case-number", lower-cased and without
accents (``search_fold``). A search matches a case number exactly (case-insensitive), or
every word of it is a substring of ``search_text``: "garcia maria" finds María García.
``LIKE '%garcia%'`` read all 100,000 rows (172 ms); an index of trigrams answers it instead:

- SQLite: an FTS5 table with the trigram tokenizer over ``search_text`` (external content,
  so the text is stored once), kept up to date by triggers on the participants table
  (migration ``0012``). A table rebuild on SQLite (a later ``AlterField``) drops the triggers
  with the old table, so ``search_index_ensure`` runs after every ``migrate`` and puts back
  any that are missing, then rebuilds the index from the table.
- PostgreSQL: ``pg_trgm`` with a GIN index on ``search_text``; ``LIKE '%word%'`` uses it.

A trigram needs three characters: a search shorter than that is a prefix match of the family
name (or the case number), which the sort's own index walk finds in the first few rows.
"""

from __future__ import annotations

import unicodedata

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower

from ontrack.participants.models import Participant

TRIGRAM = 3
FTS_TABLE = "participants_participant_search"
FTS_MATCH = (
    "SELECT rowid FROM participants_participant_search "
    "WHERE participants_participant_search MATCH %s"
)
TRIGGERS = {
    "participants_participant_search_insert": """
        CREATE TRIGGER IF NOT EXISTS participants_participant_search_insert
        AFTER INSERT ON participants_participant BEGIN
            INSERT INTO participants_participant_search(rowid, search_text)
                VALUES (new.id, new.search_text);
        END""",
    "participants_participant_search_delete": """
        CREATE TRIGGER IF NOT EXISTS participants_participant_search_delete
        AFTER DELETE ON participants_participant BEGIN
            INSERT INTO participants_participant_search(
                participants_participant_search, rowid, search_text
            ) VALUES ('delete', old.id, old.search_text);
        END""",
    "participants_participant_search_update": """
        CREATE TRIGGER IF NOT EXISTS participants_participant_search_update
        AFTER UPDATE ON participants_participant BEGIN
            INSERT INTO participants_participant_search(
                participants_participant_search, rowid, search_text
            ) VALUES ('delete', old.id, old.search_text);
            INSERT INTO participants_participant_search(rowid, search_text)
                VALUES (new.id, new.search_text);
        END""",
}
FTS_REBUILD = (
    "INSERT INTO participants_participant_search(participants_participant_search) "
    "VALUES ('rebuild')"
)


def search_fold(text: str) -> str:
    """Lower-case and strip accents, so that "garcia" finds "García" and "jose" "José"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def search_filter(queryset: QuerySet[Participant], text: str) -> QuerySet[Participant]:
    """``queryset`` narrowed to the participants ``text`` finds (see the module's doc)."""
    text = text.replace("\x00", "").strip()  # PostgreSQL refuses NUL in a text parameter
    if not text:
        return queryset
    queryset = queryset.alias(case_lower=Lower("case_number"))
    exact = Q(case_lower=text.lower())
    folded = search_fold(text)
    if len(text) < TRIGRAM:
        prefix = Q(search_text__startswith=folded) | Q(case_lower__startswith=text.lower())
        return queryset.filter(prefix)
    words = folded.split()
    indexed = [word for word in words if len(word) >= TRIGRAM]
    match = Q()
    if indexed and connection.vendor == "sqlite":
        phrases = " AND ".join('"' + word.replace('"', '""') + '"' for word in indexed)
        match &= Q(id__in=RawSQL(FTS_MATCH, [phrases]))  # noqa: S611 (a constant)
        words = [word for word in words if len(word) < TRIGRAM]
    for word in words:  # PostgreSQL's GIN index serves these; on SQLite, the short ones
        match &= Q(search_text__contains=word)
    return queryset.filter(exact | match)


def search_index_ensure(db: BaseDatabaseWrapper) -> list[str]:
    """Put back the SQLite search index's triggers that are missing (a table rebuild drops
    them) and, if any were, rebuild the index from the table. Returns the triggers put back.
    Nothing to do on PostgreSQL, where the GIN index belongs to the table."""
    if db.vendor != "sqlite":
        return []
    with db.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {name for (name,) in cursor.fetchall()}
        if FTS_TABLE not in present:  # not migrated to 0012 yet, or migrated back
            return []
        missing = [name for name in TRIGGERS if name not in present]
        for name in missing:
            cursor.execute(TRIGGERS[name])
        if missing:
            cursor.execute(FTS_REBUILD)
    return missing
