"""The sender: claims due outbox rows, hands them to the provider, records the outcome.

Never twice, even when killed
-----------------------------
A message is sent in three steps, each its own transaction or call:

1. **claim**: rows move queued/errored -> "sending" with a fresh ``attempt_id`` and
   ``claimed_at``, committed *before* anything leaves the building. On PostgreSQL several
   workers claim at once with ``SELECT ... FOR UPDATE SKIP LOCKED``; on SQLite the claim
   runs in a ``BEGIN IMMEDIATE`` transaction (the project's setting), so one writer at a
   time decides and no row is claimed twice.
2. **send**: the provider gets the message with its ``idempotency_key``, fixed when the row
   was written and the same on every attempt.
3. **record**: "sent" and the provider's id are written only where the row still carries
   this ``attempt_id`` (a stale worker cannot overwrite a newer outcome, and a delivery
   report that overtook us is not moved back).

Between 1 and 2, each row gets ``handed_at``, committed just before that one message goes
to the provider: a claim covers a batch, but only the message being handed over at the
moment of a crash can be in doubt.

A worker killed after step 1 leaves rows in "sending". After a lease
(``ONTRACK_MESSAGING_SENDING_LEASE_S``, longer than any provider call may take) another
worker takes them over under a new ``attempt_id``. A row never handed over goes back to the
queue at once. For a row that was, the provider is asked by idempotency key whether it has
the message: if it has, the row is recorded as sent (no second send); if it has not, it is
retried; if the provider cannot tell (SMPP and SMTP keep no such record), the row is marked
failed with that reason for a person to check: a duplicate court notice is a worse failure
than one flagged as unknown. Providers that can be asked
(``can_lookup``) get their outcomes recorded per batch, the others per message, so the
window in which an outcome is unknown is one message wide where it matters.

Retries: a transient provider error moves the row to "errored" with ``send_at`` at +5
minutes, then +10 minutes; the third failure is final.

Rate limits across workers
--------------------------
Each provider account has one token bucket in the database (``RateBucket``). The claim
transaction locks it, and reserves a turn for each row it takes (``ratelimit.reserve``):
a row claimed by one worker goes at its turn, and the next worker's rows get the turns
after it. However many workers run, together they send at the provider's contracted rate
(``ONTRACK_MESSAGING_RATES``). A claim reserves at most a quarter of the sending lease
ahead, so a claimed row always goes well within its lease.

An opt-out error (Twilio 21610) on an essential notice fails that text and writes the
notice again for e-mail or the officer (``services.opt_out.opted_out_reroute``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.urls import reverse
from django.utils import timezone

from ontrack.messaging.models import (
    BroadcastStatus,
    Message,
    MessageAttachment,
    MessageStatus,
    RateBucket,
    Traffic,
)
from ontrack.messaging.providers import provider_for, providers_close
from ontrack.messaging.providers.base import (
    Attachment,
    Lookup,
    Outgoing,
    Provider,
    ProviderError,
)
from ontrack.messaging.ratelimit import TokenBucket, fair_split, interleave, reserve
from ontrack.messaging.sealing import Unsealable, unseal
from ontrack.messaging.services.delivery_status import message_parts_record
from ontrack.messaging.services.opt_out import OPT_OUT_ERRORS, opt_out_record, opted_out_reroute

logger = logging.getLogger(__name__)

S = MessageStatus
RETRY_DELAYS = (dt.timedelta(minutes=5), dt.timedelta(minutes=10))
CHANNELS = ("sms", "email")
BATCH = 200


@dataclass(frozen=True)
class Claimed:
    pk: int
    participant_id: int | None
    to: str
    body: str
    channel: str
    segments: int
    attempts: int
    attempt_id: str
    idempotency_key: str
    purpose: str
    not_before: float = 0.0  # its turn under the provider's rate (seconds since the epoch)
    attachments: tuple[Attachment, ...] = ()


def provider_rate(provider_name: str) -> tuple[float, bool]:
    """(tokens per second, whether a token is a segment rather than a message)."""
    rate, unit = settings.ONTRACK_MESSAGING_RATES.get(provider_name, (10.0, "messages"))
    return float(rate), unit == "segments"


def _reserve_turns(provider_name: str, costs: list[int], now: dt.datetime) -> list[float]:
    """Reserve turns in the provider's shared bucket for the leading ``costs``; returns the
    time (seconds since the epoch) of each turn reserved. Runs inside the claim's
    transaction, which holds the bucket row's lock until it commits."""
    rate, _ = provider_rate(provider_name)
    horizon = settings.ONTRACK_MESSAGING_SENDING_LEASE_S / 4
    at = now.timestamp()
    bucket = TokenBucket(rate=rate, burst=max(1.0, rate))
    RateBucket.objects.get_or_create(
        provider=provider_name, defaults={"tokens": bucket.burst, "updated": at}
    )
    tokens, updated = (
        RateBucket.objects.select_for_update()
        .filter(provider=provider_name)
        .values_list("tokens", "updated")
        .get()
    )
    bucket.tokens, bucket.updated = min(tokens, bucket.burst), updated
    delays = reserve(bucket, costs, now=at, horizon=horizon)
    RateBucket.objects.filter(provider=provider_name).update(
        tokens=bucket.tokens, updated=bucket.updated
    )
    return [at + delay for delay in delays]


