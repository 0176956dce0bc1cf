"""The hook through which referral events reach people: `notify` is called inside each verb's transaction.

Phare's own notification centre (the worklist) registers a listener here; until one is registered the inbox
page and its count are how a receiving organisation learns of a referral. A listener gets the organisation to
tell, the event name (`referral.arrived`, `referral.withdrawn`, `referral.consent_withdrawn`,
`referral.accepted`, `referral.declined`, `referral.services_started`, `referral.closed`) and the transfer's
uid: never the referral's content.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

Listener = Callable[[int, str, UUID], None]
LISTENERS: list[Listener] = []


def notify(organisation_id: int, event: str, transfer_uid: UUID) -> None:
    for listener in LISTENERS:
        listener(organisation_id, event, transfer_uid)
