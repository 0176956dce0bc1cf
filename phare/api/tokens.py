"""Making, checking and revoking API tokens (`phare.api.models.ApiToken`)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from phare.api.models import ApiToken
from phare.audit import log as audit

PREFIX = "phr_"
SCOPES: dict[str, Promise] = {
    "cases:read": gettext_lazy("Read cases and their records (participants, referrals, comments, events, plans, "
                               "consents, assessments)"),
    "cases:write": gettext_lazy("Open, change and close cases, add records to them"),
    "persons:read": gettext_lazy("Read persons (identifying data)"),
    "persons:write": gettext_lazy("Create and change persons"),
    "organisations:read": gettext_lazy("Read the directory of external organisations"),
    "organisations:write": gettext_lazy("Add external organisations"),
    "tasks:read": gettext_lazy("Read tasks on the cases the user may open"),
    "tasks:write": gettext_lazy("Create and complete tasks"),
    "contacts:read": gettext_lazy("Read helpline contacts (callers' identifying data)"),
    "contacts:write": gettext_lazy("Record and update helpline contacts (for example from a telephony system)"),
}
MAX_DAYS = 366
# last_used_at is refreshed at most this often, so that reads do not write on every request.
TOUCH_EVERY = timedelta(minutes=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_scopes(scopes: Iterable[str]) -> list[str]:
    out = sorted(set(scopes))
    unknown = [s for s in out if s not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}; known: {', '.join(SCOPES)}")
    if not out:
        raise ValueError("a token needs at least one scope")
    return out


def create(user: Any, scopes: Iterable[str], days: int = 90, name: str = "", *, actor: Any = None,
           request: HttpRequest | None = None) -> tuple[ApiToken, str]:  # fmt: skip
    """A new token for `user`: returns the row and the token, which is not stored and cannot be shown again."""
    chosen = check_scopes(scopes)
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}")
    if getattr(user, "organisation_id", None) is None or not user.is_active:
        raise ValueError("only an active user of an organisation can hold an API token")
    token = PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        row = ApiToken.objects.create(user=user, name=name[:100], prefix=token[:12], digest=digest(token),
                                      scopes=chosen, expires_at=timezone.now() + timedelta(days=days))  # fmt: skip
        audit.record("api.token.create", actor=actor or user, organisation=user.organisation, target=row,
                     request=request, detail={"user": user.pk, "scopes": chosen, "days": days})  # fmt: skip
    return row, token


def revoke(row: ApiToken, *, actor: Any = None, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        if row.revoked_at is None:
            row.revoked_at = timezone.now()
            row.save(update_fields=["revoked_at"])
        audit.record("api.token.revoke", actor=actor or row.user, organisation=row.user.organisation, target=row,
                     request=request, detail={"user": row.user_id})  # fmt: skip


def authenticate(request: HttpRequest, token: str) -> ApiToken | None:
    """The active token, or None: unknown, revoked, expired, or its user inactive or without organisation.

    On success the request acts for the token's user: `request.user` is set (the security headers middleware
    then marks the response `no-store`), and on PostgreSQL the tenant of row-level security is set, as the
    middleware does for a signed-in session."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    row = ApiToken.objects.select_related("user").filter(digest=digest(token)).first()
    now = timezone.now()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = row.user
    if not user.is_active or user.organisation_id is None:
        return None
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    request.user = user
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                "SELECT set_config('phare.org_id', %s, false), set_config('phare.user_id', %s, false)",
                [str(user.organisation_id), str(user.pk)],
            )
    return row
