from django.urls import URLPattern, path

from ontrack.portal import views

app_name = "portal"

urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("sign-in/", views.sign_in, name="sign_in"),
    path("code/", views.code, name="code"),
    path("link/<str:token>/", views.link, name="link"),
    path("pin/", views.pin, name="pin"),
    path("sign-out/", views.sign_out_view, name="sign_out"),
    path("language/", views.language, name="language"),
    path("check-in/", views.checkin, name="checkin"),
    path("check-in/submit/", views.checkin_submit, name="checkin_submit"),
    path("check-in/failure/", views.checkin_failure, name="checkin_failure"),
    path("appointments/<int:appointment_id>/reschedule/", views.reschedule, name="reschedule"),
    path("review/", views.review, name="review"),
    path("counsel/", views.counsel, name="counsel"),
    path("my-data/", views.my_data, name="my_data"),
    path("my-data/download/", views.my_data_download, name="my_data_download"),
    path("staff/<int:pk>/send-link/", views.staff_send_link, name="staff_send_link"),
    path("staff/<int:pk>/reset-pin/", views.staff_reset_pin, name="staff_reset_pin"),
]
