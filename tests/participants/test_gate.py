"""The gate's own promises: a read is authorised and logged in one call, out of scope is
a missing id, a change is not a read (but its form page is), a list is one row, and an
export without a purpose or by someone not answerable for the case logs nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from django.test import RequestFactory

from ontrack.accounts.models import Role, User
from ontrack.audit.models import AccessAction, AccessLogEntry
from ontrack.participants.gate import (
    participant_export,
    participant_for_change,
    participant_read,
    participants_listed,
)
from ontrack.participants.models import Participant
from ontrack.participants.queries import can_write_participant

pytestmark = pytest.mark.django_db


def _request(user: User, method: str = "GET") -> HttpRequest:
    factory = RequestFactory()
    make = factory.post if method == "POST" else factory.get
    request = make("/somewhere/", REMOTE_ADDR="10.0.0.7")
    request.user = user
    return request


def test_a_read_returns_the_participant_and_logs_its_purpose(
    officer: User, make_participant: Callable[..., Participant]
) -> None:
    person = make_participant()
    read = participant_read(_request(officer), person.pk, what="participant page")
    entry = AccessLogEntry.objects.get()
    assert read == person
    assert (entry.participant_id, entry.action, entry.what) == (
        person.pk,
        AccessAction.VIEW,
        "participant page",
    )
    assert (entry.path, entry.ip_address) == ("/somewhere/", "10.0.0.7")


def test_out_of_scope_is_a_missing_id_and_logs_nothing(
    make_user: Callable[..., User], make_participant: Callable[..., Participant]
) -> None:
    person = make_participant()
    colleague = make_user(Role.OFFICER)
    with pytest.raises(Http404) as out_of_scope:
        participant_read(_request(colleague), person.pk, what="participant page")
    with pytest.raises(Http404) as missing:
        participant_read(_request(colleague), 987_654, what="participant page")
    assert str(out_of_scope.value) == str(missing.value)
    assert not AccessLogEntry.objects.exists()


def test_a_change_is_not_logged_as_a_read_but_its_form_page_is(
    officer: User, make_participant: Callable[..., Participant]
) -> None:
    person = make_participant()
    participant_for_change(_request(officer, "POST"), person.pk, form="edit form")
    assert not AccessLogEntry.objects.exists(), "the service records the change itself"
    participant_for_change(_request(officer), person.pk, form="edit form")
    assert AccessLogEntry.objects.get().what == "edit form"


def test_a_list_is_one_row_naming_everyone_it_showed_and_an_empty_one_none(
    officer: User, make_participant: Callable[..., Participant]
) -> None:
    first, second = make_participant(), make_participant()
    participants_listed(_request(officer), [], what="caseload list")
    assert not AccessLogEntry.objects.exists()
    participants_listed(_request(officer), [second.pk, None, first.pk, second.pk], what="list")
    entry = AccessLogEntry.objects.get()
    assert entry.action == AccessAction.LIST
    assert entry.listed_ids == sorted([first.pk, second.pk])


def test_an_export_needs_someone_answerable_and_a_purpose_before_it_is_logged(
    officer: User, make_user: Callable[..., User], make_participant: Callable[..., Participant]
) -> None:
    person = make_participant()
    operator = make_user(Role.OPERATOR)

    def export(user: User, purpose: str) -> Participant:
        return participant_export(
            user,
            person.pk,
            what="location history",
            purpose=purpose,
            answerable=can_write_participant,
            refusal="Not yours to export.",
        )

    with pytest.raises(PermissionDenied):
        export(operator, "Court order 12")
    with pytest.raises(ValidationError):
        export(officer, "")
    assert not AccessLogEntry.objects.exists()
    export(officer, "Court   order 12")
    entry = AccessLogEntry.objects.get()
    assert (entry.action, entry.what) == (
        AccessAction.EXPORT,
        "location history; purpose: Court order 12",
    )
