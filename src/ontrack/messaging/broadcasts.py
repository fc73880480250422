"""Bulk messages: an audience from the caseload filters, a template, a stated purpose.

Who may send to whom is ``participants_visible_to`` (officers their caseload, supervisors
their office) and nothing wider; operators, administrators and auditors do not send bulk
messages. Each send and each preview of an audience is written to the access log.

Expansion writes the outbox in chunks, each chunk one transaction that also advances the
broadcast's cursor (the last participant id written), so a worker killed mid-expansion
resumes where the last commit left off and writes no one twice. Rows are built as plain
tuples and inserted with one ``executemany`` per chunk: at 100,000 people, building a model
instance per message costs more than rendering the messages does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from ontrack.accounts.models import Office, Role, User
from ontrack.audit.models import AccessAction
from ontrack.audit.services import access_log_record
from ontrack.messaging.datefmt import LANGUAGES as FORMATTED_LANGUAGES
from ontrack.messaging.models import (
    Broadcast,
    BroadcastStatus,
    Channel,
    Message,
    MessageStatus,
    OptOut,
    Recipient,
    Template,
    Traffic,
    new_key,
)
from ontrack.messaging.reminder_time import quiet_end_after
from ontrack.messaging.rendering import render
from ontrack.messaging.segments import count as segment_count
from ontrack.messaging.services.reminders import quiet_hours
from ontrack.participants.models import Participant, Phone, Status
from ontrack.participants.queries import CaseloadFilter, caseload_filter, participants_visible_to
from ontrack.selections import selection_read, selection_sign

logger = logging.getLogger(__name__)

B = BroadcastStatus
BULK_ROLES = frozenset({Role.OFFICER, Role.SUPERVISOR})

# A send acts on what its preview showed (``ontrack.selections``): the same message to the
# same people. The preview's token pins the form and a digest of the audience's ids.
PREVIEW_ACTION = "bulk message"
MESSAGE_CHANGED = (
    "The message or its filters changed since the preview. Nothing was sent. Preview it again."
)
AUDIENCE_CHANGED = (
    "The audience changed since the preview: {then} were shown, {now} match now. Nothing "
    "was sent. Preview it again."
)


def may_send_bulk(user: User) -> bool:
    return user.is_active and user.role in BULK_ROLES


@dataclass(frozen=True, slots=True)
class AudienceFilter(CaseloadFilter):
    """The caseload filters, plus "has a booked appointment between these days" (ISO dates,
    inclusive, in the server's time zone), e.g. everyone due at an office that will close."""

    appointment_from: str = ""
    appointment_to: str = ""


def _day_start(iso_day: str) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(dt.date.fromisoformat(iso_day), dt.time()))


def _audience_of(sender: User, f: AudienceFilter) -> QuerySet[Participant]:
    people = caseload_filter(participants_visible_to(sender), f).exclude(status=Status.CLOSED)
    if f.appointment_from or f.appointment_to:
        booked = Q(appointments__status="booked")
        if f.appointment_from:
            booked &= Q(appointments__starts_at__gte=_day_start(f.appointment_from))
        if f.appointment_to:
            end = _day_start(f.appointment_to) + dt.timedelta(days=1)
            booked &= Q(appointments__starts_at__lt=end)
        people = people.filter(pk__in=Participant.objects.filter(booked).values("pk"))
    return people


def audience(user: User, f: AudienceFilter) -> QuerySet[Participant]:
    """Open cases the user may message that match the filter."""
    if not may_send_bulk(user):
        raise PermissionDenied("Only case officers and supervisors send bulk messages.")
    return _audience_of(user, f)


def _context_values(context: Mapping[str, object]) -> dict[str, object]:
    """Form values as the renderer wants them: ISO dates become dates (written in each
    reader's language)."""
    values: dict[str, object] = {}
    for key, value in context.items():
        if isinstance(value, str):
            try:
                values[key] = dt.date.fromisoformat(value)
                continue
            except ValueError:
                pass
        values[key] = value
    return values


def _bodies(template: Template) -> dict[str, str]:
    return {b.language: b.body for b in template.bodies.all()}


def _pick_language(preferred: str, default: str, bodies: Mapping[str, str]) -> str:
    for language in (preferred, default, "en"):
        if language in bodies:
            return language
    return next(iter(bodies))


