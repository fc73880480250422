"""The JSON API: one NinjaAPI, with a router per app. OpenAPI docs at ``/api/docs``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from ontrack.accounts.api import API_AUTH
from ontrack.accounts.api import router as offices_router
from ontrack.alerts.api import router as alerts_router
from ontrack.messaging.api import router as messaging_router
from ontrack.participants.api import router as participants_router
from ontrack.schedule.api import router as schedule_router
from ontrack.tracking.api import router as tracking_router
from ontrack.zones.api import router as zones_router

api = NinjaAPI(
    title="ontrack API",
    version="1",
    description="Participants, plans, hearings, offices, devices and positions. "
    "Authenticate with a bearer token "
    "(`Authorization: Bearer ot_...`) created by an administrator.",
    auth=API_AUTH,
    urls_namespace="api",
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
