"""Named caseload views, each its owner's alone: saving the list's current search, filters
and sort under a name, and deleting one. Saving a name again replaces what it held."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import QueryDict

from ontrack.accounts.models import User
from ontrack.participants.models import SavedFilter
from ontrack.participants.queries import SORTS

# The caseload's own parameters, in the order a saved link spells them; anything else in a
# query (page cursors, stray parameters) is left out.
FILTER_KEYS = ("q", "office", "officer", "status", "level", "language", "sort")
NAME_MAX = 60
QUERY_MAX = 500
SAVED_MAX = 50  # per user: the links sit above the list


def saved_filters_of(user: User) -> QuerySet[SavedFilter]:
    return SavedFilter.objects.filter(user=user)


def filter_query_clean(raw: str) -> str:
    """``raw`` (a caseload query string) kept to the list's own non-empty parameters, the
    first of each; an unknown sort is refused."""
    given = QueryDict(raw)
    kept = [(key, given[key].strip()) for key in FILTER_KEYS if given.get(key, "").strip()]
    if any(key == "sort" and value not in SORTS for key, value in kept):
        raise ValidationError({"query": "Not a sort of the caseload list."})
    query = urlencode(kept)
    if len(query) > QUERY_MAX:
        raise ValidationError({"query": "This filter is too long to save."})
    return query


def saved_filter_save(user: User, *, name: str, query: str) -> SavedFilter:
    """Save ``query`` under ``name`` for ``user``, replacing their filter of that name."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Give the filter a name."})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"A name of at most {NAME_MAX} characters."})
    cleaned = filter_query_clean(query)
    mine = saved_filters_of(user)
    if not mine.filter(name=name).exists() and mine.count() >= SAVED_MAX:
        raise ValidationError({"name": f"At most {SAVED_MAX} saved filters; delete one first."})
    saved, _created = SavedFilter.objects.update_or_create(
        user=user, name=name, defaults={"query": cleaned}
    )
    return saved


def saved_filter_delete(user: User, pk: int) -> bool:
    """Delete ``user``'s saved filter ``pk``; False when they have none of that number
    (anyone else's is not theirs to delete)."""
    deleted, _by_model = saved_filters_of(user).filter(pk=pk).delete()
    return deleted > 0
