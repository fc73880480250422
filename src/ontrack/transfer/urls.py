from django.urls import path

from ontrack.transfer import views

app_name = "transfer"

urlpatterns = [
    path("<int:pk>/record.zip", views.record_zip, name="record_zip"),
    path("<int:pk>/otrts.xml", views.otrts_xml, name="otrts_xml"),
    path("import/", views.otrts_import_page, name="import"),
]
