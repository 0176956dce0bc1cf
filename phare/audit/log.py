"""Writing and checking the audit log.

Each event's hash covers its content and the previous event's hash, so editing, deleting or reordering any
row breaks the chain at that row. `record` must be called inside the transaction of the action it records:
if the audit write fails, the action is rolled back with it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone

from phare.audit.models import AuditEvent

GENESIS = "0" * 64


def _digest(prev: str, fields: dict[str, Any]) -> str:
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev + payload).encode()).hexdigest()


def _content(e: AuditEvent) -> dict[str, Any]:
    return {
        "organisation": e.organisation_id,
        "actor": e.actor_id,
        "actor_name": e.actor_name,
        "action": e.action,
        "target_type": e.target_type,
        "target_id": e.target_id,
        "ip": e.ip,
        "at": e.at.isoformat(),
        "detail": e.detail,
    }


def client_ip(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR", ""))


def record(
    action: str,
    *,
    actor: Any = None,
    organisation: Any = None,
    target: Model | None = None,
    target_type: str = "",
    target_id: str = "",
    request: HttpRequest | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the transaction of the action it records")
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    if organisation is None and actor is not None:
        organisation = getattr(actor, "organisation", None)
    # Serialise writers on the chain's tail: two concurrent events must not share a predecessor.
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(4242)")
    last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    event = AuditEvent(
        organisation=organisation,
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", "") or "",
        action=action,
        target_type=target_type,
        target_id=target_id,
        ip=client_ip(request),
        at=timezone.now(),
        detail=detail or {},
        prev_hash=last or GENESIS,
    )
    event.hash = _digest(event.prev_hash, _content(event))
    event.save()
    return event


@dataclass
class Verdict:
    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str = ""


def verify() -> Verdict:
    """Walk the chain in id order; report the first event whose link or content does not match."""
    prev = GENESIS
    n = 0
    for e in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        n += 1
        if e.prev_hash != prev:
            return Verdict(False, n, e.id, "link to the previous event is broken (deleted or reordered rows)")
        if _digest(prev, _content(e)) != e.hash:
            return Verdict(False, n, e.id, "content does not match its hash (edited row)")
        prev = e.hash
    return Verdict(True, n)
