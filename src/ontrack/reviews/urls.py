from django.urls import URLPattern, path

from ontrack.reviews import views

app_name = "reviews"

urlpatterns: list[URLPattern] = [
    path("", views.queue, name="queue"),
    path("<int:review_id>/", views.detail, name="detail"),
    path("<int:review_id>/decide/", views.decide, name="decide"),
]
