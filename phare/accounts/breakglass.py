"""Break-glass: emergency access to one record the user cannot otherwise open, with a reason, for at most three
hours, reviewed afterwards by a supervisor, an admin or the auditor.

A grant opens exactly its record on every page and the API (`phare.access.restricted_open`, which
`phare.cases.access.visible_cases` adds to what a case worker sees) until it expires or a reviewer revokes it.
Each verb runs in one transaction with its audit event.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone

from phare.accounts.models import BreakGlassGrant
from phare.accounts.permissions import BREAK_GLASS, REVIEW_BREAK_GLASS, can
from phare.audit.log import record


def grant(actor: Any, row: Model, reason: str, hours: int, request: HttpRequest | None = None) -> BreakGlassGrant:
    """Open `row` (a record of the actor's organisation with a `uid`) to the actor for `hours` (1 to 3)."""
    if not can(actor, BREAK_GLASS):
        raise PermissionDenied
    if getattr(row, "organisation_id", None) != actor.organisation_id:
        raise PermissionDenied
    reason = (reason or "").strip()
    if len(reason) < 15:
        raise ValueError("a break-glass grant needs a reason of at least 15 characters")
    if not 1 <= int(hours) <= BreakGlassGrant.MAX_DURATION_HOURS:
        raise ValueError(f"a break-glass grant lasts 1 to {BreakGlassGrant.MAX_DURATION_HOURS} hours")
    now = timezone.now()
    with transaction.atomic():
        g = BreakGlassGrant.objects.create(
            organisation_id=actor.organisation_id, user=actor, target_type=row._meta.label_lower,
            target_uid=row.uid,  # type: ignore[attr-defined]
            reason=reason, granted_at=now, expires_at=now + timedelta(hours=int(hours)),
        )  # fmt: skip
        record("breakglass.granted", actor=actor, target=row, request=request,
               detail={"grant": g.pk, "reason": g.reason, "expires_at": g.expires_at.isoformat(),
                       **({"case": row.number} if hasattr(row, "number") else {})})  # fmt: skip
        from phare.work.actions.notifications import break_glass_used

        break_glass_used(actor, row)
    return g


def review(actor: Any, g: BreakGlassGrant, note: str, revoke: bool, request: HttpRequest | None = None) -> None:
    """Mark a grant reviewed (nobody reviews their own), and end it now if `revoke`."""
    if not can(actor, REVIEW_BREAK_GLASS) or g.organisation_id != actor.organisation_id:
        raise PermissionDenied
    if g.user_id == actor.pk:
        raise PermissionDenied  # nobody reviews their own emergency access
    with transaction.atomic():
        g.reviewed_by = actor
        g.reviewed_at = timezone.now()
        g.review_note = (note or "")[:2000]
        if revoke:
            g.expires_at = min(g.expires_at, g.reviewed_at)
        g.save()
        record("breakglass.reviewed", actor=actor, request=request, target_type="accounts.breakglassgrant",
               target_id=str(g.pk), detail={"note": g.review_note, "revoked": bool(revoke)})  # fmt: skip
