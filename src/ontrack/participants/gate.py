"""The one gate to a person's data (DESIGN.md, "Reading a person's data: one gate").

Views, API handlers and exports obtain a participant here and nowhere else. Each function
authorises the actor for that person (out of scope answers 404, exactly as a non-existent
id, so a caseload outside one's own does not even confirm that a person is enrolled) and
writes the access-log row with its purpose in the same call, so a caller cannot read a
record and forget to log it. Devices, positions, events and commands are seen exactly as
their wearer is: their readers pass the wearer's id through the same gate.

The unlogged getter is private to this module; ``tests/audit/test_one_gate.py`` walks every
page and API route to keep it that way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeAlias

from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from ontrack.accounts.models import User
from ontrack.accounts.web import staff_user
from ontrack.audit.models import AccessAction
from ontrack.audit.services import (
    access_log_record,
    export_purpose_clean,
)
from ontrack.participants.models import Participant
from ontrack.participants.queries import participants_visible_to

Actor: TypeAlias = HttpRequest | User
"""A request (the console and the API: the log row gets its path, address and agent) or a
staff member (an export built outside a request)."""


def _actor(who: Actor) -> tuple[User, HttpRequest | None]:
    if isinstance(who, User):
        return who, None
    return staff_user(who), who


def _participant_get_for(user: User, pk: int) -> Participant:
    """The participant if this user may see them; 404 otherwise. Unlogged: only the gate's
    public functions call it, each of which logs or leaves logging to the change it guards."""
    try:
        return (
            participants_visible_to(user).select_related("office", "officer", "program").get(pk=pk)
        )
    except Participant.DoesNotExist:
        raise Http404("No such participant in your caseload.") from None


def participant_read(
    who: Actor, pk: int, *, what: str, action: AccessAction = AccessAction.VIEW
) -> Participant:
    """The participant ``pk`` for a read, logged as ``action`` with ``what`` (which part of
    the record, and for an export its purpose). 404 when out of the actor's scope."""
    user, request = _actor(who)
    participant = _participant_get_for(user, pk)
    access_log_record(
        user=user, action=action, what=what, participant_ids=[participant.pk], request=request
    )
    return participant


def participant_export(
    who: Actor,
    pk: int,
    *,
    what: str,
    purpose: str,
    answerable: Callable[[User, Participant], bool],
    refusal: str,
) -> Participant:
    """The participant ``pk`` for an export of ``what``: the actor must see them (else
    Http404), answer for the case (``answerable``, else PermissionDenied with ``refusal``) and
    state a purpose (else ValidationError, nothing logged). The EXPORT row, with the
    purpose, is written before anything is built, so no export can happen unlogged."""
    user, request = _actor(who)
    participant = _participant_get_for(user, pk)
    if not answerable(user, participant):
        raise PermissionDenied(refusal)
    purpose = export_purpose_clean(purpose)
    access_log_record(
        user=user,
        action=AccessAction.EXPORT,
        what=f"{what}; purpose: {purpose}",
        participant_ids=[participant.pk],
        request=request,
    )
    return participant


def participant_for_change(who: Actor, pk: int, *, form: str = "") -> Participant:
    """The participant ``pk`` for a change, 404 when out of the actor's scope. A change is
    not a read: the service that makes it checks who may write and records it (the
    participant's timeline, the plan history, the message or zone row with its author), so
    the POST itself writes no access-log row. A form page shows the record before it is
    changed, so when ``form`` names it, a GET of that page is logged as a VIEW of ``form``
    (before the caller's write check, so a refused GET is logged too: a row too many,
    never one too few)."""
    user, request = _actor(who)
    if form and request is not None and request.method == "GET":
        return participant_read(request, pk, what=form)
    return _participant_get_for(user, pk)


def participants_listed(
    who: Actor,
    participant_ids: Iterable[int | None],
    *,
    what: str,
    action: AccessAction = AccessAction.LIST,
) -> None:
    """Log the read of a list that showed these participants (a caseload page, a queue, the
    device list with its wearers' last positions): one LIST row naming them all, or with
    another ``action`` one row each. The list itself was narrowed by
    ``participants_visible_to`` (or a query built on it), which is its authorisation; an
    empty list reads nobody and writes nothing."""
    ids = sorted({pid for pid in participant_ids if pid is not None})
    if not ids:
        return
    user, request = _actor(who)
    access_log_record(user=user, action=action, what=what, participant_ids=ids, request=request)


SHOWN_SALT = "ontrack.participants.gate.shown"
SHOWN_MAX_AGE = 60 * 60  # an hour: long enough to read a page, short enough not to be a key


def shown_token(who: Actor, pk: int, *, item: str) -> str:
    """A token for ``item`` (e.g. ``checkin-photo:12``) of participant ``pk``, issued to
    the actor by a page whose own logged read already covers it (the timeline shows
    check-in thumbnails). Only that actor can spend it, within the hour."""
    user, _request = _actor(who)
    return signing.dumps({"u": user.pk, "p": pk, "i": item}, salt=SHOWN_SALT, compress=True)


def participant_shown(who: Actor, pk: int, *, item: str, token: str) -> Participant:
    """The participant ``pk`` for an item a logged page showed this actor (see
    :func:`shown_token`): authorised again (scope may have changed since) but not logged a
    second time, since the page's access-log row already names the read. A token that is
    not this actor's, not for this item or expired answers 404, as does out of scope."""
    user, _request = _actor(who)
    try:
        claims = signing.loads(token, salt=SHOWN_SALT, max_age=SHOWN_MAX_AGE)
    except signing.BadSignature:
        raise Http404("No such item.") from None
    if claims != {"u": user.pk, "p": pk, "i": item}:
        raise Http404("No such item.")
    return _participant_get_for(user, pk)
