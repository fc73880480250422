"""Demo data for messaging: the shipped templates and 90 days of conversations.

Appointment reminders, check-in reminders and check-in receipts went out in each person's
language; most were delivered, a few have no receipt, a few were undelivered or failed at
the carrier. People answered: CONFIRM and its translations (answered automatically), a
request to change the appointment, HELP, STOP (which opted them out), and free text, which
the officer answered in the person's language; the last few days' free text still waits in
the officers' inboxes. Bulk-inserted, deterministic from ``seed_value``; no message leaves
the machine (the demo's provider is the console, and every seeded number is in the 555-01XX
fiction range).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Sequence

from django.db import transaction

from ontrack.accounts.models import Program
from ontrack.batches import in_batches
from ontrack.messaging.models import (
    InboundAction,
    InboundMessage,
    Message,
    MessageStatus,
    OptOut,
    Template,
)
from ontrack.messaging.services.reminders import hearing_anchor, reminders_sync
from ontrack.messaging.services.templates import template_render, templates_install
from ontrack.participants.models import Hearing, Participant, Status

HISTORY_DAYS = 90
CONVERSING_SHARE = 0.45  # open cases with a phone whose texts are seeded
KEYWORDS: dict[str, dict[str, str]] = {
    InboundAction.CONFIRM: {"en": "YES", "es": "Sí", "pt": "SIM", "ht": "Wi", "fr": "Oui"},
    InboundAction.RESCHEDULE: {
        "en": "CHANGE",
        "es": "CAMBIAR",
        "pt": "REMARCAR",
        "ht": "CHANJE",
        "fr": "CHANGER",
    },
    InboundAction.HELP: {"en": "HELP", "es": "AYUDA", "pt": "AJUDA", "ht": "ÈD", "fr": "AIDE"},
    InboundAction.STOP: {"en": "STOP", "es": "PARAR", "pt": "PARAR", "ht": "SISPANN", "fr": "STOP"},
}
# The automatic answer to each keyword.
ANSWERS: dict[str, str] = {
    InboundAction.CONFIRM: "confirm_received",
    InboundAction.RESCHEDULE: "reschedule_received",
    InboundAction.HELP: "help_reply",
    InboundAction.STOP: "stop_confirmed",
}
FREE_TEXT = {
    "es": [
        "No tengo transporte el martes, ¿puedo ir el jueves?",
        "Cambié de número, este es el nuevo.",
        "Mi hijo está enfermo, ¿puedo registrarme más tarde?",
    ],
    "ht": ["Mwen malad jodi a, mwen pa ka vini.", "Eske mwen ka vini demen maten?"],
    "pt": ["Mudei de endereço, como atualizo?", "Posso ir na sexta de manhã?"],
    "fr": ["Je dois changer mon rendez-vous.", "Mon téléphone ne prend pas la photo."],
    "en": [
        "Running 10 minutes late, sorry",
        "The app will not open the camera, what do I do?",
        "I start a new job Monday, can my check-in be after 6?",
    ],
}
OFFICER_ANSWERS: dict[str, str] = {
    "es": "Gracias por avisar. Puede venir el jueves a las 10:00; se lo confirmo por mensaje.",
    "ht": "Mèsi paske ou avèti nou. Ou ka vini demen a 10:00.",
    "pt": "Obrigado pelo aviso. Pode vir na sexta às 10:00.",
    "fr": "Merci de nous prévenir. Vous pouvez venir vendredi à 10 h.",
    "en": "Thanks for letting us know. That works; I have noted it on your record.",
}
PORTAL_LINK = "https://ontrack.example.org/me/"
UNREACHABLE = "carrier reported the handset unreachable"
FAILED = "carrier rejected the number: not in service"
STATUS_MIX = [
    (MessageStatus.DELIVERED, 91),
    (MessageStatus.SENT, 5),
    (MessageStatus.UNDELIVERED, 3),
    (MessageStatus.FAILED, 1),
]


def _pick(rng: random.Random, mix: Sequence[tuple[str, int]]) -> str:
    values, weights = zip(*mix, strict=True)
    return rng.choices(values, weights=weights)[0]


class _Writer:
    """Collects the rows of one seeding run; message ids stay unique across it and across
    runs (``ontrack seed --into-existing`` may seed a database seeded before)."""

    def __init__(self, rng: random.Random, templates: dict[str, Template]) -> None:
        self.rng, self.templates = rng, templates
        self.run = secrets.token_hex(4)
        self.messages: list[Message] = []
        self.inbound: list[InboundMessage] = []
        self.opted: list[OptOut] = []

    def send(
        self,
        p: Participant,
        number: str,
        key: str,
        at: dt.datetime,
        context: dict[str, object] | None = None,
        *,
        status: str | None = None,
    ) -> Message:
        template = self.templates[key]
        rendered = template_render(template, p, context or {})
        status = status or _pick(self.rng, STATUS_MIX)
        reasons: dict[str, str] = {
            MessageStatus.UNDELIVERED: UNREACHABLE,
            MessageStatus.FAILED: FAILED,
        }
        reason = reasons.get(status, "")
        message = Message(
            participant=p, to=number, template_key=key, language=rendered.language,
            body=rendered.body, purpose=template.purpose, essential=template.essential,
            cause="demo history", status=status, status_reason=reason,
            error_code="30005" if status == MessageStatus.FAILED else "",
            created_at=at, send_at=at, status_at=at + dt.timedelta(seconds=self.rng.randint(2, 40)),
            sent_at=at, attempts=1, provider="console",
            provider_message_id=f"demo-{self.run}-{len(self.messages) + 1}",
        )  # fmt: skip
        self.messages.append(message)
        return message

    def receive(
        self, p: Participant, number: str, body: str, action: str, at: dt.datetime, now: dt.datetime
    ) -> InboundMessage:
        needs_answer = action == InboundAction.NONE
        answered = needs_answer and at < now - dt.timedelta(days=3)
        inbound = InboundMessage(
            participant=p, provider="console",
            provider_message_id=f"demo-in-{self.run}-{len(self.inbound) + 1}", from_number=number,
            body=body, received_at=at, action=action,
            needs_answer=needs_answer and not answered,
            answered_at=at + dt.timedelta(hours=self.rng.uniform(0.2, 20)) if answered else None,
            answered_by_id=p.officer_id if answered else None,
        )  # fmt: skip
        self.inbound.append(inbound)
        return inbound


def seed(*, program: Program, seed_value: int, now: dt.datetime) -> None:
    templates_install()
    rng = random.Random(seed_value + 5)
    templates = {t.key: t for t in Template.objects.prefetch_related("bodies")}
    people = list(
        Participant.objects.filter(program=program)
        .exclude(status=Status.CLOSED)
        .exclude(messages__isnull=False)
        .select_related("office", "program")
        .prefetch_related("phones")
        .order_by("pk")
    )
    writer = _Writer(rng, templates)
    for p in people:
        if rng.random() >= CONVERSING_SHARE or not p.phones.all():
            continue
        _conversation(writer, p, p.phones.all()[0].number, now)
    Message.objects.bulk_create(writer.messages, batch_size=1000)
    InboundMessage.objects.bulk_create(writer.inbound, batch_size=1000, ignore_conflicts=True)
    OptOut.objects.bulk_create(writer.opted, ignore_conflicts=True)
    _seeded_hearings_reminded(now)


def _seeded_hearings_reminded(now: dt.datetime) -> None:
    """Queue the reminders of the hearings of the next eight days: the seed writes hearings
    in bulk, not through ``participants.services``, so no listener heard of them."""
    hearings = Hearing.objects.filter(
        scheduled_at__gt=now, scheduled_at__lte=now + dt.timedelta(days=8)
    )
    for hearing in in_batches(hearings):
        with transaction.atomic():
            reminders_sync(hearing_anchor(hearing))


def _conversation(w: _Writer, p: Participant, number: str, now: dt.datetime) -> None:
    """One person's texts of the last ``HISTORY_DAYS`` days, oldest first."""
    rng = w.rng
    language = p.preferred_language if p.preferred_language in FREE_TEXT else "en"
    start = max(p.enrolled_at, now - dt.timedelta(days=HISTORY_DAYS))
    span = (now - start).total_seconds()
    if span < 86_400:
        return
    stop_at = now - dt.timedelta(days=rng.uniform(1, 30)) if rng.random() < 0.03 else None

    def moment() -> dt.datetime:
        at = start + dt.timedelta(seconds=rng.uniform(0, span - 3_600))
        return at.replace(hour=rng.randint(14, 22), minute=rng.randrange(60))

    events = [(moment(), "appointment") for _ in range(rng.randint(1, 3))]
    events += [(moment(), "checkin") for _ in range(rng.randint(2, 8))]
    events += [(moment(), "reminder") for _ in range(rng.randint(0, 3))]
    if rng.random() < 0.05:
        events.append((moment(), "help"))
    if rng.random() < 0.06:  # a question from the last few days, still in the inbox
        events.append((now - dt.timedelta(hours=rng.uniform(1, 60)), "question"))
    for at, what in sorted(events):
        if at >= now or (stop_at is not None and at > stop_at):
            continue
        if what == "appointment":
            when = at + dt.timedelta(days=rng.choice([1, 3]), hours=rng.randint(0, 3))
            context = {"when": when, "place": p.office.name, "purpose": "Routine check-in"}
            message = w.send(p, number, "appointment_reminder", at, context)
            if message.status != MessageStatus.DELIVERED or rng.random() > 0.4:
                continue
            reply_at = at + dt.timedelta(minutes=rng.uniform(3, 240))
            action = rng.choices(
                [InboundAction.CONFIRM, InboundAction.RESCHEDULE, InboundAction.NONE],
                weights=[70, 15, 15],
            )[0]
            body = (
                rng.choice(FREE_TEXT[language])
                if action == InboundAction.NONE
                else KEYWORDS[action][language]
            )
            _answer(w, p, number, body, action, reply_at, now)
        elif what == "checkin":
            reference = f"CK-{rng.randrange(32**6):06X}"[:9]
            w.send(p, number, "checkin_received", at, {"reference": reference})
        elif what == "reminder":
            until = at + dt.timedelta(hours=rng.randint(2, 6))
            context = {"until": until, "link": PORTAL_LINK}
            w.send(p, number, "checkin_reminder", at, context)
        elif what == "question":
            _answer(w, p, number, rng.choice(FREE_TEXT[language]), InboundAction.NONE, at, now)
        elif what == "help":
            help_word = KEYWORDS[InboundAction.HELP][language]
            _answer(w, p, number, help_word, InboundAction.HELP, at, now)
    if stop_at is not None:
        stop_word = KEYWORDS[InboundAction.STOP][language]
        _answer(w, p, number, stop_word, InboundAction.STOP, stop_at, now)
        w.opted.append(OptOut(participant=p, since=stop_at, source="keyword STOP"))