def _outgoing(row: Claimed, provider: Provider) -> Outgoing:
    callback = ""
    if provider.name == "twilio":
        path = reverse("messaging:twilio_status")
        callback = f"{settings.ONTRACK_PUBLIC_URL}{path}?key={row.idempotency_key}"
    subject = row.body.split(". ")[0][:70] if row.channel == "email" else ""
    return Outgoing(
        to=row.to,
        body=row.body,
        idempotency_key=row.idempotency_key,
        channel=row.channel,
        subject=subject,
        status_callback=callback,
        attachments=row.attachments,
    )


def claim(*, channel: str, provider_name: str, limit: int, now: dt.datetime) -> list[Claimed]:
    """Move up to ``limit`` due rows of ``channel`` to "sending" for this worker, each with
    its turn under the provider's shared rate (``not_before``); one-to-one rows get their
    fair share ahead of bulk ones (``ratelimit.fair_split``). Rows of a paused or cancelled
    bulk send stay where they are. Returns the rows in the order of their turns."""
    ready = Q(broadcast__isnull=True) | Q(
        broadcast__status__in=[BroadcastStatus.EXPANDING, BroadcastStatus.SENDING]
    )
    _, per_segment = provider_rate(provider_name)

    def due(traffic: str) -> list[tuple[int, int]]:
        # One index range per (status, traffic), read in send_at order: no sort of the
        # whole backlog for every claim while 100,000 bulk rows wait.
        found: list[tuple[int, int]] = []
        for status in (S.QUEUED, S.ERRORED):
            rows = (
                Message.objects.filter(status=status, traffic=traffic, send_at__lte=now)
                .filter(ready, channel=channel)
                .order_by("send_at")
            )
            if connection.features.has_select_for_update_skip_locked:
                rows = rows.select_for_update(skip_locked=True, of=("self",))
            found += rows.values_list("pk", "segments")[: limit - len(found)]
            if len(found) >= limit:
                break
        return found

    attempt_id = uuid.uuid4().hex
    with transaction.atomic():
        direct = due(Traffic.DIRECT)
        bulk = due(Traffic.BULK)
        take_direct, take_bulk = fair_split(
            limit, len(direct), len(bulk), settings.ONTRACK_MESSAGING_DIRECT_SHARE
        )
        candidates = interleave(direct[:take_direct], bulk[:take_bulk])
        if not candidates:
            return []
        costs = [segments if per_segment else 1 for _, segments in candidates]
        turns = _reserve_turns(provider_name, costs, now)
        ids = [pk for pk, _ in candidates[: len(turns)]]
        if not ids:
            return []
        Message.objects.filter(pk__in=ids, status__in=[S.QUEUED, S.ERRORED]).update(
            status=S.SENDING,
            attempt_id=attempt_id,
            claimed_at=now,
            status_at=now,
            attempts=F("attempts") + 1,
            provider=provider_name,
            handed_at=None,
        )
        rows = Message.objects.filter(pk__in=ids, attempt_id=attempt_id).values_list(
            "pk", "participant_id", "to", "body", "channel", "segments", "attempts",
            "attempt_id", "idempotency_key", "purpose", "sealed_body",
        )  # fmt: skip
        turn_of = dict(zip(ids, turns, strict=True))
        order = {pk: n for n, pk in enumerate(ids)}
        claimed = []
        for (
            pk, participant_id, to, body, channel, segments, attempts, attempt, key, purpose,
            sealed_body,
        ) in rows:  # fmt: skip
            row = Claimed(
                pk, participant_id, to, body, channel, segments, attempts, attempt, key, purpose,
                not_before=turn_of[pk],
            )  # fmt: skip
            if sealed_body:
                text = _unsealed(row, sealed_body, now)
                if text is None:
                    continue
                row = dataclasses.replace(row, body=text)
            claimed.append(row)
        if channel == "email":
            claimed = _with_attachments(claimed)
        return sorted(claimed, key=lambda row: order[row.pk])


