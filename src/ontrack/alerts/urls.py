from django.urls import path

from ontrack.alerts import on_call_views, rule_views, views

app_name = "alerts"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("export.csv", views.export_csv, name="export"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<int:pk>/resolve/", views.resolve, name="resolve"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("<int:pk>/note/", views.note, name="note"),
    path("bulk-acknowledge/", views.bulk_acknowledge, name="bulk_acknowledge"),
    path("rules/", rule_views.program_rules_home, name="program_rules_home"),
    path("rules/program/<int:pk>/", rule_views.program_rules, name="program_rules"),
    path("rules/participant/<int:pk>/", rule_views.participant_rules, name="participant_rules"),
    path("notifications/", rule_views.notifications_home, name="notifications_home"),
    path("notifications/office/<int:pk>/", rule_views.notifications, name="notifications"),
    path(
        "notifications/<int:pk>/delete/",
        rule_views.notification_delete,
        name="notification_delete",
    ),
    path("on-call/", on_call_views.rota_home, name="on_call_home"),
    path("on-call/office/<int:pk>/", on_call_views.rota, name="on_call"),
    path("on-call/<int:pk>/remove/", on_call_views.shift_remove, name="on_call_remove"),
]
