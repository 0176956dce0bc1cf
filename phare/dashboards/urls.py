from django.urls import path

from phare.dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.dashboard, name="index"),
    path("figures/<slug:key>.<str:fmt>", views.figure_download, name="figure"),
    path("report/", views.report, name="report"),
]
