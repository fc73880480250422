"""The participant's own session, kept under its own keys so that it never mixes with a
staff login in the same browser (staff auth uses Django's auth keys, untouched here)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TypeVar

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.utils import timezone, translation

from ontrack.participants.models import Participant, Status

PARTICIPANT_KEY = "portal_participant"
PENDING_KEY = "portal_pending"
PHONE_KEY = "portal_phone"
LANGUAGE_KEY = "portal_language"

_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


def _supported(code: str | None) -> str | None:
    codes = {c for c, _ in settings.LANGUAGES}
    return code if code in codes else None


def portal_language(request: HttpRequest, participant: Participant | None) -> str:
    """The language of a portal page: the one picked on the switcher this visit, else the
    participant's preferred language once signed in, else the program's default language
    (or the browser's, which LocaleMiddleware has already activated)."""
    chosen = _supported(request.session.get(LANGUAGE_KEY))
    if chosen:
        return chosen
    if participant is not None:
        return (
            _supported(participant.preferred_language)
            or _supported(participant.program.default_language)
            or settings.LANGUAGE_CODE
        )
    return _supported(translation.get_language()) or settings.LANGUAGE_CODE


@contextmanager
def language_for(request: HttpRequest, participant: Participant | None) -> Iterator[str]:
    """The page's language for the length of one request. An override, not an activation:
    the thread serves the next request (or runs other code, as in the test suite) in its own
    language, not in the last participant's."""
    language = portal_language(request, participant)
    request.LANGUAGE_CODE = language
    with translation.override(language):
        yield language


def signed_in_participant(request: HttpRequest) -> Participant | None:
    pk = request.session.get(PARTICIPANT_KEY)
    if pk is None:
        return None
    participant = (
        Participant.objects.select_related("program", "office")
        .exclude(status=Status.CLOSED)
        .filter(pk=pk)
        .first()
    )
    if participant is None:
        request.session.pop(PARTICIPANT_KEY, None)
    return participant


def sign_in_complete(request: HttpRequest, participant: Participant) -> None:
    """After the PIN: rotate the session key (no fixation) and remember the participant."""
    request.session.pop(PENDING_KEY, None)
    request.session.cycle_key()
    request.session[PARTICIPANT_KEY] = participant.pk


def sign_out(request: HttpRequest) -> None:
    for key in (PARTICIPANT_KEY, PENDING_KEY, PHONE_KEY):
        request.session.pop(key, None)
    request.session.cycle_key()


def participant_required(view: _View) -> _View:
    """Portal pages for a signed-in participant: others go to the sign-in page. The view
    receives the participant as its second argument, with the page language active."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        participant = signed_in_participant(request)
        if participant is None:
            return redirect("portal:sign_in")
        # Every time on the page is in the participant's own time zone.
        with (
            language_for(request, participant),
            timezone.override(zoneinfo.ZoneInfo(participant.time_zone)),
        ):
            response = view(request, participant, *args, **kwargs)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return wrapped  # type: ignore[return-value]


def public_portal_page(view: _View) -> _View:
    """Sign-in pages: no participant yet, but the right language."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        with language_for(request, None):
            return view(request, *args, **kwargs)

    return wrapped  # type: ignore[return-value]
