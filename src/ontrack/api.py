"""The JSON API: one NinjaAPI, with a router per app. OpenAPI docs at ``/api/docs``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DataError
from django.http import HttpRequest, HttpResponse
from django.utils.datastructures import MultiValueDict
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.parser import Parser
from ninja.throttling import UserRateThrottle

from ontrack.accounts.api import API_AUTH
from ontrack.accounts.api import router as offices_router
from ontrack.alerts.api import router as alerts_router
from ontrack.messaging.api import router as messaging_router
from ontrack.participants.api import router as participants_router
from ontrack.schedule.api import router as schedule_router
from ontrack.tracking.api import router as tracking_router
from ontrack.zones.api import router as zones_router

ERROR_RESPONSES = {
    "400": "The body is not JSON (or not UTF-8).",
    "401": "No valid bearer token.",
    "403": "The token's user may not do this.",
    "404": "No such record, or not one this user may see (the two answer alike).",
    "422": "The request is not valid; ``detail`` says what is wrong.",
    "429": "Too many requests from this user; wait and try again (``ONTRACK_API_RATE``).",
}


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


NO_NUL = "^[^\\u0000]*$"


def _no_nul_in_strings(node: Any) -> None:
    """Document what ``StrictParser`` enforces: no string holds a NUL character."""
    if isinstance(node, dict):
        if node.get("type") == "string" and "enum" not in node and "pattern" not in node:
            node["pattern"] = NO_NUL
        if node.get("type") == "object" and node.get("additionalProperties") is not False:
            node.setdefault("propertyNames", {"pattern": NO_NUL})
        for value in node.values():
            _no_nul_in_strings(value)
    elif isinstance(node, list):
        for item in node:
            _no_nul_in_strings(item)


class StrictParser(Parser):
    """JSON bodies must be objects (every operation takes one: a list or a bare string was
    silently read as "no change"), and no input may hold a NUL character, which PostgreSQL
    cannot store and no name or note contains. A body refused here answers 400."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = super().parse_body(request)
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        if _holds_nul(data):
            raise ValueError("the body holds a NUL character")
        return data

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        parsed = super().parse_querydict(data, list_fields, request)
        if _holds_nul(parsed):
            raise HttpError(422, "A parameter holds a NUL character.")
        return parsed


class OntrackAPI(NinjaAPI):
    """The API whose schema documents the error answers every operation may give, so that
    a client (and the schema fuzzing in the tests) knows a 404 or 422 is a proper answer."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        schema["components"].setdefault("schemas", {})["ErrorDetail"] = {
            "title": "ErrorDetail",
            "type": "object",
            "properties": {"detail": {"title": "Detail"}},
            "required": ["detail"],
        }
        for component in schema["components"]["schemas"].values():
            _no_nul_in_strings(component)
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDetail"}}}
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for code, description in ERROR_RESPONSES.items():
                    responses.setdefault(code, {"description": description, "content": error})
        return schema


api = OntrackAPI(
    title="ontrack API",
    version="1",
    description="Participants, plans, hearings, offices, devices and positions. "
    "Authenticate with a bearer token "
    "(`Authorization: Bearer ot_...`) created by an administrator.",
    auth=API_AUTH,
    urls_namespace="api",
    parser=StrictParser(),
    # Per staff member, per web process (Django's local-memory cache): enough for any
    # integration, and a stolen token cannot page through every record in seconds.
    throttle=[UserRateThrottle(settings.ONTRACK_API_RATE)],
)
api.add_router("/", offices_router)
api.add_router("/", participants_router)
api.add_router("/", tracking_router)
api.add_router("/", zones_router)
api.add_router("/", alerts_router)
api.add_router("/", schedule_router)
api.add_router("/", messaging_router)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Forbidden"}, status=403)


@api.exception_handler(OverflowError)
def number_out_of_range(request: HttpRequest, exc: OverflowError) -> HttpResponse:
    """An id or count beyond what the database stores (SQLite raises OverflowError)."""
    return api.create_response(request, {"detail": "A number is out of range."}, status=422)


@api.exception_handler(DataError)
def data_out_of_range(request: HttpRequest, exc: DataError) -> HttpResponse:
    """The same on PostgreSQL, and any value the column type refuses (e.g. a NUL byte)."""
    return api.create_response(
        request, {"detail": "A value is out of range for what it describes."}, status=422
    )
