"""Every page, the portal, the API and the photos carry the Content-Security-Policy: scripts
only from this site's own files, never inline."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from ontrack.accounts.models import Role, User
from tests.staff_sign_in import verify_session

pytestmark = pytest.mark.django_db


def _script_sources(response: object) -> str:
    policy = response["Content-Security-Policy"]  # type: ignore[index]
    return next(part for part in policy.split(";") if part.strip().startswith("script-src"))


def test_console_portal_and_api_answers_allow_scripts_only_from_this_site(
    make_user: Callable[..., User],
) -> None:
    staff = Client()
    administrator = make_user(Role.ADMINISTRATOR, office=None)
    staff.force_login(administrator)
    verify_session(staff, administrator)
    for response in (
        staff.get("/participants/"),
        staff.get("/status/"),
        Client().get("/me/sign-in/"),
        Client().get("/login/"),
        staff.get("/api/docs"),
    ):
        assert response.status_code == 200
        assert _script_sources(response).split() == ["script-src", "'self'"]
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_no_template_carries_an_inline_script_or_event_handler() -> None:
    import re
    from pathlib import Path

    import ontrack

    root = Path(ontrack.__file__).parent
    offenders = []
    for template in root.rglob("templates/**/*.html"):
        text = template.read_text()
        inline = [m for m in re.finditer(r"<script(?![^>]*\bsrc=)([^>]*)>", text)
                  if "application/json" not in m.group(1)]  # fmt: skip
        if inline or re.search(r"\son[a-z]+=\"", text):
            offenders.append(str(template.relative_to(root)))
    assert offenders == []
