from django.urls import path

from ontrack.tracking import views

app_name = "tracking"

urlpatterns = [
    path("map/", views.live_map_page, name="live_map"),
    path("map/positions.json", views.live_map_positions, name="live_map_positions"),
    path("devices/", views.device_list, name="devices"),
    path("devices/register/", views.device_register, name="register"),
    path("devices/<int:pk>/", views.device_detail, name="device"),
    path("devices/<int:pk>/unassign/", views.device_unassign, name="unassign"),
    path("devices/<int:pk>/returned/", views.device_returned, name="returned"),
    path("devices/<int:pk>/locate/", views.device_locate, name="locate"),
    path("commands/<int:pk>/", views.command_status, name="command"),
    path("participants/<int:pk>/track/", views.participant_track, name="participant_track"),
    path("participants/<int:pk>/assign/", views.participant_assign, name="assign"),
    path("participants/<int:pk>/swap/", views.participant_swap, name="swap"),
    path(
        "participants/<int:pk>/export.<str:fmt>",
        views.participant_export,
        name="export",
    ),
]
