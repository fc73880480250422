"""The zone editor's address search exists only where a geocoder is configured
(ONTRACK_GEOCODER_URL, off by default): without one there is no search box and the
Content-Security-Policy lets the browser connect to this site alone; with one, to its host
as well. Settings are read once, at start, so the policy is probed in a process of its own
with the environment an operator would give it."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client, override_settings

from ontrack.accounts.models import User
from ontrack.participants.models import Address, Participant
from tests.support import cli_environment

GEOCODER = "https://geocoder.example.org/search"
PROBE = (
    "import json; from ontrack import settings as s; "
    "print(json.dumps([s.ONTRACK_GEOCODER_URL, "
    "s.CONTENT_SECURITY_POLICY['DIRECTIVES']['connect-src']]))"
)


def _settings(tmp_path: Path, **env: str) -> tuple[str, list[str]]:
    environment = cli_environment(tmp_path / "home")
    environment.pop("ONTRACK_GEOCODER_URL", None)
    environment.update(env)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, check=True
    ).stdout
    url, connect_src = json.loads(out.strip().splitlines()[-1])
    return url, connect_src


def test_the_geocoder_is_off_by_default_and_out_of_the_csp(tmp_path: Path) -> None:
    assert _settings(tmp_path) == ("", ["'self'"])


def test_a_configured_geocoder_is_the_one_other_host_the_browser_may_connect_to(
    tmp_path: Path,
) -> None:
    assert _settings(tmp_path, ONTRACK_GEOCODER_URL=GEOCODER) == (
        GEOCODER,
        ["'self'", "https://geocoder.example.org"],
    )


@pytest.mark.django_db
def test_without_a_geocoder_the_editor_has_no_search_box(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    page = client_for(officer).get(f"/zones/participant/{make_participant().pk}/new/")
    assert page.status_code == 200
    assert b'id="zone-search"' not in page.content
    assert b"data-geocoder" not in page.content


@pytest.mark.django_db
@override_settings(ONTRACK_GEOCODER_URL=GEOCODER)
def test_with_a_geocoder_the_search_starts_from_the_participants_current_address(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    _move(participant)
    page = client_for(officer).get(f"/zones/participant/{participant.pk}/new/")
    assert page.status_code == 200
    assert b'id="zone-search"' in page.content
    assert f'data-geocoder="{GEOCODER}"'.encode() in page.content
    assert b'value="12 Elm St, Newark, NJ"' in page.content


@pytest.mark.django_db
def test_without_a_geocoder_the_address_is_not_put_in_the_editor(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    _move(participant)
    page = client_for(officer).get(f"/zones/participant/{participant.pk}/new/")
    assert b"12 Elm St" not in page.content


def _move(participant: Participant) -> None:
    """A current address, and an old one that must not be offered."""
    Address.objects.create(
        participant=participant,
        line1="3 Old Rd",
        city="Trenton",
        region="NJ",
        valid_from=dt.date(2020, 1, 1),
        valid_to=dt.date(2024, 1, 1),
    )
    Address.objects.create(
        participant=participant,
        line1="12 Elm St",
        city="Newark",
        region="NJ",
        valid_from=dt.date(2024, 1, 1),
    )
