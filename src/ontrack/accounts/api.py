"""API authentication and the offices endpoint.

Integrations authenticate with ``Authorization: Bearer <token>``; a signed-in browser
session also works (with CSRF protection on writes), so the console's own pages can call the
API, once it has passed the second factor (a token is a credential of its own and needs
none).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.security import HttpBearer, SessionAuth

from ontrack.accounts.models import Office, User
from ontrack.accounts.second_factor import second_factor_passed
from ontrack.accounts.services import api_token_authenticate


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = api_token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class VerifiedSessionAuth(SessionAuth):
    """The console's session, only once it has passed the second factor: the password alone
    must not reach through the API what the pages refuse it."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        return user if user is not None and second_factor_passed(request) else None


API_AUTH = [TokenAuth(), VerifiedSessionAuth(csrf=True)]

router = Router(tags=["offices"])


class OfficeOut(Schema):
    id: int
    name: str
    address: str
    phone: str
    time_zone: str
    opening_hours: dict[str, list[list[str]]]
    program: str
    latitude: float | None = Field(
        None, description="Where the office stands (WGS 84), for the zone editor's first view."
    )
    longitude: float | None = None

    @staticmethod
    def resolve_program(office: Office) -> str:
        return office.program.name


@router.get("/offices", response=list[OfficeOut])
def office_list(request: HttpRequest) -> list[Office]:
    """Offices are not personal data: every signed-in staff member may list them."""
    return list(Office.objects.select_related("program").order_by("name"))
