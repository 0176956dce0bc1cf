"""The sign-in backend: Django's, except that the user of a session comes with their organisation.

Every request of a signed-in user reads the organisation (the language, the second-factor rule, the audit event,
the tenant for row-level security): read apart, it cost a second query on every request."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from phare.accounts.models import User


class Backend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        try:
            user = User._default_manager.select_related("organisation").get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