def _office_values(office: Office) -> dict[str, object]:
    return {
        "office": office.name,
        "office_phone": office.phone,
        "office_address": " ".join(office.address.split()),
    }


@dataclass(frozen=True)
class Preview:
    total: int
    by_language: list[tuple[str, int]]
    opted_out: int
    sample_language: str
    sample: str
    segments: int
    encoding: str
    token: str  # what ``broadcast_create`` needs to send exactly this


def _shown(f: AudienceFilter, template: Template, context: Mapping[str, object]) -> dict[str, Any]:
    """The form as a preview pins it (JSON values, compared after the round trip)."""
    return {"filter": dataclasses.asdict(f), "template": template.pk, "context": dict(context)}


def _audience_digest(people: QuerySet[Participant]) -> str:
    """Who exactly: a digest of the audience's ids, so a send refuses an audience that gained
    or lost anyone since its preview (a count alone misses one in, one out)."""
    digest = hashlib.sha256()
    for pk in people.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=5000):
        digest.update(pk.to_bytes(8, "big"))
    return digest.hexdigest()


def broadcast_preview(
    *,
    user: User,
    f: AudienceFilter,
    template: Template,
    context: Mapping[str, object],
    request: HttpRequest | None = None,
) -> Preview:
    """How many people, in which languages, and one message as its reader would get it."""
    people = audience(user, f)
    bodies = _bodies(template)
    total = people.count()
    raw = people.values("preferred_language", "program__default_language").annotate(n=Count("id"))
    counts: Counter[str] = Counter()
    for row in raw:
        counts[
            _pick_language(row["preferred_language"], row["program__default_language"], bodies)
        ] += row["n"]
    opted_out = OptOut.objects.filter(participant__in=people).count()
    first = people.select_related("office", "program").order_by("pk").first()
    sample, language = "", "en"
    if first is not None:
        language = _pick_language(first.preferred_language, first.program.default_language, bodies)
        values = {
            "name": first.given_name,
            **_office_values(first.office),
            **_context_values(context),
        }
        fmt = language if language in FORMATTED_LANGUAGES else "en"
        sample = render(bodies[language], values, fmt, ZoneInfo(first.time_zone))
    access_log_record(
        user=user,
        action=AccessAction.LIST,
        what=f"bulk message audience preview ({total} participants)",
        request=request,
    )
    cost = segment_count(sample)
    token = selection_sign(
        user_id=user.pk,
        action=PREVIEW_ACTION,
        ids=[],
        shown=_shown(f, template, context),
        audience=_audience_digest(people),
        total=total,
    )
    return Preview(
        total=total,
        by_language=sorted(counts.items(), key=lambda item: -item[1]),
        opted_out=opted_out,
        sample_language=language,
        sample=sample,
        segments=cost.segments,
        encoding=cost.encoding,
        token=token,
    )


