"""Encryption of personal fields at rest, and blind indexes for exact-match lookups on them.

First version: `blind_index` is a keyed HMAC with the instance secret. The trust layer replaces it with
per-organisation keys wrapped by a master key (see docs/architecture.md).
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def blind_index(organisation_id: int, kind: str, normalised_value: str) -> str:
    """A keyed hash of an already-normalised value (E.164 phone, lower-case e-mail, a folded name token)."""
    key = hashlib.sha256(f"{settings.SECRET_KEY}:blind:{organisation_id}".encode()).digest()
    return hmac.new(key, f"{kind}:{normalised_value}".encode(), hashlib.sha256).hexdigest()[:32]
