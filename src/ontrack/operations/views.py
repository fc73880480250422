"""Health endpoints for load balancers and the status page for administrators."""

from __future__ import annotations

import sys

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import server_error as django_server_error

from ontrack.fragments import fragment_or_page
from ontrack.operations.status import system_status

_migrations_applied = False


def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up and answering (no database involved)."""
    return HttpResponse("ok", content_type="text/plain")


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: the database answers and every migration is applied. 503 with the
    reason otherwise, so a load balancer takes this server out until it is."""
    global _migrations_applied
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
        if not _migrations_applied:
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
            _migrations_applied = not pending
            checks["migrations"] = "ok" if not pending else f"{len(pending)} not applied"
        else:
            checks["migrations"] = "ok"
    except DatabaseError as exc:
        checks["database"] = f"unavailable: {str(exc).splitlines()[0] if str(exc) else exc!r}"
        connection.close()
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"ready": ready, **checks}, status=200 if ready else 503)


@login_required
def status_page(request: HttpRequest) -> HttpResponse:
    if not getattr(request.user, "sees_system_status", False):
        raise PermissionDenied("Only administrators and operators see the system status.")
    return fragment_or_page(
        request, "operations/_status.html", "operations/status.html", {"status": system_status()}
    )


DATABASE_AWAY = (
    "The database is not answering just now, so this page cannot be shown. Nothing you sent "
    "was half-saved; please try again in a minute."
)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 handler, except when the cause is the database being away (stopped,
    restarting, unreachable, or SQLite's lock held too long): that is a 503 with
    ``Retry-After``, in JSON for the API, and says plainly what happened."""
    error = sys.exc_info()[1]
    if not isinstance(error, OperationalError | InterfaceError):
        return django_server_error(request)
    connection.close()
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": DATABASE_AWAY}, status=503)
    else:
        response = HttpResponse(
            "<!doctype html><title>Try again shortly · ontrack</title>"
            f"<h1>Try again shortly</h1><p>{DATABASE_AWAY}</p>",
            status=503,
        )
    response["Retry-After"] = "30"
    return response
