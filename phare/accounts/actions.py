"""The verbs on user accounts that have no form of their own: each in one transaction with its audit event."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest

from phare.accounts.models import User
from phare.audit.log import record


@transaction.atomic
def deactivate_user(actor: User, target: User, *, request: HttpRequest | None = None) -> None:
    """The user can no longer sign in; their open sessions end at their next request (the session hash covers the
    active flag, and the epoch is bumped as well). Nothing they wrote is removed."""
    target.is_active = False
    target.session_epoch += 1
    target.save(update_fields=["is_active", "session_epoch"])
    record("user.deactivated", actor=actor, target=target, request=request)


@transaction.atomic
def reactivate_user(actor: User, target: User, *, request: HttpRequest | None = None) -> None:
    target.is_active = True
    target.save(update_fields=["is_active"])
    record("user.reactivated", actor=actor, target=target, request=request)
