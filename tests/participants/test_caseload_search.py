"""Caseload search through its index (an FTS5 trigram table on SQLite, pg_trgm on
PostgreSQL): substrings of names and case numbers, the short-search prefix fallback, and
the index kept right by every insert, update and delete, even after a table rebuild."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import CharField

from ontrack.accounts.actors import SYSTEM
from ontrack.participants import services
from ontrack.participants.models import Participant
from ontrack.participants.queries import CaseloadFilter, caseload_filter
from ontrack.participants.search import FTS_TABLE, TRIGGERS, search_filter, search_index_ensure


def _found(text: str) -> set[str]:
    rows = caseload_filter(Participant.objects.all(), CaseloadFilter(q=text))
    return set(rows.values_list("family_name", flat=True))


@pytest.fixture
def people(make_participant: Callable[..., Participant]) -> dict[str, Participant]:
    return {
        "garcia": make_participant(family_name="García", given_name="María", case_number="AZ-7781"),
        "nunez": make_participant(family_name="Núñez", given_name="José", case_number="BX-1234"),
        "gable": make_participant(family_name="Gable", given_name="Clark", case_number="CQ 55"),
    }


@pytest.mark.django_db
def test_a_substring_anywhere_in_a_name_or_case_number_finds_the_person(
    people: dict[str, Participant],
) -> None:
    assert _found("rcí") == {"García"}  # inside the family name, accents folded
    assert _found("ARI") == {"García"}  # inside the given name, any case
    assert _found("unez jos") == {"Núñez"}  # every word, in any order
    assert _found("maria garc") == {"García"}
    assert _found("7781") == {"García"}  # inside the case number
    assert _found("cq 55") == {"Gable"}  # a case number typed in full, space and all
    assert _found("garcia jose") == set()
    assert _found("zzz") == set()
    assert _found("gar\x00cia") == {"García"}  # a NUL typed in is dropped, not a 500


@pytest.mark.django_db
def test_a_search_shorter_than_a_trigram_is_a_prefix_match(
    people: dict[str, Participant],
) -> None:
    assert _found("ga") == {"García", "Gable"}  # family names that start so
    assert _found("bx") == {"Núñez"}  # a case number that starts so
    assert _found("rc") == set()  # inside a name: too short for the index
    assert _found("garcia m") == {"García"}  # a short word beside a long one still counts
    assert _found("garcia x") == set()


@pytest.mark.django_db
def test_search_is_served_by_the_trigram_index(people: dict[str, Participant]) -> None:
    rows = search_filter(Participant.objects.all(), "arci")
    if connection.vendor == "sqlite":
        plan = rows.explain()
        assert f"SCAN {FTS_TABLE} VIRTUAL TABLE INDEX" in plan, plan
    else:
        with connection.cursor() as cursor:
            # Three rows: any plan is cheap, so rule out a scan of the table or of a sort
            # index, which leaves the bitmap scans the search's indexes offer.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
        plan = rows.explain()
        assert "participant_search_trgm" in plan, plan


@pytest.mark.django_db
def test_the_index_follows_every_insert_update_and_delete(
    people: dict[str, Participant], make_participant: Callable[..., Participant]
) -> None:
    make_participant(family_name="Okonkwo", given_name="Ifeoma")
    assert _found("konkw") == {"Okonkwo"}
    services.participant_update(people["garcia"], actor=SYSTEM, family_name="Herrera")
    assert _found("rcia") == set()
    assert _found("erre") == {"Herrera"}
    Participant.objects.filter(pk=people["nunez"].pk).delete()
    assert _found("unez") == set()
    assert _found("able") == {"Gable"}


def _triggers() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {name for (name,) in cursor.fetchall()} & set(TRIGGERS)


@pytest.mark.django_db(transaction=True)
def test_a_table_rebuild_drops_the_triggers_and_migrate_puts_them_back(
    people: dict[str, Participant], make_participant: Callable[..., Participant]
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("only SQLite rebuilds a table to alter it; the GIN index goes with it")
    assert _triggers() == set(TRIGGERS)
    kept = Participant._meta.get_field("search_text")
    assert isinstance(kept, CharField)
    longer = CharField(max_length=300, editable=False, default="")
    longer.set_attributes_from_name("search_text")
    longer.model = Participant
    with connection.schema_editor() as editor:  # a later AlterField, and back: two rebuilds
        editor.alter_field(Participant, kept, longer)
        editor.alter_field(Participant, longer, kept)
    assert _triggers() == set()
    make_participant(family_name="Okonkwo")  # written while the index is not kept
    call_command("migrate", verbosity=0)
    assert _triggers() == set(TRIGGERS)
    assert search_index_ensure(connection) == []
    assert _found("konkw") == {"Okonkwo"}  # rebuilt from the table
    assert _found("rcía") == {"García"}
    services.participant_update(people["gable"], actor=SYSTEM, family_name="Lombard")
    assert _found("ombar") == {"Lombard"}
    assert _found("able") == set()
