from django.urls import path

from ontrack.operations import views

app_name = "operations"

urlpatterns = [path("", views.status_page, name="status")]