def _answer(
    w: _Writer,
    p: Participant,
    number: str,
    body: str,
    action: str,
    at: dt.datetime,
    now: dt.datetime,
) -> None:
    """A reply received and what answered it: the automatic answer to a keyword, or the
    officer's own text (free text older than a few days; newer waits in the inbox)."""
    if at >= now:
        return
    inbound = w.receive(p, number, body, action, at, now)
    if action in ANSWERS:
        w.send(p, number, ANSWERS[action], at + dt.timedelta(seconds=w.rng.randint(2, 20)),
               status=MessageStatus.DELIVERED)  # fmt: skip
    elif inbound.answered_at is not None:
        language = p.preferred_language if p.preferred_language in OFFICER_ANSWERS else "en"
        w.messages.append(
            Message(
                participant=p, to=number, language=language, body=OFFICER_ANSWERS[language],
                purpose="Officer's reply to the participant", cause="reply to an inbound text",
                status=MessageStatus.DELIVERED, created_at=inbound.answered_at,
                send_at=inbound.answered_at, status_at=inbound.answered_at,
                sent_at=inbound.answered_at,
                attempts=1, provider="console",
                provider_message_id=f"demo-{w.run}-{len(w.messages) + 1}",
                sent_by_id=p.officer_id,
            )
        )  # fmt: skip
