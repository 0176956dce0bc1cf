"""The one narrow path by which a referral crosses from one tenant to another on this instance.

Nothing here switches tenants. The sender, acting for its own organisation, inserts one `Transfer` row naming
the receiver, with the chosen parts sealed under the receiver's data key; the receiver, acting for its own
organisation, reads that row (the two-party policy in `phare.rls` lets exactly the two parties see it), opens
the payload and writes its copy into its own tenant with its own keys. Either party then changes the row's
status through the verbs in `phare.referrals.actions`; no one else can see or touch it.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils import timezone

from phare.crypto import keys
from phare.referrals.models import Status, Transfer


class PayloadGone(Exception):  # noqa: N818
    """The payload was erased (accepted, declined, withdrawn, consent withdrawn) or is not for this reader."""


def _aad(transfer: Transfer) -> bytes:
    return f"phare:referral:{transfer.uid}:{transfer.organisation_id}:{transfer.receiver_id}".encode()


def seal(transfer: Transfer, bundle: dict[str, Any]) -> str:
    pk, key = keys.active_org_key(transfer.receiver_id, "data")
    body = json.dumps(bundle, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return f"{pk}.{keys.fingerprint(key)}:{keys.seal_bytes(key, body, _aad(transfer))}"


def deliver(transfer: Transfer, bundle: dict[str, Any]) -> Transfer:
    """Insert the transfer (built by the sender's verb, not yet saved) with its sealed payload."""
    transfer.sent_at = transfer.sent_at or timezone.now()
    transfer.status = Status.RECEIVED
    transfer.history = [{"status": Status.RECEIVED.value, "at": transfer.sent_at.isoformat()}]
    transfer.payload = seal(transfer, bundle)
    transfer.save()
    return transfer


def open_payload(transfer: Transfer, organisation_id: int) -> dict[str, Any]:
    """The bundle, for the receiver only, while the payload still exists."""
    if transfer.receiver_id != organisation_id or not transfer.payload:
        raise PayloadGone(str(transfer.uid))
    head, _, token = transfer.payload.partition(":")
    pk, _, fp = head.partition(".")
    key = keys.org_key_by_id(int(pk), fp)
    data: dict[str, Any] = json.loads(keys.open_bytes(key, token, _aad(transfer)))
    return data


def settle(transfer: Transfer, status: str, *, erase: bool = False, **fields: Any) -> None:
    """Move the transfer to `status`, appending it (and its time, nothing else) to the history."""
    transfer.status = status
    transfer.history = [*transfer.history, {"status": status, "at": timezone.now().isoformat()}]
    if erase:
        transfer.payload = ""
    for name, value in fields.items():
        setattr(transfer, name, value)
    transfer.save()
