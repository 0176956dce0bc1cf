"""Test helpers: a client signed in as if the user had passed both factors."""

from __future__ import annotations

import time
from typing import Any

from django.test import Client

from phare.accounts.middleware import SESSION_MFA, SESSION_SEEN, SESSION_STARTED


def mark_verified(client: Client) -> None:
    """Mark the client's current session as having passed the second factor just now."""
    session = client.session
    now = time.time()
    session[SESSION_MFA] = True
    session[SESSION_STARTED] = now
    session[SESSION_SEEN] = now
    session.save()


def login_with_mfa(client: Client, user: Any) -> Client:
    """`client.force_login(user)` plus a verified second factor (the real flow is tested in tests/test_mfa.py)."""
    _original_force_login(client, user)
    mark_verified(client)
    return client


_original_force_login = Client.force_login


def install_force_login_shim() -> None:
    """Make `Client.force_login` sign in with both factors (tests/conftest.py installs this for the suite)."""

    def force_login(self: Client, user: Any, backend: str | None = None) -> None:
        _original_force_login(self, user, backend)
        mark_verified(self)

    Client.force_login = force_login  # type: ignore[method-assign,assignment]


# -- tenant rows for isolation and encryption tests -----------------------------------------------------------

MARKER_DATE = "1911-11-11"


def tenant_models() -> list[type[Any]]:
    """Every managed model with an `organisation` foreign key (the tenant-owned tables)."""
    from django.apps import apps

    out = []
    for model in apps.get_models():
        meta = model._meta
        tenant = "organisation_id" in {f.attname for f in meta.concrete_fields}
        skip = meta.label_lower in {"accounts.user", "audit.auditevent", "audit.audithead", "accounts.organisationkey"}
        if meta.managed and not meta.proxy and tenant and not skip:
            out.append(model)
    return out


def build_tenant_rows(org: Any, user: Any, marker: str) -> dict[type[Any], Any]:
    """One row of every tenant model for `org`, every encrypted text field holding a unique string that
    starts with `marker` (encrypted dates hold MARKER_DATE). Required foreign keys are built on the way."""
    import datetime
    import itertools
    import uuid

    from django.db import models
    from django.utils import timezone

    from phare.accounts.models import Organisation, PersonKey
    from phare.crypto.fields import EncryptedDateField, EncryptedTextField

    built: dict[type[Any], Any] = {}
    counter = itertools.count(1)

    def value_for(field: Any) -> Any:
        if isinstance(field, EncryptedDateField):
            return datetime.date.fromisoformat(MARKER_DATE)
        if isinstance(field, EncryptedTextField):
            return f"{marker}-{field.model._meta.model_name}-{field.name}-{next(counter)}"
        if field.choices:
            return field.choices[0][0]
        if isinstance(field, models.DateTimeField):
            return datetime.datetime.now(datetime.UTC)
        if isinstance(field, models.DateField):
            return timezone.localdate()
        if isinstance(field, models.UUIDField):
            return uuid.uuid4()
        if isinstance(field, models.BooleanField):
            return False
        if isinstance(field, models.FloatField | models.DecimalField):
            return 1
        if isinstance(field, models.IntegerField):
            return next(counter)
        if isinstance(field, models.JSONField):
            return {}
        if isinstance(field, models.CharField | models.TextField):
            return f"x{next(counter)}"[: field.max_length or 100]
        raise TypeError(f"no test value for {field}")

    def build(model: type[Any]) -> Any:
        if model in built:
            return built[model]
        if model is Organisation:
            return org
        if model._meta.label_lower == "accounts.user":
            return user
        kwargs: dict[str, Any] = {}
        for field in model._meta.concrete_fields:
            if field.primary_key or getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                continue
            if isinstance(field, EncryptedTextField):
                kwargs[field.name] = value_for(field)
            elif field.is_relation:
                target = field.related_model
                if field.name == "organisation":
                    kwargs[field.name] = org
                elif target._meta.label_lower == "accounts.user":
                    kwargs[field.name] = user
                elif target is model or (field.null and target is not Organisation) or field.null:
                    continue
                else:
                    kwargs[field.name] = build(target)
            elif (
                field.has_default()
                or field.null
                or (isinstance(field, models.CharField | models.TextField) and not field.choices and field.blank)
            ):
                continue
            else:
                kwargs[field.name] = value_for(field)
        if model is PersonKey:
            return None
        obj = model._default_manager.create(**kwargs)
        built[model] = obj
        return obj

    from django.db import connection

    existing = set(connection.introspection.table_names())  # skip models whose migration is not written yet
    for model in tenant_models():
        if model is not PersonKey and model._meta.db_table in existing:
            build(model)
    return built
