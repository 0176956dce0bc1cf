from django.contrib.auth import views as auth_views
from django.urls import include, path

from phare.core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("phare.accounts.urls")),
    path("cases/", include("phare.cases.urls")),
    path("data/", include("phare.imports.urls")),
    path("dashboards/", include("phare.dashboards.urls")),
    path("api/", include("phare.api.urls")),
]
