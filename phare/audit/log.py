"""Writing and checking the audit log.

Each event's hash is an HMAC (keyed with the instance audit key, wrapped by the master key outside the
database) over its content and the previous event's hash, so editing, deleting or reordering any row breaks
the chain at that row, and someone holding only the database cannot recompute a forged chain. A MACed head
row records the last link and the count, so truncating the tail is caught too. On PostgreSQL a trigger refuses
UPDATE and DELETE on the table (migration audit 0002).

`record` must be called inside the transaction of the action it records: if the audit write fails, the action
is rolled back with it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone

from phare.audit.models import AuditEvent, AuditHead

GENESIS = "0" * 64


def _key() -> bytes:
    from phare.crypto.keys import instance_key

    return instance_key("audit")


def _digest(prev: str, fields: dict[str, Any], key: bytes | None = None) -> str:
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(key or _key(), (prev + payload).encode(), hashlib.sha256).hexdigest()


def _head_mac(last_id: int, last_hash: str, count: int, key: bytes | None = None) -> str:
    return hmac.new(key or _key(), f"head|{last_id}|{last_hash}|{count}".encode(), hashlib.sha256).hexdigest()


def _content(e: AuditEvent) -> dict[str, Any]:
    content = _base_content(e)
    if e.org_seq:
        content["org_seq"] = e.org_seq
        content["org_prev"] = e.org_prev_hash
    return content


def _base_content(e: AuditEvent) -> dict[str, Any]:
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
    """The client's real address behind the trusted proxies: the same answer the sign-in throttle counts by."""
    from phare.accounts.proxies import client_address

    return client_address(request)


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
        target_id = target_id or str(getattr(target, "uid", None) or target.pk)
    if organisation is None and actor is not None:
        organisation = getattr(actor, "organisation", None)
    user = getattr(request, "user", None)
    if actor is None and user is not None and user.is_authenticated:
        actor = user
        organisation = organisation or getattr(actor, "organisation", None)
    key = _key()
    # Serialise writers on the chain's tail: two concurrent events must not share a predecessor.
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(4242)")
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    org_id = getattr(organisation, "pk", organisation)
    org_seq, org_prev = 0, ""
    if org_id is not None:
        org_last = (AuditEvent.objects.filter(organisation_id=org_id, org_seq__gt=0).order_by("-id")
                    .values_list("org_seq", "hash").first())  # fmt: skip
        org_seq, org_prev = (org_last[0] + 1, org_last[1]) if org_last else (1, GENESIS)
    event = AuditEvent(
        organisation=organisation,
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        actor_name=(getattr(actor, "username", "") or "")[:150],
        action=action,
        target_type=target_type[:64],
        target_id=target_id[:64],
        ip=client_ip(request)[:64],
        at=timezone.now(),
        detail=detail or {},
        prev_hash=last or GENESIS,
        org_seq=org_seq,
        org_prev_hash=org_prev,
    )
    event.hash = _digest(event.prev_hash, _content(event), key)
    event.save()
    count = (head.count if head else 0) + 1
    values = {"last_id": event.pk, "last_hash": event.hash, "count": count,
              "mac": _head_mac(event.pk, event.hash, count, key)}  # fmt: skip
    # The head row is already locked above: one UPDATE, not update_or_create's savepoint and second read.
    if head is None:
        AuditHead.objects.create(pk=1, **values)
    else:
        AuditHead.objects.filter(pk=1).update(**values)
    return event


@dataclass
class Verdict:
    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str = ""


