"""Demo data for messaging: the shipped templates, a history of sent and delivered
notices, a few replies (some waiting in the officers' inboxes) and opt-outs. Bulk-inserted,
deterministic from ``seed_value``; no message leaves the machine (the demo's provider is the
console, and every seeded number is in the 555-01XX fiction range)."""

from __future__ import annotations

import datetime as dt
import random

from ontrack.accounts.models import Program
from ontrack.messaging.models import (
    InboundAction,
    InboundMessage,
    Message,
    MessageStatus,
    OptOut,
    Template,
)
from ontrack.messaging.services import hearing_reminders_sync, template_render, templates_install
from ontrack.participants.models import Participant, Status

REPLIES = {
    "es": [
        ("Sí", InboundAction.CONFIRM, False),
        ("No tengo transporte el martes, ¿puedo ir el jueves?", InboundAction.NONE, True),
    ],
    "ht": [
        ("Wi", InboundAction.CONFIRM, False),
        ("Mwen malad jodi a, mwen pa ka vini.", InboundAction.NONE, True),
    ],
    "pt": [
        ("SIM", InboundAction.CONFIRM, False),
        ("Mudei de endereço, como atualizo?", InboundAction.NONE, True),
    ],
    "fr": [
        ("Oui", InboundAction.CONFIRM, False),
        ("Je dois changer mon rendez-vous.", InboundAction.NONE, True),
    ],
    "en": [
        ("YES", InboundAction.CONFIRM, False),
        ("Running 10 minutes late, sorry", InboundAction.NONE, True),
    ],
}
UNREACHABLE = "carrier reported the handset unreachable"


def seed(*, program: Program, seed_value: int, now: dt.datetime) -> None:
    templates_install()
    rng = random.Random(seed_value + 5)
    templates = {t.key: t for t in Template.objects.prefetch_related("bodies")}
    people = list(
        Participant.objects.filter(program=program)
        .exclude(status=Status.CLOSED)
        .select_related("office", "program")
        .prefetch_related("phones")
        .order_by("pk")
    )
    sample = [p for p in people if rng.random() < 0.15 and p.phones.all()]
    messages: list[Message] = []
    inbound: list[InboundMessage] = []
    for p in sample:
        number = p.phones.all()[0].number
        when = now + dt.timedelta(days=rng.randint(1, 14), hours=rng.randint(0, 6))
        sent_at = now - dt.timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 600))
        for key, context in (
            (
                "appointment_reminder",
                {"when": when, "place": p.office.name, "purpose": "Plan review"},
            ),
            ("checkin_received", {"reference": f"C{rng.randint(100000, 999999)}"}),
        ):
            rendered = template_render(templates[key], p, context)
            status = rng.choices(
                [MessageStatus.DELIVERED, MessageStatus.SENT, MessageStatus.UNDELIVERED],
                weights=[90, 7, 3],
            )[0]
            messages.append(
                Message(
                    participant=p, to=number, template_key=key, language=rendered.language,
                    body=rendered.body, purpose=templates[key].purpose, cause="demo history",
                    status=status, created_at=sent_at, send_at=sent_at, status_at=sent_at,
                    sent_at=sent_at, attempts=1, provider="console",
                    provider_message_id=f"demo-{p.pk}-{key}",
                    status_reason=UNREACHABLE if status == MessageStatus.UNDELIVERED else "",
                )
            )  # fmt: skip
        replies = REPLIES.get(p.preferred_language, REPLIES["en"])
        body, action, needs_answer = replies[rng.randrange(len(replies))]
        inbound.append(
            InboundMessage(
                participant=p, provider="console", provider_message_id=f"demo-in-{p.pk}",
                from_number=number, body=body, received_at=sent_at + dt.timedelta(minutes=12),
                action=action, needs_answer=needs_answer,
            )
        )  # fmt: skip
    Message.objects.bulk_create(messages, batch_size=1000)
    InboundMessage.objects.bulk_create(inbound, batch_size=1000, ignore_conflicts=True)
    opted = [p for p in sample if rng.random() < 0.05]
    OptOut.objects.bulk_create(
        [
            OptOut(participant=p, since=now - dt.timedelta(days=3), source="keyword STOP")
            for p in opted
        ],
        ignore_conflicts=True,
    )
    hearing_reminders_sync(now=now)
