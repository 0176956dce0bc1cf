from django.urls import include, path

from phare.accounts import views as account_views
from phare.core import views
from phare.helplines import public as helpline_public
from phare.work.views.home import home

urlpatterns = [
    path("", home, name="home"),
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
    path("work/", include("phare.work.urls")),
    path("referrals/", include("phare.referrals.urls")),
    path("helpline/", include("phare.helplines.urls")),
    path("report/<slug:slug>/", helpline_public.report, name="public_report"),
]

# Error pages in the site's look and the reader's language (phare/core/errors.py).
handler400 = "phare.core.errors.bad_request"
handler403 = "phare.core.errors.permission_denied"
handler404 = "phare.core.errors.page_not_found"
handler500 = "phare.core.errors.server_error"
