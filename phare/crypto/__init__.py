"""Encryption of personal fields at rest, and blind indexes for exact-match lookups on them.

`blind_index` is an HMAC-SHA256 keyed with the organisation's own index key (wrapped by the master key like
every organisation key, see `phare.crypto.keys`): the same value gives unrelated indexes in two organisations,
and nobody holding only the database can test guesses against it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable


def blind_index(organisation_id: int, kind: str, normalised_value: str) -> str:
    """A keyed hash of an already-normalised value (E.164 phone, lower-case e-mail, a folded name token)."""
    from phare.crypto.keys import active_org_key

    _, key = active_org_key(organisation_id, "index")
    return hmac.new(key, f"{kind}:{normalised_value}".encode(), hashlib.sha256).hexdigest()[:32]


def blind_indexer(organisation_id: int) -> Callable[[str, str], str]:
    """`blind_index` for many values: the organisation's index key is fetched and unwrapped once.

    For one long read-only pass (an import's duplicate check), where no transaction scopes the key cache."""
    from phare.crypto.keys import active_org_key

    _, key = active_org_key(organisation_id, "index")

    def index(kind: str, normalised_value: str) -> str:
        return hmac.new(key, f"{kind}:{normalised_value}".encode(), hashlib.sha256).hexdigest()[:32]

    return index