def broadcast_create(
    *,
    user: User,
    f: AudienceFilter,
    template: Template,
    purpose: str,
    context: Mapping[str, str],
    preview_token: str,
    send_at: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Broadcast:
    """Record the bulk send of what ``broadcast_preview`` showed this user (its ``token``):
    the same message to exactly the same people, else nothing is sent and the sender is told
    to preview again. A background task writes its messages at ``send_at`` (now when not
    given). The purpose is stated, never left blank: it is shown in the outbox and the
    access log."""
    if not purpose.strip():
        raise ValidationError({"purpose": "State why these people are being messaged."})
    if not template.bulk:
        raise ValidationError({"template": "This template is not offered for bulk messages."})
    _, previewed = selection_read(user_id=user.pk, action=PREVIEW_ACTION, token=preview_token)
    if previewed.get("shown") != _shown(f, template, context):
        raise ValidationError(MESSAGE_CHANGED)
    now = timezone.now()
    people = audience(user, f)
    size = people.count()
    if size == 0:
        raise ValidationError("No one matches these filters.")
    if _audience_digest(people) != previewed.get("audience"):
        raise ValidationError(AUDIENCE_CHANGED.format(then=previewed.get("total"), now=size))
    with transaction.atomic():
        broadcast = Broadcast.objects.create(
            created_by=user,
            office=user.office,
            template=template,
            purpose=purpose.strip()[:200],
            audience=dataclasses.asdict(f),
            context=dict(context),
            send_at=send_at or now,
            created_at=now,
            audience_size=size,
        )
        access_log_record(
            user=user,
            action=AccessAction.LIST,
            what=f"bulk message {broadcast.pk} to {size} participants: {broadcast.purpose}",
            request=request,
        )
        transaction.on_commit(lambda: broadcasts_start_due(now=timezone.now()))
    logger.info("bulk message created id=%s size=%s by=%s", broadcast.pk, size, user.pk)
    return broadcast


def _may_manage(user: User, broadcast: Broadcast) -> None:
    if broadcast.created_by_id == user.pk:
        return
    if user.role == Role.SUPERVISOR and broadcast.office_id == user.office_id:
        return
    raise PermissionDenied("Only its sender or their supervisor may change this bulk message.")


def broadcast_pause(*, user: User, broadcast: Broadcast) -> None:
    _may_manage(user, broadcast)
    Broadcast.objects.filter(
        pk=broadcast.pk, status__in=[B.SCHEDULED, B.EXPANDING, B.SENDING]
    ).update(status=B.PAUSED)


def broadcast_resume(*, user: User, broadcast: Broadcast) -> None:
    """Back to writing messages if it had not finished, else to sending."""
    _may_manage(user, broadcast)
    finished = broadcast.expanded + broadcast.skipped >= broadcast.audience_size
    Broadcast.objects.filter(pk=broadcast.pk, status=B.PAUSED).update(
        status=B.SENDING if finished else B.SCHEDULED
    )
    transaction.on_commit(lambda: broadcasts_start_due(now=timezone.now()))


def broadcast_cancel(*, user: User, broadcast: Broadcast) -> int:
    """Stop it for good: messages not yet handed to a provider are cancelled. Returns how
    many."""
    _may_manage(user, broadcast)
    now = timezone.now()
    with transaction.atomic():
        Broadcast.objects.filter(pk=broadcast.pk).exclude(status=B.DONE).update(status=B.CANCELLED)
        return Message.objects.filter(
            broadcast=broadcast, status__in=[MessageStatus.QUEUED, MessageStatus.ERRORED]
        ).update(
            status=MessageStatus.CANCELLED, status_reason="bulk message cancelled", status_at=now
        )


def broadcast_progress(broadcast: Broadcast) -> dict[str, int]:
    """Messages per status; marks the broadcast done once nothing is left to send."""
    counts = dict(
        Message.objects.filter(broadcast=broadcast).values_list("status").annotate(n=Count("id"))
    )
    if broadcast.status == B.SENDING and not any(
        counts.get(s) for s in (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.ERRORED)
    ):
        Broadcast.objects.filter(pk=broadcast.pk, status=B.SENDING).update(status=B.DONE)
        broadcast.status = B.DONE
    return {str(k): int(v) for k, v in counts.items()}


# --- expansion --------------------------------------------------------------------------

_COLUMNS = (
    "participant_id", "recipient", "channel", "to", "template_key", "language", "body",
    "segments", "purpose", "cause", "essential", "traffic", "status", "status_reason",
    "error_code", "created_at", "send_at", "status_at", "attempts", "attempt_id",
    "idempotency_key", "provider", "provider_message_id", "broadcast_id", "anchor_key",
)  # fmt: skip


def _insert_sql() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in _COLUMNS)
    marks = ", ".join(["%s"] * len(_COLUMNS))
    # Only our own table and column names are interpolated; values go as parameters.
    return f"INSERT INTO {quote(Message._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608


def expand_chunk(broadcast_id: int, *, chunk: int | None = None) -> bool:
    """Write the next chunk of a broadcast's messages; returns whether more remain."""
    chunk = chunk or settings.ONTRACK_MESSAGING_BULK_CHUNK
    with transaction.atomic():
        broadcast = (
            Broadcast.objects.select_for_update()
            .select_related("template", "created_by")
            .get(pk=broadcast_id)
        )
        if broadcast.status != B.EXPANDING:
            return False
        f = AudienceFilter(**{**broadcast.audience, "sort": "name"})
        people = (
            _audience_of(broadcast.created_by, f)
            .filter(pk__gt=broadcast.last_participant_id)
            .order_by("pk")
        )
        rows = list(
            people.values_list(
                "pk", "given_name", "preferred_language", "time_zone", "office_id", "email",
                "program__default_language",
            )[:chunk]
        )  # fmt: skip
        if not rows:
            broadcast.status = B.SENDING
            broadcast.save(update_fields=["status"])
            return False
        written, skipped = _write_rows(broadcast, rows)
        broadcast.expanded += written
        broadcast.skipped += skipped
        broadcast.last_participant_id = rows[-1][0]
        broadcast.save(update_fields=["expanded", "skipped", "last_participant_id"])
        return True


