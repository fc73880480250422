from django.urls import path

from ontrack.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.account, name="account"),
    path("staff/<int:pk>/", views.account, name="staff_contact"),
]