def _with_attachments(rows: list[Claimed]) -> list[Claimed]:
    """The claimed e-mails with their files, read in one query for the batch."""
    files: dict[int, list[Attachment]] = {}
    found = MessageAttachment.objects.filter(message_id__in=[row.pk for row in rows])
    for message_id, filename, content_type, content in found.values_list(
        "message_id", "filename", "content_type", "content"
    ):
        files.setdefault(message_id, []).append(Attachment(filename, content_type, bytes(content)))
    return [
        dataclasses.replace(row, attachments=tuple(files[row.pk])) if row.pk in files else row
        for row in rows
    ]


def _unsealed(row: Claimed, sealed_body: str, now: dt.datetime) -> str | None:
    """The text with its secrets for the provider; a text this deployment's key cannot
    open (``SECRET_KEY`` changed while it waited) fails rather than going out with
    placeholders."""
    try:
        return unseal(sealed_body)
    except Unsealable as exc:
        Message.objects.filter(pk=row.pk, attempt_id=row.attempt_id).update(
            status=S.FAILED, status_reason=str(exc), status_at=now, sealed_body=""
        )
        logger.warning("message failed id=%s reason=%s", row.pk, exc)
        return None


def _part_ids(accepted: str | list[str]) -> list[str]:
    """A provider's answer to ``send`` as a list of ids: one, or one per part."""
    return [accepted] if isinstance(accepted, str) else list(accepted)


def _record_sent(
    row: Claimed, accepted: str | list[str], now: dt.datetime, *, provider_name: str = ""
) -> None:
    part_ids = _part_ids(accepted)
    provider_message_id = part_ids[0] if part_ids else ""
    with transaction.atomic():
        recorded = Message.objects.filter(pk=row.pk, status=S.SENDING, attempt_id=row.attempt_id)
        if not recorded.update(
            status=S.SENT,
            sent_at=now,
            status_at=now,
            provider_message_id=provider_message_id,
            sealed_body="",
        ):
            # A delivery report overtook us (or another worker took over): keep its status,
            # but remember the provider's id if nobody has.
            Message.objects.filter(pk=row.pk, provider_message_id="").update(
                provider_message_id=provider_message_id
            )
        if len(part_ids) > 1:
            message_parts_record(
                row.pk, provider=provider_name, provider_message_ids=part_ids, at=now
            )


def _record_handed(row: Claimed) -> bool:
    """Mark the row as about to go to the provider; ``False`` when this worker no longer
    owns it (its lease ran out and another worker took it over), in which case it must not
    be sent from here."""
    return bool(
        Message.objects.filter(pk=row.pk, status=S.SENDING, attempt_id=row.attempt_id).update(
            handed_at=timezone.now()
        )
    )


