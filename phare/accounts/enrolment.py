"""One-time enrolment codes: what a user needs, besides their password, to enrol a second factor.

An administrator (or the command line, for an organisation's first admin) issues a code; it is shown once, handed
over by another channel than the password (in person, by phone), and lets its user enrol one authenticator. A
stolen password alone therefore never lets an attacker enrol their own authenticator on an account that has none
(a new account, or one whose second factor an administrator reset).

Codes are 16 characters of Crockford base32 (80 random bits), stored as a SHA-256 hash (high entropy, so a fast
hash is enough, as for recovery codes), valid for PHARE_ENROLMENT_CODE_HOURS (72 h by default), single use.
Issuing a new code voids the user's earlier unused ones. Wrong codes count as failed sign-in guesses
(phare.accounts.throttle), like wrong passwords.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from phare.accounts.models import EnrolmentCode
from phare.audit.log import record

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O or U to misread
LENGTH = 16  # 80 bits


def lifetime() -> timedelta:
    return timedelta(hours=getattr(settings, "PHARE_ENROLMENT_CODE_HOURS", 72))


def _normalise(code: str) -> str:
    """What a person types, as the code was issued: case, spaces and dashes ignored, look-alikes read as digits."""
    cleaned = "".join(ch for ch in code.upper() if ch not in " -\t")
    return cleaned.translate(str.maketrans("OIL", "011"))


def _hash(code: str) -> str:
    return hashlib.sha256(("phare-enrolment:" + _normalise(code)).encode()).hexdigest()


def issue_code(user: Any, *, issued_by: Any = None, request: HttpRequest | None = None) -> str:
    """A fresh enrolment code for `user`, returned once (only its hash is kept); earlier unused codes stop
    working. Records `user.enrolment_code_issued` (never the code) in the caller's transaction, or its own."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    code = "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))
    now = timezone.now()
    with transaction.atomic():
        EnrolmentCode.objects.filter(user=user, used_at__isnull=True).delete()
        row = EnrolmentCode.objects.create(
            user=user, code_hash=_hash(code), issued_by=issued_by, created=now, expires_at=now + lifetime()
        )
        record(
            "user.enrolment_code_issued", actor=issued_by, organisation=getattr(user, "organisation", None),
            target=user, request=request, detail={"expires_at": row.expires_at.isoformat()},
        )  # fmt: skip
    return code


def pending(user: Any) -> EnrolmentCode | None:
    """The user's unused, unexpired code, if any."""
    return (
        EnrolmentCode.objects.filter(user=user, used_at__isnull=True, expires_at__gt=timezone.now())
        .order_by("-created")
        .first()
    )


def check(user: Any, code: str) -> EnrolmentCode | None:
    """The user's valid code matching `code`, or None (wrong, used, expired, or another user's)."""
    found = pending(user)
    if found is None or not code.strip():
        return None
    return found if hmac.compare_digest(found.code_hash, _hash(code)) else None


def redeem(row: EnrolmentCode) -> bool:
    """Use up a code `pending` just returned: once only, even when two sessions redeem it at the same time."""
    updated = EnrolmentCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=timezone.now())
    return updated == 1
