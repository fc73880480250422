from django.urls import path

from ontrack.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("participants.csv", views.participants_csv, name="participants_csv"),
    path("<slug:key>.csv", views.table_csv, name="table_csv"),
    path("data-inventory/", views.inventory, name="inventory"),
    path(
        "participants/<int:pk>/compliance.pdf",
        views.participant_compliance_pdf,
        name="participant_compliance_pdf",
    ),
]
