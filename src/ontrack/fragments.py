"""Pages that answer htmx with a fragment and everyone else with the whole page.

``django_htmx.middleware.HtmxMiddleware`` reads htmx's request headers into
``request.htmx``. Two things every such view must get right, kept here once:

- A history restore is not a swap. When the page a visitor goes back to has left htmx's
  history cache, htmx 2 asks the server for it again, with ``HX-Request`` set (its
  ``historyRestoreAsHxRequest``) and ``HX-History-Restore-Request`` beside it, and puts the
  answer in place of the whole body: a fragment there is a bare table with no page around
  it. Such a request gets the whole page.
- The answer differs by those headers, so it says so (``Vary``): otherwise a browser or a
  proxy may keep the fragment and show it later for the page's own URL, or the reverse.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.middleware import HtmxDetails

SWAP_HEADERS = ("HX-Request", "HX-History-Restore-Request")

Response = TypeVar("Response", bound=HttpResponseBase)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def swaps_fragment(request: HttpRequest, *, target: str | None = None) -> bool:
    """Whether htmx will swap the answer into part of the page (into the element with id
    ``target``, when given)."""
    htmx = cast(HtmxHttpRequest, request).htmx
    if not htmx or htmx.history_restore_request:
        return False
    return target is None or htmx.target == target


def vary_on_htmx(response: Response, *, target: bool = False) -> Response:
    """Mark ``response`` as one of two answers, chosen by the htmx headers (and by
    ``HX-Target`` when the view asked which element is to be swapped)."""
    patch_vary_headers(response, (*SWAP_HEADERS, *(("HX-Target",) if target else ())))
    return response


def fragment_or_page(
    request: HttpRequest,
    fragment: str,
    page: str,
    context: dict[str, Any],
    *,
    target: str | None = None,
) -> HttpResponse:
    """Render ``fragment`` for an htmx swap (into ``target``, when given), ``page`` otherwise."""
    template = fragment if swaps_fragment(request, target=target) else page
    return vary_on_htmx(render(request, template, context), target=target is not None)
