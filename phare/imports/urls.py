from django.urls import path

from phare.imports import views

app_name = "imports"
urlpatterns = [
    path("import/", views.index, name="index"),
    path("import/mapping/", views.mapping, name="mapping"),
    path("import/<int:pk>/", views.detail, name="detail"),
    path("import/<int:pk>/confirm/", views.confirm, name="confirm"),
    path("import/<int:pk>/discard/", views.discard, name="discard"),
    path("import/<int:pk>/rejected-rows.csv", views.rejected_rows, name="rejected_rows"),
    path("import/blank/<str:kind>.xlsx", views.blank_form, name="blank_form"),
    path("export/", views.export, name="export"),
    path("export/<int:pk>/", views.export_job, name="export_job"),
    path("export/<int:pk>/file", views.export_download, name="export_download"),
]
