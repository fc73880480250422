"""The zone set's version: database triggers change it with every change to who has which
zones, and the gateway's zone engine reads a participant's zones again only when it moved."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ontrack.accounts.models import Office, Role, User
from ontrack.participants.models import Participant
from ontrack.zones import services
from ontrack.zones.models import Zone
from tests.zones.conftest import offset, square

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York, 07:00 in LA
MIGRATION = importlib.import_module("ontrack.zones.migrations.0006_zone_set_version")


class Fix:
    def __init__(self, participant: Participant, minutes: float) -> None:
        self.participant_id: int | None = participant.pk
        self.device_id = 1
        self.time = T0 + timedelta(minutes=minutes)
        self.lat, self.lon = offset(0, 0)
        self.accuracy_m: float | None = 5.0


def _data(**fields: Any) -> services.ZoneData:
    return services.ZoneData(
        **{"name": "Home", "kind": "inclusion", "geometry": square(100), **fields}
    )


def test_the_triggers_are_in_place_after_every_migration() -> None:
    """A later migration that rebuilds one of the tables (SQLite's way to alter a column)
    drops its triggers silently; then a zone edit would never reach the gateways."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        names = {row[0] for row in cursor.fetchall()}
    assert set(MIGRATION.TRIGGER_NAMES) <= names


def test_every_change_to_who_has_which_zones_changes_the_version(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    office: Office,
    officer: User,
) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    participant = make_participant()
    seen = [services._zone_set_version()]

    def changed() -> bool:
        seen.append(services._zone_set_version())
        return seen[-1] != seen[-2]

    own = services.zone_create(actor=officer, participant=participant, data=_data())
    assert changed(), "a zone made"
    services.zone_update(actor=officer, zone=own, data=_data(buffer_m=20.0))
    assert changed(), "a zone edited"
    Zone.objects.filter(pk=own.pk).update(buffer_m=30.0)
    assert changed(), "a zone edited by a bulk update, past the services"
    court = services.zone_create(actor=supervisor, office=office, data=_data(name="Court"))
    assert changed()
    services.zone_attach(actor=supervisor, zone=court, participant=participant)
    assert changed(), "a shared zone attached"
    services.zone_detach(actor=supervisor, zone=court, participant=participant)
    assert changed(), "a shared zone detached"
    services.zone_delete(actor=officer, zone=own)
    assert changed(), "a zone deleted"
    Participant.objects.filter(pk=participant.pk).update(time_zone="America/Los_Angeles")
    assert changed(), "a participant's time zone"
    Participant.objects.filter(pk=participant.pk).update(given_name="Ana")
    assert not changed(), "nothing that decides zones"


def test_a_batch_of_checked_participants_reads_no_zones_until_one_changes(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    participant = make_participant()
    zone = services.zone_create(actor=officer, participant=participant, data=_data())
    services.zone_fixes_evaluate([Fix(participant, 0)])
    with CaptureQueriesContext(connection) as queries:
        services.zone_fixes_evaluate([Fix(participant, 1)])
    assert not [q for q in queries.captured_queries if "zones_zone " in q["sql"]]
    moved = square(100, offset(5_000, 0))
    services.zone_update(actor=officer, zone=zone, data=_data(geometry=moved))
    transitions = services.zone_fixes_evaluate([Fix(participant, 2)])
    assert (zone.pk, "left") in [(t.zone_id, t.kind) for t in transitions]


def test_a_participants_new_time_zone_applies_from_the_next_batch(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    """A curfew in the participant's local time: 08:00-09:00 on weekdays. At T0 it is 10:00 in
    New York (outside it) and 07:00 in Los Angeles (outside it too); an hour later 08:00 in
    Los Angeles, inside it once the time zone is read again."""
    participant = make_participant(time_zone="America/New_York")
    morning = [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "09:00"}]
    services.zone_create(
        actor=officer,
        participant=participant,
        data=_data(kind="exclusion", schedule=morning, consecutive_fixes=1),
    )
    first = services.zone_fixes_evaluate([Fix(participant, 0)])
    assert "violation" not in [t.kind for t in first], "10:00 in New York: no curfew"
    Participant.objects.filter(pk=participant.pk).update(time_zone="America/Los_Angeles")
    transitions = services.zone_fixes_evaluate([Fix(participant, 61)])
    assert "violation" in [t.kind for t in transitions], "08:01 in Los Angeles: curfew"
