"""The signed-in staff member's clock for templates: ``staff_zone``, their office's time zone
(the server's, UTC, for staff without an office), for times that belong to no one office,
shown with ``{{ when|office_time:staff_zone }}`` (the access log, the outbox, a bulk action)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def staff_clock(request: HttpRequest) -> dict[str, str]:
    user = getattr(request, "user", None)
    office = getattr(user, "office", None) if user is not None and user.is_authenticated else None
    return {"staff_zone": office.time_zone if office is not None else settings.TIME_ZONE}
