from django.urls import path

from ontrack.participants import timeline_views, views

app_name = "participants"

urlpatterns = [
    path("", views.caseload, name="caseload"),
    path("enrol/", views.participant_enrol, name="enrol"),
    path("import/", views.caseload_import, name="import"),
    path("import/<int:pk>/", views.caseload_import_detail, name="import_detail"),
    path("import/<int:pk>/confirm/", views.caseload_import_confirm, name="import_confirm"),
    path("transfer/", views.caseload_transfer, name="bulk_transfer"),
    path("filters/", views.saved_filter_save, name="filter_save"),
    path("filters/<int:pk>/delete/", views.saved_filter_delete, name="filter_delete"),
    path("transfer/confirm/", views.caseload_transfer_confirm, name="bulk_transfer_confirm"),
    path("bulk/<int:pk>/", views.bulk_action, name="bulk_action"),
    path("bulk/<int:pk>/undo/", views.bulk_action_undo, name="bulk_action_undo"),
    path("<int:pk>/", views.participant_detail, name="detail"),
    path("<int:pk>/timeline/", timeline_views.participant_timeline, name="timeline"),
    path("<int:pk>/edit/", views.participant_edit, name="edit"),
    path("<int:pk>/photo/", views.participant_photo, name="photo"),
    path("<int:pk>/plan/", views.participant_plan, name="plan"),
    path("<int:pk>/hearings/add/", views.hearing_add, name="hearing_add"),
    path("<int:pk>/hearings/<int:hearing_pk>/", views.hearing_update, name="hearing_update"),
    path("<int:pk>/counsel/", views.participant_counsel, name="counsel"),
    path("<int:pk>/conditions/", views.participant_conditions, name="conditions"),
    path("<int:pk>/address/", views.participant_address, name="address"),
    path("<int:pk>/status/", views.participant_status, name="status"),
    path("<int:pk>/close/", views.participant_close, name="close"),
    path("<int:pk>/transfer/", views.participant_transfer, name="transfer"),
]
