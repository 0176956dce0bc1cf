"""The sign-in backend: Django's, except that the user of a session comes with their organisation.

Every request of a signed-in user reads the organisation (the language, the second-factor rule, the audit event,
the tenant for row-level security): read apart, it cost a second query on every request. The one query is built
once per process (phare.core.prepared); tests/test_auth_backend.py compares the user it makes with the ORM's."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.db.models import QuerySet

from phare.accounts.models import Organisation, User
from phare.core.prepared import Prepared

USER_FIELDS = [f.attname for f in User._meta.concrete_fields]
ORG_FIELDS = [f.attname for f in Organisation._meta.concrete_fields]


def _user_query(pk: int) -> QuerySet[Any]:
    return User._default_manager.filter(pk=pk).values_list(*USER_FIELDS, *(f"organisation__{f}" for f in ORG_FIELDS))


_USER = Prepared(_user_query, int)


def user_with_organisation(pk: int) -> User | None:
    """`User.objects.select_related("organisation").get(pk=pk)`, or None."""
    found = _USER.rows(pk)
    if not found:
        return None
    row = found[0]
    user = User.from_db(connection.alias, USER_FIELDS, row[: len(USER_FIELDS)])
    org_row = row[len(USER_FIELDS) :]
    org = Organisation.from_db(connection.alias, ORG_FIELDS, org_row) if org_row[0] is not None else None
    User._meta.get_field("organisation").set_cached_value(user, org)
    return user


class Backend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        if isinstance(user_id, str) and user_id.isdigit():
            user_id = int(user_id)
        if isinstance(user_id, int) and not isinstance(user_id, bool):
            user = user_with_organisation(user_id)
        else:
            try:
                user = User._default_manager.select_related("organisation").get(pk=user_id)
            except User.DoesNotExist:
                return None
        return user if user is not None and self.user_can_authenticate(user) else None
