"""Writing and checking the audit log.

The log is a set of chains, one per organisation and one for the instance's own events (sign-in failures,
operators' actions), so that organisations never wait on each other's audit writes and each organisation's log
can be kept and checked on its own (docs/scale.md). Each event's hash is an HMAC (keyed with the instance audit
key, wrapped by the master key outside the database) over its content, its number in its chain and the previous
event's hash, so editing, deleting or reordering any row breaks its chain at that row, and someone holding only
the database cannot recompute a forged chain. A MACed head row per chain records its last link and its length,
so truncating a tail is caught too; the instance chain records the start of every organisation's chain, so
removing a whole organisation's chain with its head is caught as well. On PostgreSQL a trigger refuses UPDATE and
DELETE on the table (migration audit 0003).

Logs written before chains per organisation hold one chain across the instance (each event naming the event
before it in id order): its head stays as it was (chain "global") and still covers those events.

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
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from phare.audit.models import AuditEvent, AuditHead
from phare.core.prepared import Prepared, PreparedInsert, PreparedUpdate

GENESIS = "0" * 64
INSTANCE = "instance"  # the chain of events without an organisation
LEGACY = "global"  # the head of the single chain of a log written before chains per organisation
CHAIN_STARTED = "audit.chain_started"


def _key() -> bytes:
    from phare.crypto.keys import instance_key

    return instance_key("audit")


def _digest(prev: str, fields: dict[str, Any], key: bytes | None = None) -> str:
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(key or _key(), (prev + payload).encode(), hashlib.sha256).hexdigest()


def _head_mac(last_id: int, last_hash: str, count: int, key: bytes | None = None, chain: str = LEGACY) -> str:
    # The chain's name is under the MAC: one chain's head cannot stand in for another's.
    label = "head" if chain == LEGACY else f"head|{chain}"
    return hmac.new(key or _key(), f"{label}|{last_id}|{last_hash}|{count}".encode(), hashlib.sha256).hexdigest()


def chain_of(organisation_id: int | None) -> str:
    return INSTANCE if organisation_id is None else f"org:{organisation_id}"


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
    org_id = getattr(organisation, "pk", organisation)
    event = AuditEvent(
        organisation_id=org_id,
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        actor_name=(getattr(actor, "username", "") or "")[:150],
        action=action,
        target_type=target_type[:64],
        target_id=target_id[:64],
        ip=client_ip(request)[:64],
        at=timezone.now(),
        detail=detail or {},
    )
    key = _key()
    chain = chain_of(org_id)
    # Everything above runs before the chain's lock; from here to the commit, writers of this chain (only this
    # one: other organisations have their own) wait. Callers record last in their transaction for that reason.
    head = _locked_head(chain, org_id, key)
    event.org_seq, event.org_prev_hash = head.count + 1, head.last_hash
    event.prev_hash = head.last_hash
    event.hash = _digest(event.prev_hash, _content(event), key)
    _insert_event(event)
    _move_head(head.pk, event.pk, event.hash, event.org_seq, _head_mac(event.pk, event.hash, event.org_seq, key, chain))
    return event


# The chain's append, last in every audited transaction, as `event.save()` and `AuditHead.objects.filter(pk=...)
# .update(...)` would run it, their SQL built once per database vendor (tests/test_audit_prepared.py compares both
# with the ORM's).
_EVENT_INSERT = PreparedInsert(AuditEvent)
_HEAD_MOVE = PreparedUpdate(AuditHead, ("last_id", "last_hash", "count", "mac"), (int, str, int, str))


def _insert_event(event: AuditEvent) -> None:
    _EVENT_INSERT.insert(event, using=connection.alias)


def _move_head(head_id: int, last_id: int, last_hash: str, count: int, mac: str) -> None:
    _HEAD_MOVE.update(head_id, last_id, last_hash, count, mac, using=connection.alias)


HEAD_FIELDS = [f.attname for f in AuditHead._meta.concrete_fields]  # in the model's order, as from_db takes them


def _heads(chain: str, org_id: int | None) -> QuerySet[AuditHead]:
    heads = AuditHead.objects.select_for_update().filter(chain=chain)
    # Named by its organisation too: on a database sharded by organisation the query goes to that one node.
    return heads.filter(organisation_id__isnull=True) if org_id is None else heads.filter(organisation_id=org_id)


def _head_query(chain: str, org_id: int | None) -> QuerySet[Any]:
    return _heads(chain, org_id).order_by("pk").values_list(*HEAD_FIELDS)[:1]


# Every audited request locks its chain's head: the same statement each time, built once.
_ORG_HEAD = Prepared(_head_query, str, int)
_INSTANCE_HEAD = Prepared(lambda chain: _head_query(chain, None), str)


def _locked_head(chain: str, org_id: int | None, key: bytes) -> AuditHead:
    """The chain's head, locked until the transaction ends: two events of one chain must not share a predecessor.
    One statement in the common case (the row lock is taken and the latest committed head read together)."""
    found = _INSTANCE_HEAD.rows(chain) if org_id is None else _ORG_HEAD.rows(chain, org_id)
    if found:
        return AuditHead.from_db(connection.alias, HEAD_FIELDS, found[0])
    # The chain's first event since the log had chains per organisation: nothing to lock yet, so serialise the
    # head's creation (SQLite runs one writer at a time anyway).
    heads = _heads(chain, org_id)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(4242, %s)", [org_id or 0])
        head = heads.first()
        if head is not None:
            return head
    # An organisation's chain may have begun inside the single chain (events numbered before its head existed).
    last = (AuditEvent.objects.filter(organisation_id__isnull=org_id is None, org_seq__gt=0)
            .filter(**({} if org_id is None else {"organisation_id": org_id})).order_by("-org_seq")
            .values_list("id", "org_seq", "hash").first())  # fmt: skip
    last_id, count, last_hash = last or (0, 0, GENESIS)
    head = AuditHead.objects.create(chain=chain, organisation_id=org_id, last_id=last_id, last_hash=last_hash,
                                    count=count, mac=_head_mac(last_id, last_hash, count, key, chain))  # fmt: skip
    if org_id is not None:
        # The instance chain names every organisation's chain: a whole chain removed with its head is missed.
        record(CHAIN_STARTED, organisation=None, target_type="accounts.organisation", target_id=str(org_id))
    return head


@dataclass
class Verdict:
    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str = ""


def verify() -> Verdict:
    """Walk the log in id order; report the first event whose content does not match its MAC, whose link to its
    predecessor is broken, or that breaks its chain's numbering; then check that each chain ends where its head
    says it does, that the instance chain names every organisation's chain, and that a log with no events is not
    standing in for a wiped one."""
    key = _key()
    heads = {h.chain: h for h in AuditHead.objects.all()}
    legacy = heads.pop(LEGACY, None)
    legacy_end = legacy.last_id if legacy is not None else 0
    prev, legacy_n, n = GENESIS, 0, 0
    chains: dict[str, tuple[int, str, int]] = {}  # chain -> (its last number, its last hash, its last event's id)
    started: dict[str, int] = {}  # organisation chain -> how many times the instance chain says it started
    for e in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        n += 1
        if e.id <= legacy_end:  # the single chain of an older log: each event names the one before it
            linked = e.prev_hash == prev
            prev, legacy_n = e.hash, legacy_n + 1
        else:  # each event names its own chain's previous event
            linked = e.org_seq > 0 and e.prev_hash == e.org_prev_hash
        if not linked:
            return Verdict(False, n, e.id, "link to the previous event is broken (deleted, inserted or reordered rows)")
        if not hmac.compare_digest(_digest(e.prev_hash, _content(e), key), e.hash):
            return Verdict(False, n, e.id, "content does not match its hash (edited row)")
        if e.org_seq:
            chain = chain_of(e.organisation_id)
            seq, last, _ = chains.get(chain, (0, GENESIS, 0))
            if e.org_seq != seq + 1 or e.org_prev_hash != last:
                return Verdict(
                    False, n, e.id, f"the chain {chain} is broken: event {e.org_seq} follows its event {seq}"
                )
            chains[chain] = (e.org_seq, e.hash, e.id)
            if e.action == CHAIN_STARTED and e.organisation_id is None:
                named = f"org:{e.target_id}"
                started[named] = started.get(named, 0) + 1
    if legacy is not None:
        if not hmac.compare_digest(_head_mac(legacy.last_id, legacy.last_hash, legacy.count, key), legacy.mac):
            return Verdict(False, n, legacy.last_id, "the chain head was altered")
        if legacy.last_hash != prev or legacy.count != legacy_n:
            return Verdict(False, n, legacy.last_id, "the chain is shorter or longer than its head records (truncated)")
    for chain, (_, _, last_id) in chains.items():
        if chain not in heads and last_id > legacy_end:
            return Verdict(False, n, None, f"the head of the chain {chain} is missing")
    for chain, head in heads.items():
        if not hmac.compare_digest(_head_mac(head.last_id, head.last_hash, head.count, key, chain), head.mac):
            return Verdict(False, n, head.last_id, "the chain head was altered")
        if (head.count, head.last_hash, head.last_id) != chains.get(chain, (0, GENESIS, 0)):
            return Verdict(False, n, head.last_id, f"the chain {chain} is shorter or longer than its head records "
                                                   f"(truncated)")  # fmt: skip
    unnamed = sorted(c for c in heads if c != INSTANCE and started.get(c) != 1)
    if unnamed or set(started) - set(heads):
        return Verdict(False, n, None, f"the instance chain does not name exactly the organisations' chains "
                                       f"{unnamed or sorted(set(started) - set(heads))}")  # fmt: skip
    if not n and legacy is None and not heads:
        held = _held_records()
        if held:
            return Verdict(False, 0, None, f"the log is empty, but the database holds {held}: the log was wiped")
        return Verdict(True, 0)
    silent = _organisations_with_cases_but_no_events()
    if silent:
        return Verdict(False, n, None, f"organisations {silent} hold cases but have no audit event")
    return Verdict(True, n)


def verify_organisation(org_id: int) -> Verdict:
    """Check one organisation's own chain reading only its events and its head, as a shard holding that
    organisation alone would: each event's MAC over its content and the predecessor it names, its place in the
    organisation's sequence (numbers 1, 2, ... each naming the hash of the one before), and the MACed head that
    records where the chain ends (a cut-off tail). Events numbered inside the single chain of an older log name
    their predecessor in that chain, which only `verify` can check."""
    key = _key()
    chain = chain_of(org_id)
    seq, org_prev, last_id = 0, GENESIS, 0
    n = 0
    events = AuditEvent.objects.filter(organisation_id=org_id, org_seq__gt=0).order_by("org_seq", "id")
    for e in events.iterator(chunk_size=2000):
        n += 1
        if not hmac.compare_digest(_digest(e.prev_hash, _content(e), key), e.hash):
            return Verdict(False, n, e.id, "content does not match its hash (edited row)")
        if e.org_seq != seq + 1 or e.org_prev_hash != org_prev:
            return Verdict(False, n, e.id, f"the chain {chain} is broken: event {e.org_seq} follows its event {seq}")
        seq, org_prev, last_id = e.org_seq, e.hash, e.id
    head = AuditHead.objects.filter(chain=chain).first()
    if head is None:
        legacy_end = AuditHead.objects.filter(chain=LEGACY).values_list("last_id", flat=True).first() or 0
        if last_id > legacy_end:
            return Verdict(False, n, None, f"the head of the chain {chain} is missing")
        return Verdict(True, n)
    if not hmac.compare_digest(_head_mac(head.last_id, head.last_hash, head.count, key, chain), head.mac):
        return Verdict(False, n, head.last_id, "the chain head was altered")
    if (head.count, head.last_hash, head.last_id) != (seq, org_prev, last_id):
        return Verdict(False, n, head.last_id, f"the chain {chain} is shorter or longer than its head records "
                                               f"(truncated)")  # fmt: skip
    return Verdict(True, n)


def _held_records() -> str:
    """What the database holds that must have left audit events ("" when it holds nothing)."""
    from django.apps import apps

    counts = []
    for label, noun in (
        ("accounts.Organisation", "organisations"),
        ("accounts.User", "users"),
        ("cases.Case", "cases"),
    ):
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
    """Every chain's head as a line to keep outside the database (`phare audit anchor`): a database restored from
    an older copy, or rewritten by someone who holds the audit key, still verifies on its own, but no longer
    contains every anchor taken since."""
    heads = {h.chain: {"last_id": h.last_id, "last_hash": h.last_hash, "count": h.count}
             for h in AuditHead.objects.order_by("chain")}  # fmt: skip
    return {"at": timezone.now().isoformat(), "heads": heads}


def _chain_length(chain: str, last_id: int) -> int:
    if chain == LEGACY:
        return AuditEvent.objects.filter(id__lte=last_id).count()
    events = AuditEvent.objects.filter(org_seq__gt=0)
    if chain == INSTANCE:
        return events.filter(organisation_id__isnull=True).count()
    return events.filter(organisation_id=int(chain.removeprefix("org:"))).count()


def verify_anchors(anchors: list[dict[str, Any]]) -> Verdict:
    """Every anchored head must still be in its chain: the same event with the same hash, and no fewer events.
    (An anchor taken before chains per organisation names the single chain's head alone.)"""
    count = AuditEvent.objects.count()
    for a in anchors:
        heads = a.get("heads", {LEGACY: a})
        for chain, h in sorted(heads.items()):
            if not h.get("last_id"):
                continue
            found = AuditEvent.objects.filter(pk=h["last_id"]).values_list("hash", flat=True).first()
            if found != h["last_hash"] or _chain_length(chain, int(h["last_id"])) < int(h["count"]):
                return Verdict(False, count, int(h["last_id"]),
                               f"the log no longer holds the head of {chain} anchored at {a.get('at')} "
                               f"(rolled back or rewritten)")  # fmt: skip
    return Verdict(True, count)
