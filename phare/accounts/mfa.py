"""Second factor: TOTP (RFC 6238, django-otp's implementation) and single-use recovery codes.

The TOTP secret is stored encrypted (AES-GCM under the instance MFA key, bound to the user id); recovery codes
are stored as SHA-256 hashes of 50-bit random codes (high-entropy, so a fast hash is enough) and shown once.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import secrets
from base64 import b32encode
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.utils import timezone
from django_otp.oath import TOTP  # type: ignore[import-untyped]

from phare.accounts.models import MFADevice, RecoveryCode
from phare.crypto import keys

ISSUER = "Phare"
RECOVERY_CODES = 10
TOLERANCE = 1


def _aad(user_id: int) -> bytes:
    return f"phare:totp:{user_id}".encode()


def _secret(device: MFADevice) -> bytes:
    return keys.open_bytes(keys.instance_key("mfa"), device.secret, _aad(device.user_id))


def new_device(user: Any) -> MFADevice:
    """An unconfirmed device with a fresh secret (replacing any earlier unconfirmed one)."""
    secret = os.urandom(20)
    sealed = keys.seal_bytes(keys.instance_key("mfa"), secret, _aad(user.pk))
    device, _ = MFADevice.objects.update_or_create(
        user=user, defaults={"secret": sealed, "confirmed": False, "last_t": -1}
    )
    return device


def otpauth_uri(device: MFADevice) -> str:
    secret = b32encode(_secret(device)).decode().rstrip("=")
    label = quote(f"{ISSUER}:{device.user.get_username()}")
    return f"otpauth://totp/{label}?" + urlencode({"secret": secret, "issuer": ISSUER, "digits": 6, "period": 30})


def qr_svg(text: str) -> str:
    """An inline SVG QR code (no external service, no script)."""
    import qrcode  # type: ignore[import-untyped]
    import qrcode.image.svg  # type: ignore[import-untyped]

    img = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buf = io.BytesIO()
    img.save(buf)
    svg = buf.getvalue().decode()
    return svg[svg.index("<svg") :]


def current_token(device: MFADevice, at: float | None = None) -> str:
    """The code an authenticator shows now (tests, and the demo command)."""
    totp = TOTP(_secret(device), digits=6)
    if at is not None:
        totp.time = at
    return f"{totp.token():06d}"


def verify_totp(device: MFADevice, token: str) -> bool:
    token = token.strip().replace(" ", "")
    if not token.isdigit() or len(token) != 6:
        return False
    totp = TOTP(_secret(device), digits=6)
    # min_t refuses a code already used (replay within its 30-second window).
    if totp.verify(int(token), tolerance=TOLERANCE, min_t=device.last_t + 1):
        device.last_t = totp.t()
        device.save(update_fields=["last_t"])
        return True
    return False


def _hash_code(code: str) -> str:
    return hashlib.sha256(("phare-recovery:" + code.replace("-", "").lower()).encode()).hexdigest()


def new_recovery_codes(user: Any) -> list[str]:
    """Ten fresh codes (the old ones stop working). Returned once, stored hashed."""
    RecoveryCode.objects.filter(user=user).delete()
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)
        codes.append(f"{raw[:5]}-{raw[5:]}")
    RecoveryCode.objects.bulk_create([RecoveryCode(user=user, code_hash=_hash_code(c)) for c in codes])
    return codes


def use_recovery_code(user: Any, code: str) -> bool:
    wanted = _hash_code(code.strip())
    for rc in RecoveryCode.objects.filter(user=user, used_at__isnull=True):
        if hmac.compare_digest(rc.code_hash, wanted):
            updated = RecoveryCode.objects.filter(pk=rc.pk, used_at__isnull=True).update(used_at=timezone.now())
            return updated == 1
    return False


def confirmed_device(user: Any) -> MFADevice | None:
    return MFADevice.objects.filter(user=user, confirmed=True).first()


def enrol_demo_device(user: Any) -> str:
    """Give a user a confirmed authenticator with a fresh random secret and return its otpauth:// URI (tests and
    benchmarks sign in with it through `current_token`)."""
    device = new_device(user)
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return otpauth_uri(device)


# -- the demo organisation's known authenticators -------------------------------------------------------------


class NotDemoError(ValueError):
    """Raised for a user outside the demo organisation: known secrets and printed codes are for the demo only."""


def is_demo_user(user: Any) -> bool:
    org = getattr(user, "organisation", None)
    return org is not None and org.slug == settings.PHARE_DEMO_ORG


def demo_secret(user: Any) -> bytes:
    """The demo user's TOTP secret, derived from the instance's MFA key and the user's name: the same at every
    `phare run` on this instance, and nobody without the instance's keys can work it out."""
    if not is_demo_user(user):
        raise NotDemoError(user.get_username())
    material = f"phare-demo-totp|{user.organisation.slug}|{user.pk}|{user.get_username()}".encode()
    return hmac.new(keys.instance_key("mfa"), material, hashlib.sha256).digest()[:20]


def enrol_demo_user(user: Any) -> MFADevice:
    """Enrol a demo user with their known secret, unless they already set up an authenticator of their own."""
    device = confirmed_device(user)
    if device is not None:
        return device
    sealed = keys.seal_bytes(keys.instance_key("mfa"), demo_secret(user), _aad(user.pk))
    device, _ = MFADevice.objects.update_or_create(
        user=user, defaults={"secret": sealed, "confirmed": True, "last_t": -1}
    )
    return device


def demo_code(user: Any) -> str:
    """The current code of a demo user's authenticator (`phare demo code USER`); NotDemoError for anyone else."""
    if not is_demo_user(user):
        raise NotDemoError(user.get_username())
    device = confirmed_device(user)
    if device is None:
        device = enrol_demo_user(user)
    return current_token(device)
