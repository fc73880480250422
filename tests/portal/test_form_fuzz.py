"""The participant portal's forms answer any input with a page or a 4xx, never a server
error and never a stored half-record (property-based: hypothesis generates the fields)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ontrack.participants.models import Participant

pytestmark = pytest.mark.django_db

# Text as phones and people send it: any Unicode, NUL and surrogates included.
ANY = st.text(max_size=300)
MAYBE_NUMBER = st.one_of(ANY, st.integers().map(str), st.floats().map(str))
FIELDS = {
    "sign-in/": {"phone": ANY},
    "code/": {"code": ANY},
    "pin/": {"pin": ANY, "pin_again": ANY},
    "language/": {"language": ANY, "next": ANY},
    "check-in/failure/": {"client_ref": ANY, "attempted_at": ANY, "reason": ANY, "detail": ANY},
    "review/": {"reason": ANY},
    "counsel/": {"consent": ANY},
}
FUZZ = settings(
    max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)


@pytest.fixture
def signed_in(
    make_participant: Callable[..., Participant], portal_client: Callable[[Participant], Client]
) -> Client:
    client = portal_client(make_participant(preferred_language="es"))
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("path", sorted(FIELDS))
def test_a_form_answers_anything_without_a_server_error(signed_in: Client, path: str) -> None:
    @FUZZ
    @given(st.fixed_dictionaries(FIELDS[path]))
    def post(data: dict[str, str]) -> None:
        response = signed_in.post(f"/me/{path}", data)
        assert response.status_code < 500, (path, data)
        anonymous = Client(raise_request_exception=False).post(f"/me/{path}", data)
        assert anonymous.status_code < 500, (path, data)

    post()


def test_a_check_in_upload_answers_anything_without_a_server_error(signed_in: Client) -> None:
    @FUZZ
    @given(
        st.fixed_dictionaries(
            {
                "client_ref": st.one_of(ANY, st.uuids().map(str)),
                "attempted_at": st.one_of(ANY, st.datetimes().map(lambda d: d.isoformat())),
                "lat": MAYBE_NUMBER,
                "lon": MAYBE_NUMBER,
                "accuracy_m": MAYBE_NUMBER,
            }
        ),
        st.binary(max_size=2000),
        ANY,
    )
    def post(data: dict[str, Any], photo: bytes, content_type: str) -> None:
        upload = SimpleUploadedFile("p.jpg", photo, content_type=content_type[:100] or "x")
        response = signed_in.post("/me/check-in/submit/", {**data, "photo": upload})
        assert response.status_code < 500, data

    post()
