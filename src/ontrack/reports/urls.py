from django.urls import path

from ontrack.reports import views

app_name = "reports"

urlpatterns = [path("data-inventory/", views.inventory, name="inventory")]