def _write_rows(
    broadcast: Broadcast, rows: list[tuple[int, str, str, str, int, str, str]]
) -> tuple[int, int]:
    # The chunk is a run of ids in order: a range reads its phones and opt-outs without a
    # 5,000-item IN list (rows of people outside the audience are simply not used).
    first, last = rows[0][0], rows[-1][0]
    numbers: dict[int, str] = {}
    for pid, number in (
        Phone.objects.filter(participant_id__gte=first, participant_id__lte=last)
        .order_by("participant_id", "-is_primary", "id")
        .values_list("participant_id", "number")
    ):
        numbers.setdefault(pid, number)
    opted = set(
        OptOut.objects.filter(participant_id__gte=first, participant_id__lte=last).values_list(
            "participant_id", flat=True
        )
    )
    offices = {o.pk: _office_values(o) for o in Office.objects.filter(pk__in={r[4] for r in rows})}
    template = broadcast.template
    bodies = _bodies(template)
    context = _context_values(broadcast.context)
    quiet = quiet_hours()
    zones: dict[str, tuple[ZoneInfo, Any]] = {}
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    created = adapt(now)
    costs: dict[str, int] = {}
    values: list[tuple[Any, ...]] = []
    skipped = 0
    for pid, given, preferred, tz_name, office_id, email, default in rows:
        if pid in opted:
            skipped += 1
            continue
        number = numbers.get(pid, "")
        channel, to = (Channel.SMS, number) if number else (Channel.EMAIL, email)
        if not to:
            skipped += 1
            continue
        if tz_name not in zones:
            tz = ZoneInfo(tz_name)
            start = quiet_end_after(broadcast.send_at, tz, quiet) if quiet else broadcast.send_at
            zones[tz_name] = (tz, adapt(max(start, broadcast.send_at)))
        tz, send_at = zones[tz_name]
        language = _pick_language(preferred, default, bodies)
        fmt = language if language in FORMATTED_LANGUAGES else "en"
        body = render(bodies[language], {"name": given, **offices[office_id], **context}, fmt, tz)
        segments = costs.get(body)
        if segments is None:
            segments = segment_count(body).segments
            if len(costs) < 10_000:
                costs[body] = segments
        values.append(
            (
                pid, Recipient.PARTICIPANT.value, channel.value, to, template.key, language, body,
                segments, broadcast.purpose, f"bulk message {broadcast.pk}", False,
                Traffic.BULK.value, MessageStatus.QUEUED.value, "", "", created, send_at, created,
                0, "", new_key(), "", "", broadcast.pk, "",
            )
        )  # fmt: skip
    if values:
        with connection.cursor() as cursor:
            cursor.executemany(_insert_sql(), values)
    return len(values), skipped


def broadcast_expand(broadcast_id: int) -> None:
    while expand_chunk(broadcast_id):
        pass


# The worker job that runs ``broadcast_expand`` (``tasks.broadcast_expand_task``), set by
# ``MessagingConfig.ready``: ``tasks`` imports this module, so this module does not import it.
_expansion_job: list[Callable[[int], object]] = []


def expansion_job_register(enqueue: Callable[[int], object]) -> None:
    """Hand expansions to ``enqueue`` (called with a broadcast's id) from now on."""
    _expansion_job[:] = [enqueue]


def broadcasts_start_due(*, now: dt.datetime) -> None:
    """Start every scheduled broadcast whose time has come, and carry on any expansion a
    stopped worker left half done."""
    (enqueue,) = _expansion_job
    Broadcast.objects.filter(status=B.SCHEDULED, send_at__lte=now).update(status=B.EXPANDING)
    for pk in Broadcast.objects.filter(status=B.EXPANDING).values_list("pk", flat=True):
        enqueue(pk)
