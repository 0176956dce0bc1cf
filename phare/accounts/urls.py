from __future__ import annotations

from django.urls import URLPattern, path

from phare.accounts import views

app_name = "accounts"

urlpatterns: list[URLPattern] = [
    path("mfa/", views.mfa_view, name="mfa"),
    path("password/", views.password_change, name="password"),
    path("security/", views.security_settings, name="security"),
    path("users/", views.users, name="users"),
    path("users/new/", views.user_edit, name="user_new"),
    path("users/<int:pk>/", views.user_edit, name="user_edit"),
    path("users/<int:pk>/active/", views.user_active, name="user_active"),
    path("users/<int:pk>/reset-mfa/", views.user_reset_mfa, name="user_reset_mfa"),
    path("break-glass/review/", views.break_glass_review, name="break_glass_review"),
    path("break-glass/<str:target_type>/<uuid:uid>/", views.break_glass, name="break_glass"),
    path("audit/", views.audit_search, name="audit"),
]
