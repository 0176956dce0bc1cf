from django.urls import path

from phare.helplines import views

app_name = "helplines"

urlpatterns = [
    path("", views.contact_list, name="list"),
    path("new/", views.contact_new, name="new"),
    path("lookup/", views.lookup, name="lookup"),
    path("settings/", views.report_form_settings, name="settings"),
    path("figures/", views.figures_page, name="figures"),
    path("services/", views.service_list, name="services"),
    path("services/new/", views.service_new, name="service_new"),
    path("services/<uuid:uid>/", views.service_page, name="service"),
    path("figures/<slug:key>.csv", views.figure_csv, name="figure"),
    path("<str:reference>/", views.contact_page, name="contact"),
    path("<str:reference>/open-case/", views.contact_open_case, name="open_case"),
    path("<str:reference>/link-case/", views.contact_link_case, name="link_case"),
]
