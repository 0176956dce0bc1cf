from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "phare.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from phare import rls

        connection_created.connect(rls.on_connect, dispatch_uid="phare-rls-maintenance")