def verify() -> Verdict:
    """Walk the chain in id order; report the first event whose link or content does not match, or that breaks
    its organisation's own sequence; then check that the chain ends where the head says it does, and that a
    log with no events is not standing in for a wiped one."""
    key = _key()
    prev = GENESIS
    n = 0
    last_id = 0
    orgs: dict[int, tuple[int, str]] = {}  # organisation -> (its last sequence number, its last event's hash)
    for e in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        n += 1
        if e.prev_hash != prev:
            return Verdict(False, n, e.id, "link to the previous event is broken (deleted, inserted or reordered rows)")
        if not hmac.compare_digest(_digest(prev, _content(e), key), e.hash):
            return Verdict(False, n, e.id, "content does not match its hash (edited row)")
        if e.org_seq:
            seq, org_prev = orgs.get(e.organisation_id or 0, (0, GENESIS))
            if e.organisation_id is None or e.org_seq != seq + 1 or e.org_prev_hash != org_prev:
                return Verdict(False, n, e.id, f"organisation {e.organisation_id}'s own chain is broken: event "
                                               f"{e.org_seq} follows its event {seq}")  # fmt: skip
            orgs[e.organisation_id] = (e.org_seq, e.hash)
        prev = e.hash
        last_id = e.id
    head = AuditHead.objects.filter(pk=1).first()
    if head is None:
        if n:
            return Verdict(False, n, None, "the chain head is missing")
        held = _held_records()
        if held:
            return Verdict(False, 0, None, f"the log is empty, but the database holds {held}: the log was wiped")
        return Verdict(True, 0)
    if not hmac.compare_digest(_head_mac(head.last_id, head.last_hash, head.count, key), head.mac):
        return Verdict(False, n, head.last_id, "the chain head was altered")
    if head.last_id != last_id or head.last_hash != prev or head.count != n:
        return Verdict(False, n, head.last_id, "the chain is shorter or longer than its head records (truncated)")
    silent = _organisations_with_cases_but_no_events()
    if silent:
        return Verdict(False, n, None, f"organisations {silent} hold cases but have no audit event")
    return Verdict(True, n)


def verify_organisation(org_id: int) -> Verdict:
    """Check one organisation's own chain reading only its events, as a shard holding that organisation alone would:
    each event's MAC over its content and the predecessor it names, and its place in the organisation's sequence
    (numbers 1, 2, ... each naming the hash of the one before). A tail cut off after the organisation's last event is
    caught only by the global head (`verify`); docs/scale.md says what a shard needs for it."""
    key = _key()
    seq, org_prev = 0, GENESIS
    n = 0
    events = AuditEvent.objects.filter(organisation_id=org_id, org_seq__gt=0).order_by("org_seq", "id")
    for e in events.iterator(chunk_size=2000):
        n += 1
        if not hmac.compare_digest(_digest(e.prev_hash, _content(e), key), e.hash):
            return Verdict(False, n, e.id, "content does not match its hash (edited row)")
        if e.org_seq != seq + 1 or e.org_prev_hash != org_prev:
            return Verdict(False, n, e.id, f"organisation {org_id}'s own chain is broken: event {e.org_seq} follows "
                                           f"its event {seq}")  # fmt: skip
        seq, org_prev = e.org_seq, e.hash
    return Verdict(True, n)


def _held_records() -> str:
    """What the database holds that must have left audit events ("" when it holds nothing)."""
    from django.apps import apps

    counts = []
    for label, noun in (("accounts.Organisation", "organisations"), ("accounts.User", "users"), ("cases.Case", "cases")):
        found = apps.get_model(label)._default_manager.count()
        if found:
            counts.append(f"{found} {noun}")
    return ", ".join(counts)


def _organisations_with_cases_but_no_events() -> list[int]:
    from django.apps import apps

    with_cases = set(apps.get_model("cases.Case")._default_manager.values_list("organisation_id", flat=True).distinct())
    if not with_cases:
        return []
    with_events = set(AuditEvent.objects.filter(organisation_id__in=with_cases)
                      .values_list("organisation_id", flat=True).distinct())  # fmt: skip
    return sorted(with_cases - with_events)


def anchor() -> dict[str, Any]:
    """The chain head as a line to keep outside the database (`phare audit anchor`): a database restored from
    an older copy, or rewritten by someone who holds the audit key, still verifies on its own, but no longer
    contains every anchor taken since."""
    head = AuditHead.objects.filter(pk=1).first()
    if head is None:
        return {"at": timezone.now().isoformat(), "last_id": 0, "last_hash": GENESIS, "count": 0}
    return {"at": timezone.now().isoformat(), "last_id": head.last_id, "last_hash": head.last_hash, "count": head.count}


def verify_anchors(anchors: list[dict[str, Any]]) -> Verdict:
    """Every anchored head must still be in the chain: the same event with the same hash, and no fewer events."""
    count = AuditEvent.objects.count()
    for a in anchors:
        if not a.get("last_id"):
            continue
        found = AuditEvent.objects.filter(pk=a["last_id"]).values_list("hash", flat=True).first()
        if found != a["last_hash"] or count < int(a["count"]):
            return Verdict(False, count, int(a["last_id"]),
                           f"the log no longer holds the head anchored at {a.get('at')} (rolled back or rewritten)")  # fmt: skip
    return Verdict(True, count)