def _requeue(pks: list[int], attempt_ids: list[str], reason: str) -> int:
    """Give back rows claimed but certainly never handed to the provider, so that the next
    round sends them, without counting the attempt. Their reserved turns are not given back
    to the shared bucket: other workers may already hold the turns after them, and a refund
    would let two workers send in the same turn."""
    return Message.objects.filter(
        pk__in=pks, attempt_id__in=attempt_ids, status=S.SENDING, handed_at__isnull=True
    ).update(
        status=S.ERRORED,
        status_at=timezone.now(),
        status_reason=reason,
        attempts=F("attempts") - 1,
    )


def _release(rows: list[Claimed]) -> None:
    """The worker is stopping: give back what it claimed and did not send."""
    _requeue(
        [row.pk for row in rows],
        list({row.attempt_id for row in rows}),
        "worker stopped before sending it; it goes with the next worker",
    )


def _record_sent_batch(
    outcomes: list[tuple[Claimed, str | list[str]]], now: dt.datetime, *, provider_name: str
) -> None:
    """Record a batch in one UPDATE (all rows of one claim share its attempt id); rows a
    delivery report overtook, and texts sent in parts, are then recorded one by one."""
    if any(not isinstance(accepted, str) for _, accepted in outcomes):
        for row, accepted in outcomes:
            _record_sent(row, accepted, now, provider_name=provider_name)
        return
    attempt_id = outcomes[0][0].attempt_id
    ids = {row.pk: str(provider_message_id) for row, provider_message_id in outcomes}
    with transaction.atomic():
        updated = Message.objects.filter(
            pk__in=ids, status=S.SENDING, attempt_id=attempt_id
        ).update(
            status=S.SENT,
            sent_at=now,
            status_at=now,
            provider_message_id=Case(*(When(pk=pk, then=Value(pid)) for pk, pid in ids.items())),
            sealed_body="",
        )
        if updated != len(ids):
            for row, provider_message_id in outcomes:
                _record_sent(row, provider_message_id, now, provider_name=provider_name)


def _record_error(row: Claimed, provider: Provider, exc: ProviderError, now: dt.datetime) -> None:
    opted_out = bool(exc.code) and exc.code in OPT_OUT_ERRORS.get(provider.name, ())
    if opted_out:
        opt_out_record(
            participant_id=row.participant_id, source=f"{provider.name} error {exc.code}"
        )
    mine = Message.objects.filter(pk=row.pk, status=S.SENDING, attempt_id=row.attempt_id)
    reason = str(exc)[:300]
    if exc.permanent or opted_out or row.attempts > len(RETRY_DELAYS):
        with transaction.atomic():
            failed = mine.update(
                status=S.FAILED, status_reason=reason, error_code=exc.code, status_at=now
            )
            if failed and opted_out:
                opted_out_reroute(row.pk, at=now)
        logger.warning("message failed id=%s code=%s reason=%s", row.pk, exc.code, reason)
        return
    retry_at = now + RETRY_DELAYS[row.attempts - 1]
    mine.update(
        status=S.ERRORED, status_reason=reason, error_code=exc.code, status_at=now, send_at=retry_at
    )
    logger.info("message errored id=%s retry_at=%s reason=%s", row.pk, retry_at.isoformat(), reason)


