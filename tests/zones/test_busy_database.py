"""A stored batch's zone check outlasts a database that is busy for a moment: the
positions are stored before it runs, so a check given up would never be made."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from ontrack.tracking.handoff import StoredBatch, StoredFix
from ontrack.zones import services
from ontrack.zones.models import ZoneClock, ZoneState
from tests.zones.conftest import HOME
from tests.zones.test_services import T0, data

pytestmark = pytest.mark.django_db(transaction=True)


def _hold_the_write_lock(taken: threading.Event, seconds: float) -> None:
    """In a connection of this thread's own, what another process's long write does: hold
    the lock on the zone states (SQLite: the database's write lock) for ``seconds``."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute("LOCK TABLE zones_zonestate IN ACCESS EXCLUSIVE MODE")
                else:
                    cursor.execute("UPDATE zones_zonestate SET side = side")
            taken.set()
            threading.Event().wait(seconds)
    finally:
        connections.close_all()


def test_a_zone_check_that_finds_the_database_busy_is_made_once_it_is_free(
    make_participant: Callable[..., Participant], officer: User, caplog: pytest.LogCaptureFixture
) -> None:
    participant = make_participant()
    zone = services.zone_create(actor=officer, participant=participant, data=data())
    taken = threading.Event()
    holder = threading.Thread(target=_hold_the_write_lock, args=(taken, 0.5))
    holder.start()
    assert taken.wait(10), "the other connection took the lock"
    with connection.cursor() as cursor:  # give up waiting at once, not after 30 s
        if connection.vendor == "postgresql":
            cursor.execute("SET lock_timeout = '100ms'")
        else:
            cursor.execute("PRAGMA busy_timeout = 100")
    with caplog.at_level(logging.WARNING, logger="ontrack.zones.services"):
        fix = StoredFix(1, participant.pk, T0, HOME[0], HOME[1], 5.0)
        services.batch_evaluate(StoredBatch(fixes=[fix], events=[]))
    holder.join()
    state = ZoneState.objects.get(participant=participant, zone=zone)
    assert state.side == "inside"
    assert ZoneClock.objects.get(participant=participant).last_fix_at == T0
    assert "found the database busy; trying again" in caplog.text
