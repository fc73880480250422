from django.urls import path

from ontrack.schedule import views

app_name = "schedule"

urlpatterns = [
    path("today/", views.today, name="today"),
    path("bulk/", views.bulk, name="bulk"),
    path("bulk/<int:pk>/", views.bulk_action, name="bulk_action"),
    path("bulk/<int:pk>/undo/", views.bulk_action_undo, name="bulk_action_undo"),
    path("review/", views.review_queue, name="review"),
    path("tasks/", views.tasks, name="tasks"),
    path("tasks/<int:task_id>/done/", views.task_done, name="task_done"),
    path("requests/<int:request_id>/decide/", views.reschedule_decide, name="reschedule_decide"),
    path("checkins/<int:checkin_id>/photo/", views.checkin_photo, name="checkin_photo"),
    path("checkins/<int:checkin_id>/review/", views.checkin_review, name="checkin_review"),
    path("windows/<int:window_id>/excuse/", views.window_excuse, name="excuse"),
    path("appointments/<int:appointment_id>/move/", views.appointment_move, name="move"),
    path("appointments/<int:appointment_id>/cancel/", views.appointment_cancel, name="cancel"),
    path("appointments/<int:appointment_id>/attendance/", views.attendance, name="attendance"),
    path("participant/<int:pk>/", views.participant_record, name="record"),
    path("participant/<int:pk>/panel/", views.participant_panel, name="panel"),
    path("participant/<int:pk>/schedule/", views.schedule_edit, name="edit"),
    path("participant/<int:pk>/schedule/stop/", views.schedule_stop, name="stop"),
    path("participant/<int:pk>/adhoc/", views.adhoc, name="adhoc"),
    path("participant/<int:pk>/appointments/new/", views.appointment_new, name="book"),
    path("offices/<int:office_id>/", views.office_calendar, name="office"),
]
