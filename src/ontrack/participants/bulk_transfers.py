"""Caseload transfers in bulk: preview, confirm with a reason, undo within a short window.

A bulk transfer once moved fifty people on one click. Now the form leads to a preview that
lists who would move, from whom and to whom; the preview issues a signed token naming
exactly those people, and only a confirmation carrying that token (and a reason) moves
anyone, so what is confirmed is what was previewed. The move is recorded as one
``BulkAction`` holding each person's officer before and after, and each person's timeline
entry names it with its reason. For ``ONTRACK_BULK_UNDO_MINUTES`` the action can be undone:
everyone still where the transfer put them goes back; anyone changed since is left alone
and listed as skipped. The undo is a ``BulkAction`` of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from ontrack.accounts.actors import permission_require
from ontrack.accounts.models import User
from ontrack.participants import services
from ontrack.participants.models import BulkAction, BulkActionItem, BulkActionKind, Participant
from ontrack.participants.queries import participants_visible_to
from ontrack.selections import ALTERED, selection_read, selection_sign

PREVIEW = "participants.bulk_transfer"  # the selection a transfer preview signs
NO_ONE_TO_MOVE = "No one to move: tick participants in the list, or choose a whole caseload."


def _require_caseload_manager(actor: User) -> None:
    permission_require(
        actor,
        lambda user: user.manages_caseloads,
        "Only supervisors and administrators move caseloads.",
    )


@dataclass(frozen=True)
class TransferPreview:
    """Who a transfer would move (in the actor's scope, not already with the officer), to
    whom, and the token that confirms exactly this list."""

    officer: User
    participants: list[Participant]
    token: str

    @property
    def sources(self) -> list[tuple[str, int]]:
        """Each officer people would leave, with how many, largest first."""
        counts: dict[str, int] = {}
        for p in self.participants:
            name = str(p.officer) if p.officer else "no officer"
            counts[name] = counts.get(name, 0) + 1
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _movable(actor: User, participant_ids: Iterable[int], officer: User) -> list[Participant]:
    return list(
        participants_visible_to(actor)
        .filter(pk__in=list(participant_ids))
        .exclude(officer=officer)
        .select_related("officer", "office")
        .order_by("family_name", "given_name", "pk")
    )


def bulk_transfer_preview(
    *, actor: User, participant_ids: Iterable[int], officer: User
) -> TransferPreview:
    """What moving ``participant_ids`` to ``officer`` would do. Anyone outside the actor's
    scope is dropped (never named), as is anyone already with that officer."""
    _require_caseload_manager(actor)
    people = _movable(actor, participant_ids, officer)
    if not people:
        raise ValidationError(NO_ONE_TO_MOVE)
    token = selection_sign(
        user_id=actor.pk, action=PREVIEW, ids=[p.pk for p in people], officer=officer.pk
    )
    return TransferPreview(officer=officer, participants=people, token=token)


def bulk_transfer_previewed(*, actor: User, token: str) -> TransferPreview:
    """The preview ``token`` was issued for, read again with today's scope. A token that
    is altered, another user's or older than ``selections.MAX_AGE`` is refused, saying
    which."""
    ids, pinned = selection_read(user_id=actor.pk, action=PREVIEW, token=token)
    officer_id = pinned.get("officer")
    officer = User.objects.filter(pk=officer_id).first() if isinstance(officer_id, int) else None
    if officer is None:
        raise ValidationError(ALTERED)
    people = _movable(actor, ids, officer)
    if not people:
        raise ValidationError(NO_ONE_TO_MOVE)
    return TransferPreview(officer=officer, participants=people, token=token)


def _item(
    action: BulkAction, participant: Participant, before: tuple[int, int | None], skipped: str = ""
) -> BulkActionItem:
    return BulkActionItem.objects.create(
        action=action,
        participant=participant,
        office_before_id=before[0],
        officer_before_id=before[1],
        office_after_id=participant.office_id,
        officer_after_id=participant.officer_id,
        skipped=skipped,
    )


@transaction.atomic
def participants_bulk_transfer(
    *, actor: User, participant_ids: Iterable[int], officer: User, reason: str
) -> BulkAction:
    """Move many participants to one officer in a single transaction, all or none, as one
    recorded action with its reason. Anyone outside the actor's scope is never moved."""
    _require_caseload_manager(actor)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why these participants move."})
    action = BulkAction.objects.create(actor=actor, kind=BulkActionKind.TRANSFER, reason=reason)
    chosen = participants_visible_to(actor).filter(pk__in=list(participant_ids))
    for participant in chosen.exclude(officer=officer).select_for_update().order_by("pk"):
        before = (participant.office_id, participant.officer_id)
        services.participant_transfer(participant, actor=actor, officer=officer, bulk_action=action)
        _item(action, participant, before)
    if not action.items.exists():
        raise ValidationError(NO_ONE_TO_MOVE)
    return action


def undo_window_closes(done_at: dt.datetime) -> dt.datetime:
    """When the undo of a bulk action done at ``done_at`` stops being offered; the same
    window for every kind of bulk action (``schedule.services.bulk_records`` too)."""
    return done_at + dt.timedelta(minutes=settings.ONTRACK_BULK_UNDO_MINUTES)


def bulk_action_undo_until(action: BulkAction) -> dt.datetime:
    return undo_window_closes(action.created_at)


def bulk_action_undoable(action: BulkAction, *, now: dt.datetime | None = None) -> bool:
    """Whether the page offers an undo: a transfer, not undone yet, within the window."""
    return (
        action.kind == BulkActionKind.TRANSFER
        and not BulkAction.objects.filter(undoes=action).exists()
        and (now or timezone.now()) <= bulk_action_undo_until(action)
    )


def _move_back(actor: User, undo: BulkAction, item: BulkActionItem, visible: set[int]) -> str:
    """Move one person back, or say why they stay (the reason their item records)."""
    participant = Participant.objects.select_for_update().get(pk=item.participant_id)
    if participant.pk not in visible:
        return "no longer in your caseload"
    if (participant.office_id, participant.officer_id) != (
        item.office_after_id,
        item.officer_after_id,
    ):
        return "changed since the transfer"
    if item.officer_before is None:
        return "had no officer before"
    before = (participant.office_id, participant.officer_id)
    try:
        services.participant_transfer(
            participant,
            actor=actor,
            officer=item.officer_before,
            office=item.office_before,
            bulk_action=undo,
        )
    except ValidationError as exc:
        return "; ".join(exc.messages)
    except PermissionDenied as exc:
        return str(exc)
    _item(undo, participant, before)
    return ""


@transaction.atomic
def bulk_transfer_undo(
    *, actor: User, action: BulkAction, now: dt.datetime | None = None
) -> BulkAction:
    """Undo a transfer within ``ONTRACK_BULK_UNDO_MINUTES``: everyone still with the officer
    it gave them goes back to their previous officer; anyone changed since (or no longer in
    the actor's scope) stays and is recorded as skipped. Recorded as its own action."""
    _require_caseload_manager(actor)
    action = BulkAction.objects.select_for_update().get(pk=action.pk)
    if action.kind != BulkActionKind.TRANSFER:
        raise ValidationError("Only a caseload transfer can be undone.")
    if BulkAction.objects.filter(undoes=action).exists():
        raise ValidationError("This transfer has already been undone.")
    until = bulk_action_undo_until(action)
    if (now or timezone.now()) > until:
        raise ValidationError(
            f"This transfer can no longer be undone: the undo window of "
            f"{settings.ONTRACK_BULK_UNDO_MINUTES} minutes closed at {until:%Y-%m-%d %H:%M} UTC. "
            "Transfer the participants back, with a reason, instead."
        )
    undo = BulkAction.objects.create(
        actor=actor,
        kind=BulkActionKind.TRANSFER_UNDO,
        reason=f"Undoing the transfer: {action.reason}",
        undoes=action,
    )
    items = list(action.items.select_related("officer_before", "office_before"))
    visible = set(
        participants_visible_to(actor)
        .filter(pk__in=[i.participant_id for i in items])
        .values_list("pk", flat=True)
    )
    for item in items:
        skipped = _move_back(actor, undo, item, visible)
        if skipped:
            participant = Participant.objects.get(pk=item.participant_id)
            _item(undo, participant, (participant.office_id, participant.officer_id), skipped)
    return undo
