"""Bulk-message fan-out: seconds to expand a bulk message into personalised outbox rows,
against a raw bulk insert of the same rows; then messages/s through the sender to a
provider that accepts instantly.

    uv run python bench/fanout.py            # 100,000 participants in 5 languages
    uv run python bench/fanout.py --quick    # 20,000 participants (under a minute)

Participants (bulk-inserted once into bench/var/fanout-N and reused) speak English,
Spanish, Portuguese, Haitian Creole and French in turn, in three time zones, each with a
phone. The bulk message is the shipped ``office_closure`` notice with a date, sent by a
supervisor who sees everyone: ``broadcast_create`` (audience count, access log) then the
expansion task's work (``broadcast_expand``: per chunk, the audience query, phones and
opt-outs, rendering each message in its reader's language with the date in their words,
the segment count, and one executemany insert). Quiet hours are off so every row is due.

Baseline (same run): the same rows, already built, inserted with one executemany into a
copy of the table: the cost of the writes alone. ``ratio`` is the baseline's time over the
expansion's (1.0 would mean building and personalising the messages cost nothing).
Target: 100,000 personalised messages queued in under 10 s on SQLite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

LANGUAGES = ("en", "es", "pt", "ht", "fr")
ZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles")


def _setup(participants: int) -> None:
    home = HERE / "var" / f"fanout-{participants}"
    os.environ["ONTRACK_HOME"] = str(home)
    os.environ.pop("ONTRACK_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "ontrack.settings"
    os.environ.setdefault("ONTRACK_LOG_LEVEL", "WARNING")
    os.environ["ONTRACK_MESSAGING_QUIET_HOURS"] = ""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _people(participants: int) -> object:
    """The supervisor who sends; participants are inserted once and kept."""
    from django.db import transaction
    from django.utils import timezone

    from ontrack.accounts.models import Role, User
    from ontrack.accounts.services import office_create, program_get_or_create, user_create
    from ontrack.participants.models import Participant, Phone

    program = program_get_or_create(name="Bench", default_language="en")
    office = program.offices.first() or office_create(
        program=program,
        name="Bench Office",
        time_zone="America/New_York",
        address="1 Main St, Newark, NJ",
        phone="+19735550100",
    )
    user = User.objects.filter(username="bench-supervisor").first() or user_create(
        username="bench-supervisor",
        password="bench-password-1234",
        role=Role.SUPERVISOR,
        office=office,
        validate=False,
    )
    have = Participant.objects.count()
    now = timezone.now()
    batch = 5000
    for start in range(have, participants, batch):
        with transaction.atomic():
            rows = [
                Participant(
                    program=program, office=office, officer=None, case_number=f"B{n:07d}",
                    given_name=f"Name{n}", family_name=f"Family{n}",
                    date_of_birth=dt.date(1990, 1, 1), preferred_language=LANGUAGES[n % 5],
                    time_zone=ZONES[n % 3], status="active", enrolled_at=now,
                )
                for n in range(start, min(participants, start + batch))
            ]  # fmt: skip
            created = Participant.objects.bulk_create(rows)
            Phone.objects.bulk_create(
                Phone(
                    participant_id=p.pk,
                    number=f"+1973{5550000 + (p.pk % 10000):07d}",
                    is_primary=True,
                )
                for p in created
            )
    return user


class InstantProvider:
    """Accepts every message at once, as a provider with no latency would."""

    name = "instant"
    can_lookup = True

    def send(self, message: Any) -> str:
        return f"instant-{message.idempotency_key}"

    def lookup(self, message: object) -> object:
        from ontrack.messaging.providers.base import Lookup

        return Lookup(accepted=False)

    def close(self) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--participants", type=int)
    args = parser.parse_args()
    participants = args.participants or (20_000 if args.quick else 100_000)
    _setup(participants)

    from django.conf import settings
    from django.db import connection, transaction

    from ontrack.messaging import providers
    from ontrack.messaging.broadcasts import (
        _COLUMNS,
        AudienceFilter,
        broadcast_create,
        broadcast_expand,
        broadcast_preview,
    )
    from ontrack.messaging.models import Message, Template
    from ontrack.messaging.outbox import Sender

    started = time.perf_counter()
    user = _people(participants)
    print(f"participants ready in {time.perf_counter() - started:.1f} s", flush=True)
    Message.objects.all().delete()
    template = Template.objects.get(key="office_closure")
    shown: dict[str, Any] = {
        "user": user,
        "f": AudienceFilter(),
        "template": template,
        "context": {"date": "2026-12-24"},
    }
    token = broadcast_preview(**shown).token

    started = time.perf_counter()
    broadcast = broadcast_create(**shown, purpose="bench: office closed", preview_token=token)
    broadcast.status = "expanding"
    broadcast.save(update_fields=["status"])
    broadcast_expand(broadcast.pk)
    expand_s = time.perf_counter() - started
    written = Message.objects.filter(broadcast=broadcast).count()
    sample = Message.objects.filter(broadcast=broadcast, language="ht").first()
    print(f"expanded {written:,} messages in {expand_s:.2f} s ({written / expand_s:,.0f}/s)")
    if sample is not None:
        print(f"sample [ht]: {sample.body}")

    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in _COLUMNS)
    rows = list(Message.objects.filter(broadcast=broadcast).values_list(*_COLUMNS))
    adapt = connection.ops.adapt_datetimefield_value
    rows = [tuple(adapt(v) if isinstance(v, dt.datetime) else v for v in row) for row in rows]
    rows = [(*row[:20], f"copy{i}", *row[21:]) for i, row in enumerate(rows)]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_message_copy")
        cursor.execute(
            f"CREATE TABLE bench_message_copy AS SELECT {columns} "
            "FROM messaging_message WHERE 0 = 1"
        )
    marks = ", ".join(["%s"] * len(_COLUMNS))
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO bench_message_copy ({columns}) VALUES ({marks})", rows)
    raw_s = time.perf_counter() - started
    print(f"raw insert of the same rows: {raw_s:.2f} s ({len(rows) / raw_s:,.0f}/s)")

    providers.providers_close()
    providers._instances["instant"] = InstantProvider()  # type: ignore[assignment]
    settings.ONTRACK_MESSAGING_PROVIDERS = {"sms": "instant", "email": "instant"}
    settings.ONTRACK_MESSAGING_RATES = {"instant": (1e9, "messages")}
    sender = Sender(threading.Event())
    started = time.perf_counter()
    handed = 0
    while True:
        n = sender.run_once()
        if not n:
            break
        handed += n
    send_s = time.perf_counter() - started
    print(f"sender handed {handed:,} messages to an instant provider in {send_s:.1f} s "
          f"({handed / send_s:,.0f}/s, claim + record included)")  # fmt: skip
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpu, "
        f"Python {platform.python_version()}, SQLite"
    )
    rate = written / expand_s
    baseline = len(rows) / raw_s
    print(
        f"RESULT fanout_messages_queued_per_s={rate:.0f} messages/s "
        f"baseline={baseline:.0f} ratio={rate / baseline:.2f}"
    )


if __name__ == "__main__":
    main()
