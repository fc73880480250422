"""Saved caseload filters (``participants.saved_filters``): a user names the list's current
search, filters and sort, finds it as a link above the list, and deletes it; nobody else
sees, opens or deletes it; bad input is a 400, a POST without its CSRF token a 403."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from ontrack.accounts.models import Role, User
from ontrack.participants.models import Participant, SavedFilter

pytestmark = pytest.mark.django_db

SAVE = "/participants/filters/"
LINK = '<a href="?status=suspended">Suspended cases</a>'


def _save(client: Client, name: str, query: str) -> int:
    return client.post(SAVE, {"name": name, "query": query}).status_code


def test_a_user_saves_the_current_view_and_finds_it_as_a_link_above_the_list(
    make_participant: Callable[..., Participant],
    client_for: Callable[[User], Client],
    officer: User,
) -> None:
    make_participant(family_name="Ortiz")
    client = client_for(officer)

    response = client.post(
        SAVE,
        {"name": "  Active  Ortiz ", "query": "q=ortiz&status=active&sort=-name&after=xyz&x=1"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/participants/?q=ortiz&status=active&sort=-name"
    (saved,) = SavedFilter.objects.filter(user=officer)
    assert (saved.name, saved.query) == ("Active Ortiz", "q=ortiz&status=active&sort=-name")
    page = client.get("/participants/").content.decode()
    assert '<a href="?q=ortiz&amp;status=active&amp;sort=-name">Active Ortiz</a>' in page


def test_saving_a_name_again_replaces_what_it_held(
    client_for: Callable[[User], Client], officer: User
) -> None:
    client = client_for(officer)
    assert _save(client, "Mine", "status=active") == 302
    assert _save(client, "Mine", "level=high") == 302
    assert list(SavedFilter.objects.values_list("name", "query")) == [("Mine", "level=high")]


def test_saved_filters_are_their_owners_alone(
    make_user: Callable[..., User], client_for: Callable[[User], Client], officer: User
) -> None:
    owner = client_for(officer)
    assert _save(owner, "Suspended cases", "status=suspended") == 302
    assert LINK in owner.get("/participants/").content.decode()
    saved = SavedFilter.objects.get(user=officer)
    other = client_for(make_user(Role.SUPERVISOR))

    assert LINK not in other.get("/participants/").content.decode()
    assert other.post(f"/participants/filters/{saved.pk}/delete/").status_code == 404
    assert SavedFilter.objects.filter(pk=saved.pk).exists()

    assert owner.post(f"/participants/filters/{saved.pk}/delete/").status_code == 302
    assert not SavedFilter.objects.exists()
    assert LINK not in owner.get("/participants/").content.decode()


@pytest.mark.parametrize(
    ("name", "query"),
    [("", "status=active"), ("   ", "status=active"), ("x" * 61, ""), ("Sorted", "sort=nope")],
)
def test_a_filter_without_a_name_or_with_a_sort_the_list_has_not_is_refused_with_a_400(
    client_for: Callable[[User], Client], officer: User, name: str, query: str
) -> None:
    assert _save(client_for(officer), name, query) == 400
    assert not SavedFilter.objects.exists()


def test_saving_and_deleting_are_posts_with_a_csrf_token(
    client_for: Callable[[User], Client], officer: User
) -> None:
    client = client_for(officer)
    assert client.get(SAVE).status_code == 405
    client.handler.enforce_csrf_checks = True
    assert _save(client, "No token", "status=active") == 403
    assert not SavedFilter.objects.exists()


def test_an_auditor_who_reads_no_caseload_saves_no_filter(
    make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    auditor = client_for(make_user(Role.AUDITOR, office=None))
    assert _save(auditor, "Everyone", "") == 403
