from django.urls import URLPattern, path

from ontrack.messaging import views

app_name = "messaging"

urlpatterns: list[URLPattern] = [
    path("", views.outbox, name="outbox"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/handled/", views.inbound_handled, name="inbound_handled"),
    path("held/<int:pk>/delivered/", views.held_delivered, name="held_delivered"),
    path("participants/<int:pk>/", views.conversation, name="conversation"),
    path("participants/<int:pk>/simulate/", views.simulate_reply, name="simulate_reply"),
    path("bulk/", views.bulk_list, name="bulk_list"),
    path("bulk/new/", views.bulk_new, name="bulk_new"),
    path("bulk/<int:pk>/", views.bulk_detail, name="bulk_detail"),
    path("templates/", views.template_list, name="template_list"),
    path("templates/preview/", views.template_preview, name="template_preview"),
    path("templates/<slug:key>/", views.template_edit, name="template_edit"),
    path("twilio/status/", views.twilio_status, name="twilio_status"),
    path("twilio/inbound/", views.twilio_inbound, name="twilio_inbound"),
]
