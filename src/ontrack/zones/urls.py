from django.urls import URLPattern, path

from ontrack.zones import views

app_name = "zones"

urlpatterns: list[URLPattern] = [
    path("participant/<int:pk>/", views.participant_zone_list, name="participant"),
    path("participant/<int:pk>/new/", views.zone_new, name="new"),
    path("participant/<int:pk>/attach/", views.zone_attach, name="attach"),
    path("participant/<int:pk>/geojson/", views.participant_zones_geojson, name="geojson"),
    path("shared/", views.shared_zone_list, name="shared"),
    path("shared/new/", views.shared_zone_new, name="shared_new"),
    path("<int:zone_id>/edit/", views.zone_edit, name="edit"),
    path("<int:zone_id>/delete/", views.zone_delete, name="delete"),
]
