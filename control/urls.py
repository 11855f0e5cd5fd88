from django.urls import path

from control import views

app_name = "control"

urlpatterns = [
    path("audit/", views.audit_list, name="audit-list"),
]
