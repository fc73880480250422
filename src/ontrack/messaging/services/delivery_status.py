"""A message's delivery status: the forward-only moves of the status machine, the providers'
delivery reports (also per part of a long text) and the parts' ids they are matched by.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from ontrack.messaging.models import STATUS_TRANSITIONS, Message, MessagePart, MessageStatus
from ontrack.messaging.services.opt_out import OPT_OUT_ERRORS, opt_out_record, opted_out_reroute

logger = logging.getLogger(__name__)

S = MessageStatus


def message_status_set(
    message_id: int, status: str, *, reason: str = "", error_code: str = ""
) -> bool:
    """Move one message forward to ``status`` if ``STATUS_TRANSITIONS`` allows it from the
    status it has now; anything else (a duplicate or late callback) changes nothing. Returns
    whether it moved. The conditional UPDATE makes it safe against a concurrent writer."""
    allowed_from = [old for old, nexts in STATUS_TRANSITIONS.items() if status in nexts]
    now = timezone.now()
    fields: dict[str, object] = {"status": status, "status_at": now}
    if reason:
        fields["status_reason"] = reason[:300]
    if error_code:
        fields["error_code"] = error_code[:20]
    if status in {S.SENT, S.DELIVERED, S.UNDELIVERED}:
        # The first of these to arrive says when it left us.
        Message.objects.filter(pk=message_id, sent_at__isnull=True).update(sent_at=now)
    moved = Message.objects.filter(pk=message_id, status__in=allowed_from).update(**fields)
    return bool(moved)


def status_callback_apply(
    *,
    provider: str,
    provider_message_id: str,
    status: str,
    idempotency_key: str = "",
    error_code: str = "",
    reason: str = "",
) -> bool:
    """A delivery report from a provider. Reports may come twice, late, or before our own
    "sent" write (the provider answered the callback faster than the sender committed); the
    idempotency key in the callback URL finds the row then, and the forward-only status
    machine ignores anything that would move it back. A report on one part of a text sent
    in parts (``MessagePart``) settles that part, and the message once its outcome is known.
    An opt-out error on an essential notice sends it again by the channel left
    (``opted_out_reroute``). Returns whether the message's status moved."""
    part = (
        MessagePart.objects.filter(provider=provider, provider_message_id=provider_message_id)
        .only("pk", "message_id", "number")
        .first()
    )
    if part is not None:
        return _part_status_apply(part, status, reason=reason, error_code=error_code)
    rows = Message.objects.filter(provider=provider, provider_message_id=provider_message_id)
    message = rows.only("pk").first()
    if message is None and idempotency_key:
        message = Message.objects.filter(idempotency_key=idempotency_key).only("pk").first()
        if message is not None:
            Message.objects.filter(pk=message.pk, provider_message_id="").update(
                provider=provider, provider_message_id=provider_message_id
            )
    if message is None:
        logger.warning(
            "status callback for an unknown message provider=%s id=%s",
            provider,
            provider_message_id,
        )
        return False
    opted_out = error_code in OPT_OUT_ERRORS.get(provider, ())
    if opted_out:
        opt_out_record(
            participant_id=Message.objects.get(pk=message.pk).participant_id,
            source=f"{provider} error {error_code}",
        )
    with transaction.atomic():
        moved = message_status_set(message.pk, status, reason=reason, error_code=error_code)
        if moved and opted_out and status in {S.FAILED, S.UNDELIVERED}:
            opted_out_reroute(message.pk)
    return moved


def _part_status_apply(part: MessagePart, status: str, *, reason: str, error_code: str) -> bool:
    """A receipt for one part: the part moves from "sent" to its outcome once; the message
    becomes undelivered or failed with the first part that is, and delivered when the last
    part is."""
    if status not in (S.DELIVERED, S.UNDELIVERED, S.FAILED):
        return False
    MessagePart.objects.filter(pk=part.pk, status=S.SENT).update(
        status=status, status_at=timezone.now()
    )
    statuses = list(
        MessagePart.objects.filter(message_id=part.message_id).values_list("status", flat=True)
    )
    if status in (S.UNDELIVERED, S.FAILED):
        why = f"part {part.number} of {len(statuses)}" + (f": {reason}" if reason else "")
        return message_status_set(part.message_id, status, reason=why, error_code=error_code)
    if all(s == S.DELIVERED for s in statuses):
        return message_status_set(part.message_id, S.DELIVERED, reason=reason)
    return False


def message_parts_record(
    message_id: int, *, provider: str, provider_message_ids: list[str], at: dt.datetime
) -> None:
    """Remember the id of each part of a text the provider sent in parts (the first is also
    the message's own ``provider_message_id``), so that each part's receipt is matched."""
    if len(provider_message_ids) < 2:
        return
    MessagePart.objects.bulk_create(
        [
            MessagePart(
                message_id=message_id,
                number=number,
                provider=provider,
                provider_message_id=part_id,
                status=S.SENT,
                status_at=at,
            )
            for number, part_id in enumerate(provider_message_ids, start=1)
        ],
        ignore_conflicts=True,
    )