def reconcile(*, now: dt.datetime, lease: dt.timedelta) -> int:
    """Settle rows left in "sending" longer than the lease (their worker died): ask the
    provider by idempotency key, then record sent, retry, or fail as unknown. Returns how
    many rows were settled."""
    stuck = Message.objects.filter(status=S.SENDING, claimed_at__lt=now - lease)
    never_handed = list(stuck.filter(handed_at__isnull=True).values_list("pk", "attempt_id"))
    settled = _requeue(
        [pk for pk, _ in never_handed],
        list({attempt for _, attempt in never_handed}),
        "worker stopped before handing it to the provider; it goes with the next send",
    )
    if settled:
        logger.info("reconciled for sending: never handed over count=%s", settled)
    in_doubt = stuck.filter(handed_at__isnull=False).values_list(
        "pk", "attempt_id", "channel", "provider"
    )[:500]
    for pk, old_attempt, channel, provider_name in list(in_doubt):
        new_attempt = uuid.uuid4().hex
        took = Message.objects.filter(pk=pk, status=S.SENDING, attempt_id=old_attempt).update(
            attempt_id=new_attempt, claimed_at=now
        )
        if not took:
            continue
        message = Message.objects.get(pk=pk)
        row = Claimed(
            pk, message.participant_id, message.to, message.body, channel, message.segments,
            message.attempts, new_attempt, message.idempotency_key, message.purpose,
        )  # fmt: skip
        if message.sealed_body:
            text = _unsealed(row, message.sealed_body, now)
            if text is None:
                continue
            row = dataclasses.replace(row, body=text)
        provider = provider_for(channel)
        found: Lookup = (
            provider.lookup(_outgoing(row, provider))
            if provider.name == provider_name
            else Lookup(accepted=None)
        )
        mine = Message.objects.filter(pk=pk, status=S.SENDING, attempt_id=new_attempt)
        if found.accepted:
            _record_sent(row, found.provider_message_id, now, provider_name=provider.name)
            logger.info("reconciled as sent id=%s", pk)
        elif found.accepted is False:
            mine.update(
                status=S.ERRORED,
                status_at=now,
                status_reason="worker stopped before the provider had it; sending again",
            )
            logger.info("reconciled for resend id=%s", pk)
        else:
            mine.update(
                status=S.FAILED,
                status_at=now,
                status_reason=(
                    "worker stopped mid-send and the provider cannot say whether it went; "
                    "not resent, to avoid a duplicate: check before sending again"
                ),
            )
            logger.warning("reconciled as unknown id=%s", pk)
        settled += 1
    return settled


class Sender:
    """One worker's sending loop: a claim per channel per round, each row sent at the turn
    its claim reserved in the provider's shared rate bucket, outcomes recorded as described
    in the module docstring."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.sent = 0

    def _batch_size(self, provider: Provider) -> int:
        rate, _ = provider_rate(provider.name)
        lease = settings.ONTRACK_MESSAGING_SENDING_LEASE_S
        # A claimed batch must go out well within the lease, or another worker would take
        # over rows this one is still sending.
        return max(1, min(BATCH, int(rate * lease / 4)))

    def run_once(self) -> int:
        """One round over the channels; returns how many messages were handed over."""
        handed = 0
        for channel in CHANNELS:
            provider = provider_for(channel)
            rows = claim(
                channel=channel,
                provider_name=provider.name,
                limit=self._batch_size(provider),
                now=timezone.now(),
            )
            handed += self._send(rows, provider)
        return handed

    def _send(self, rows: list[Claimed], provider: Provider) -> int:
        can_lookup = getattr(provider, "can_lookup", False)
        outcomes: list[tuple[Claimed, str | list[str]]] = []
        handed = 0
        for index, row in enumerate(rows):
            wait = row.not_before - time.time()
            if wait > 0 and self.stop.wait(wait):
                _release(rows[index:])
                break
            if not _record_handed(row):
                continue
            try:
                accepted = provider.send(_outgoing(row, provider))
            except ProviderError as exc:
                _record_error(row, provider, exc, timezone.now())
                continue
            handed += 1
            if can_lookup:
                outcomes.append((row, accepted))
            else:
                _record_sent(row, accepted, timezone.now(), provider_name=provider.name)
        if outcomes:
            _record_sent_batch(outcomes, timezone.now(), provider_name=provider.name)
        self.sent += handed
        return handed

    def run(self, *, idle_wait: float = 1.0) -> None:
        lease = dt.timedelta(seconds=settings.ONTRACK_MESSAGING_SENDING_LEASE_S)
        next_reconcile = 0.0
        logger.debug("outbox sender started")
        try:
            while not self.stop.is_set():
                close_old_connections()
                try:
                    if time.monotonic() >= next_reconcile:
                        reconcile(now=timezone.now(), lease=lease)
                        next_reconcile = time.monotonic() + min(10.0, lease.total_seconds() / 2)
                    handed = self.run_once()
                except Exception:
                    logger.exception("outbox sender round failed")
                    handed = 0
                if not handed:
                    self.stop.wait(idle_wait)
        finally:
            providers_close()
            close_old_connections()
            logger.debug("outbox sender stopped sent=%s", self.sent)
