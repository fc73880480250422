from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import include, path

from ontrack.api import api
from ontrack.operations import views as operations_views


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to the page it works from."""
    if getattr(request.user, "reads_participants", False):
        return redirect("participants:caseload")
    if getattr(request.user, "reads_access_log", False):
        return redirect("audit:access_log")
    return redirect("admin:index")


urlpatterns = [
    path("", home, name="home"),
    path("healthz", operations_views.healthz, name="health"),
    path("readyz", operations_views.readyz, name="ready"),
    path("status/", include("ontrack.operations.urls")),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", include("ontrack.accounts.urls")),
    # Passkey ceremonies (django-otp-webauthn's JSON views; its scripts reverse these names).
    path("account/passkeys/", include("django_otp_webauthn.urls", namespace="otp_webauthn")),
    path("participants/", include("ontrack.participants.urls")),
    path("tracking/", include("ontrack.tracking.urls")),
    path("audit/", include("ontrack.audit.urls")),
    path("zones/", include("ontrack.zones.urls")),
    path("alerts/", include("ontrack.alerts.urls")),
    path("schedule/", include("ontrack.schedule.urls")),
    path("messaging/", include("ontrack.messaging.urls")),
    path("me/", include("ontrack.portal.urls")),
    path("reviews/", include("ontrack.reviews.urls")),
    path("reports/", include("ontrack.reports.urls")),
    path("transfer/", include("ontrack.transfer.urls")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]

handler500 = "ontrack.operations.views.server_error"
