from django.urls import include, path

from phare.accounts import views as account_views
from phare.core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("language/", views.set_language, name="set_language"),
    path("accounts/login/", account_views.login_view, name="login"),
    path("accounts/logout/", account_views.logout_view, name="logout"),
    path("accounts/", include("phare.accounts.urls")),
    path("cases/", include("phare.cases.urls")),
    path("data/", include("phare.imports.urls")),
    path("dashboards/", include("phare.dashboards.urls")),
    path("api/", include("phare.api.urls")),
    path("sharing/", include("phare.sharing.urls")),
    path("referrals/", include("phare.referrals.urls")),
]
