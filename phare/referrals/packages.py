"""Referral packages between instances (and to and from any HTCDS system): docs/referral-package.md is the spec.

A package is a JWE (compact; ECDH-ES with X25519, A256GCM) addressed to the recipient organisation's encryption
key, whose plaintext is a JWS (compact; EdDSA with Ed25519) by the sending organisation over a JSON claims set:
id, issuer, audience, issue and expiry times, the HTCDS version, and the bundle of the chosen parts. Through
joserfc; every key is an RFC 7638 thumbprint-named JWK.

Organisation key pairs: the private keys are sealed with the organisation's data key (phare.crypto.keys, its
key-encryption key); `rotate` makes a new active pair and keeps the old one for packages addressed to it.
Cards: JSON with the organisation's name, country, services and public keys, and a fingerprint over the keys
that partners compare out of band before `trust`.

Opening checks, in order, each refusing with its stable code (`REASONS`): the envelope's form and algorithms,
the addressee key, decryption (a changed byte fails here or at the signature), the signature's algorithm and
a trusted signer, the signature, the addressee and issuer in the claims, expiry, replay, and the bundle against
the HTCDS JSON Schema and Phare's validator. A dry run stops there and reports whether the person matches
someone already known; otherwise the case is imported through the same verbs as a referral on one instance.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
import uuid
import warnings
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy
from joserfc import jwe, jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from htcds.schema import bundle_schema
from phare.accounts.models import Organisation
from phare.accounts.permissions import READ_PERSONAL, REFER, can
from phare.audit import log as audit
from phare.cases import actions as case_actions
from phare.cases.models import Case, ExternalOrganisation
from phare.crypto import keys
from phare.referrals import actions, parts
from phare.referrals.models import OpenedPackage, OrganisationKeyPair, TrustedCard, Urgency

# The issue and the interoperable JOSE libraries name Ed25519 signatures "EdDSA" (RFC 8037); RFC 9864's
# fully-specified "Ed25519" is newer than most of them. Same key, same bytes.
warnings.filterwarnings("ignore", message="EdDSA is deprecated", module="joserfc")

SPEC = "phare-referral-package/1"
CARD_SPEC = "phare-organisation-card/1"
SIGN_ALG, KEY_ALG, ENC_ALG = "EdDSA", "ECDH-ES", "A256GCM"
JWS_TYP, JWE_TYP = "htcds-referral+jws", "htcds-referral+jwe"
DEFAULT_TTL = 14 * 24 * 3600
CLOCK_SKEW = 300

REASONS = {
    "package-malformed": gettext_lazy("This is not a referral package."),
    "package-algorithm": gettext_lazy("The package uses algorithms Phare does not accept."),
    "package-not-addressed": gettext_lazy("The package is addressed to another organisation."),
    "package-tampered": gettext_lazy("The package was changed after it was made, or is damaged."),
    "package-unsigned": gettext_lazy("The package is not signed."),
    "package-untrusted": gettext_lazy("The package is signed by an organisation you do not trust."),
    "package-expired": gettext_lazy("The package has expired."),
    "package-not-yet-valid": gettext_lazy("The package claims to be made in the future."),
    "package-replayed": gettext_lazy("This package was already opened."),
    "package-invalid-bundle": gettext_lazy("The case bundle in the package does not pass the HTCDS checks."),
    "card-invalid": gettext_lazy("This is not an organisation card."),
    "card-fingerprint": gettext_lazy("The card's fingerprint is not the one you were given."),
    "partner-untrusted": gettext_lazy("Trust the partner's card first."),
}


class PackageRefused(Exception):  # noqa: N818 - reads as packages.PackageRefused
    def __init__(self, code: str, detail: str = "") -> None:
        self.code, self.detail = code, detail
        super().__init__(f"{code}: {REASONS[code]}" + (f" ({detail})" if detail else ""))

    @property
    def message(self) -> str:
        return str(REASONS[self.code]) + (f" ({self.detail})" if self.detail else "")


# --- organisation keys and cards ----------------------------------------------------------------------------


def org_uri(org: Organisation) -> str:
    return f"urn:phare:org:{org.slug}"


def _public(key: OKPKey, use: str, alg: str) -> dict[str, Any]:
    jwk = {k: v for k, v in key.as_dict(private=False).items() if k in ("kty", "crv", "x")}
    return {**jwk, "kid": key.thumbprint(), "use": use, "alg": alg}


def _aad(org_id: int, kid: str) -> bytes:
    return f"phare:orgkeypair:{org_id}:{kid}".encode()


def keypair(org: Organisation) -> OrganisationKeyPair:
    """The organisation's active key pair, made on first use."""
    kp = OrganisationKeyPair.objects.filter(organisation=org, active=True).first()
    return kp or _new_keypair(org)


def _new_keypair(org: Organisation) -> OrganisationKeyPair:
    sign, enc = OKPKey.generate_key("Ed25519"), OKPKey.generate_key("X25519")
    kid = sign.thumbprint()
    wrap_pk, wrap_key = keys.active_org_key(org.pk, "data")
    private = json.dumps({"sign": sign.as_dict(private=True), "enc": enc.as_dict(private=True)}).encode()
    return OrganisationKeyPair.objects.create(
        organisation=org, kid=kid, sign_public=json.dumps(_public(sign, "sig", SIGN_ALG)),
        enc_public=json.dumps(_public(enc, "enc", KEY_ALG)), wrapping_key_id=wrap_pk,
        sealed_private=keys.seal_bytes(wrap_key, private, _aad(org.pk, kid)))  # fmt: skip


@functools.lru_cache(maxsize=64)
def _private_keys(pk: int, org_id: int, kid: str, wrapping_key_id: int, sealed: str) -> tuple[OKPKey, OKPKey]:
    raw = json.loads(keys.open_bytes(keys.org_key_by_id(wrapping_key_id), sealed, _aad(org_id, kid)))
    return OKPKey.import_key(raw["sign"]), OKPKey.import_key(raw["enc"])


def private_keys(kp: OrganisationKeyPair) -> tuple[OKPKey, OKPKey]:
    return _private_keys(kp.pk, kp.organisation_id, kp.kid, kp.wrapping_key_id, kp.sealed_private)


def rotate(actor: Any, org: Organisation) -> OrganisationKeyPair:
    """A new active key pair; the old one stays (inactive) to open packages already addressed to it."""
    with transaction.atomic():
        old = list(OrganisationKeyPair.objects.filter(organisation=org, active=True).values_list("kid", flat=True))
        OrganisationKeyPair.objects.filter(organisation=org, active=True).update(active=False)
        kp = _new_keypair(org)
        audit.record("referral.keys.rotate", actor=actor, organisation=org, target=kp, detail={"old": old, "new": kp.kid})
    return kp


def rewrap_keypairs(org_id: int, new_wrapping_key_id: int) -> int:
    """Re-seal every key pair of the organisation under its new data key (after the data key's rotation)."""
    new_key = keys.org_key_by_id(new_wrapping_key_id)
    n = 0
    for kp in OrganisationKeyPair.objects.filter(organisation_id=org_id).exclude(wrapping_key_id=new_wrapping_key_id):
        aad = _aad(org_id, kp.kid)
        kp.sealed_private = keys.seal_bytes(new_key, keys.open_bytes(keys.org_key_by_id(kp.wrapping_key_id),
                                                                     kp.sealed_private, aad), aad)  # fmt: skip
        kp.wrapping_key_id = new_wrapping_key_id
        kp.save(update_fields=["sealed_private", "wrapping_key_id"])
        n += 1
    return n


def fingerprint(sign_jwk: dict[str, Any], enc_jwk: dict[str, Any]) -> str:
    """SHA-256 (hex) of "<signing key thumbprint>.<encryption key thumbprint>" (RFC 7638 thumbprints)."""
    a = OKPKey.import_key(_jwk(sign_jwk)).thumbprint()
    b = OKPKey.import_key(_jwk(enc_jwk)).thumbprint()
    return hashlib.sha256(f"{a}.{b}".encode()).hexdigest()


def show_fingerprint(fp: str) -> str:
    """In groups of four, for reading aloud over the phone."""
    return " ".join(fp[i : i + 4] for i in range(0, len(fp), 4))


def _jwk(d: dict[str, Any]) -> dict[str, Any]:
    return {k: d[k] for k in ("kty", "crv", "x") if k in d}


def card(org: Organisation) -> dict[str, Any]:
    """The organisation's card: what a partner needs to send it packages and to check its signatures."""
    kp = keypair(org)
    sign, enc = json.loads(kp.sign_public), json.loads(kp.enc_public)
    from phare.referrals.models import DirectoryListing

    listing = DirectoryListing.objects.filter(organisation=org).first()
    return {"type": CARD_SPEC, "id": org_uri(org), "name": org.org_Name, "country": org.org_ShippingCountry,
            "services": list(listing.services) if listing else [], "keys": [sign, enc],
            "fingerprint": fingerprint(sign, enc)}  # fmt: skip


def _card_keys(c: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The card's signing and encryption keys, after checking its form."""
    try:
        if c.get("type") != CARD_SPEC or not isinstance(c.get("id"), str) or not isinstance(c.get("name"), str):
            raise ValueError("type, id and name")
        ks = c["keys"]
        sign = next(k for k in ks if k.get("use") == "sig" and k.get("crv") == "Ed25519" and k.get("kty") == "OKP")
        enc = next(k for k in ks if k.get("use") == "enc" and k.get("crv") == "X25519" and k.get("kty") == "OKP")
        OKPKey.import_key(_jwk(sign))
        OKPKey.import_key(_jwk(enc))
        return sign, enc
    except (AttributeError, KeyError, TypeError, StopIteration, ValueError, JoseError) as e:
        raise PackageRefused("card-invalid", str(e)) from None


def trust(actor: Any, org: Organisation, c: dict[str, Any], expected: str = "",
          request: HttpRequest | None = None) -> TrustedCard:  # fmt: skip
    """Trust a partner's card. The fingerprint is recomputed from the keys (the card's own claim is not
    believed) and, when given, must equal the one the partner read out."""
    sign, enc = _card_keys(c)
    fp = fingerprint(sign, enc)
    if c.get("fingerprint") and c["fingerprint"] != fp:
        raise PackageRefused("card-fingerprint", "the card's fingerprint does not match its keys")
    if expected and expected.replace(" ", "").replace(":", "").lower() != fp:
        raise PackageRefused("card-fingerprint")
    with transaction.atomic():
        row, _created = TrustedCard.objects.update_or_create(organisation=org, fingerprint=fp, defaults={
            "partner_id": c["id"], "name": c["name"][:255], "card": c, "trusted_by": actor if getattr(actor, "pk", None) else None,
            "revoked_at": None})  # fmt: skip
        audit.record("referral.partner.trust", actor=actor, organisation=org, target=row, request=request,
                     detail={"partner": c["id"], "fingerprint": fp})  # fmt: skip
    return row


def trusted(org: Organisation, fp: str = "", kid: str = "") -> TrustedCard | None:
    qs = TrustedCard.objects.filter(organisation=org, revoked_at__isnull=True)
    if fp:
        return qs.filter(fingerprint=fp).first()
    for row in qs.order_by("-id"):
        if any(k.get("kid") == kid and k.get("use") == "sig" for k in row.card.get("keys", [])):
            return row
    return None


# --- sealing and opening (the format alone, no database) ------------------------------------------------------


def seal(claims: dict[str, Any], sign_key: OKPKey, sign_kid: str, to_enc_jwk: dict[str, Any]) -> str:
    payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    inner = jws.serialize_compact({"alg": SIGN_ALG, "kid": sign_kid, "typ": JWS_TYP}, payload, sign_key,
                                  algorithms=[SIGN_ALG])  # fmt: skip
    return jwe.encrypt_compact({"alg": KEY_ALG, "enc": ENC_ALG, "kid": to_enc_jwk["kid"], "typ": JWE_TYP, "cty": "JWT"},
                               inner.encode(), OKPKey.import_key(_jwk(to_enc_jwk)), algorithms=[KEY_ALG, ENC_ALG])  # fmt: skip


def _b64json(part: str) -> dict[str, Any]:
    data = json.loads(keys.b64d(part))
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


def envelope_kid(token: str) -> str:
    """The recipient key id of a package (before decrypting), or a refusal for anything not a package."""
    pieces = token.strip().split(".")
    if len(pieces) != 5:
        raise PackageRefused("package-malformed", "a package has five dot-separated parts")
    # Strict base64url: one spelling per byte string, so that no changed character can decode to the same bytes
    # (the last character of a part carries spare bits that lenient decoders ignore).
    for piece in pieces:
        try:
            canonical = keys.b64e(keys.b64d(piece)) == piece and piece.isascii() and "=" not in piece
        except ValueError:
            canonical = False
        if not canonical:
            raise PackageRefused("package-tampered", "not canonical base64url")
    try:
        head = _b64json(pieces[0])
    except ValueError:
        raise PackageRefused("package-malformed", "unreadable header") from None
    if head.get("alg") != KEY_ALG or head.get("enc") != ENC_ALG:
        raise PackageRefused("package-algorithm", f"{head.get('alg')}/{head.get('enc')}")
    return str(head.get("kid", ""))


def unseal(token: str, enc_key: OKPKey, signer: Any) -> dict[str, Any]:
    """Decrypt and verify; `signer(kid) -> Ed25519 public JWK or None` names the trusted signing keys."""
    envelope_kid(token)
    try:
        inner = jwe.decrypt_compact(token.strip(), enc_key, algorithms=[KEY_ALG, ENC_ALG]).plaintext
    except Exception as e:  # hostile input: the library raises KeyError and others on a changed header
        raise PackageRefused("package-tampered", type(e).__name__) from None
    if inner is None:
        raise PackageRefused("package-tampered")
    pieces = inner.split(b".")
    if len(pieces) != 3:
        raise PackageRefused("package-unsigned")
    for piece in pieces:
        text = piece.decode("ascii", "replace")
        try:
            if keys.b64e(keys.b64d(text)) != text:
                raise ValueError(text)
        except ValueError:
            raise PackageRefused("package-tampered", "not canonical base64url") from None
    try:
        head = _b64json(pieces[0].decode())
    except (ValueError, UnicodeDecodeError):
        raise PackageRefused("package-tampered", "unreadable signature header") from None
    if head.get("alg") != SIGN_ALG or not pieces[2]:
        raise PackageRefused("package-unsigned", str(head.get("alg")))
    jwk = signer(str(head.get("kid", "")))
    if jwk is None:
        raise PackageRefused("package-untrusted", str(head.get("kid", "")))
    try:
        obj = jws.deserialize_compact(inner, OKPKey.import_key(_jwk(jwk)), algorithms=[SIGN_ALG])
        claims = json.loads(obj.payload)
    except Exception as e:  # as above
        raise PackageRefused("package-tampered", type(e).__name__) from None
    if not isinstance(claims, dict):
        raise PackageRefused("package-malformed", "the claims are not an object")
    return claims


@functools.cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator, FormatChecker

    return Draft202012Validator(bundle_schema(), format_checker=FormatChecker())


def check_claims(claims: dict[str, Any], audience: str, issuer: str, now: float | None = None) -> None:
    """Addressee, issuer, times and the bundle's schema (replay is the caller's: it needs the database)."""
    now = time.time() if now is None else now
    if claims.get("spec") != SPEC or not isinstance(claims.get("id"), str):
        raise PackageRefused("package-malformed", "spec and id")
    if claims.get("aud") != audience:
        raise PackageRefused("package-not-addressed", str(claims.get("aud")))
    if claims.get("iss") != issuer:
        raise PackageRefused("package-untrusted", f"issuer {claims.get('iss')}")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise PackageRefused("package-malformed", "iat and exp")
    if exp < now:
        raise PackageRefused("package-expired")
    if iat > now + CLOCK_SKEW:
        raise PackageRefused("package-not-yet-valid")
    if claims.get("kind", "referral") == "referral":
        bundle = claims.get("bundle")
        problems = sorted(_validator().iter_errors(bundle), key=lambda e: list(e.absolute_path))[:5]
        if problems:
            raise PackageRefused("package-invalid-bundle",
                                 "; ".join(f"{'/'.join(map(str, p.absolute_path)) or '/'}: {p.message}"[:200] for p in problems))  # fmt: skip


# --- the verbs ----------------------------------------------------------------------------------------------


def _require(actor: Any) -> None:
    if not (can(actor, REFER) and can(actor, READ_PERSONAL)):
        raise actions.Refused("referral-permission")


def _external(org_id: int, name: str) -> ExternalOrganisation:
    row = ExternalOrganisation.objects.filter(organisation_id=org_id, org_Name=name[:255], tenant__isnull=True).first()
    return row or ExternalOrganisation.objects.create(organisation_id=org_id, org_Name=name[:255])


def pack(actor: Any, case: Case, partner: TrustedCard, *, services: list[str], chosen: Any = parts.DEFAULT_PARTS,
         urgency: str = Urgency.ROUTINE, reason: str = "AdditionalServicesRequired", details: str = "",
         ttl: int = DEFAULT_TTL, request: HttpRequest | None = None) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """A referral package of the chosen parts of `case` for a trusted partner. Refused, like a referral on one
    instance, without a live consent of the person for referral to that partner."""
    _require(actor)
    from django.http import Http404

    from phare.cases.access import require_case_write, visible_cases

    if case.organisation_id != actor.organisation_id or not visible_cases(actor).filter(pk=case.pk).exists():
        raise Http404("Not found")
    require_case_write(actor, case)  # an emergency grant reads the case; it does not send it to another system
    if partner.organisation_id != actor.organisation_id or partner.revoked_at is not None:
        raise PackageRefused("partner-untrusted")
    try:
        chosen_parts = parts.normalise(list(chosen))
    except parts.UnknownPart as e:
        raise actions.Refused("referral-unknown-part", str(e)) from None
    if bad := [s for s in services if s not in actions.SERVICE_NAMES]:
        raise actions.Refused("referral-unknown-service", ", ".join(bad))
    consent = actions.live_consent(case, None, partner.partner_id)
    if consent is None:
        raise actions.Refused("referral-no-consent")
    org = actor.organisation
    _sign, enc = _card_keys(partner.card)
    with transaction.atomic():
        referral = case_actions.send_referral(actor, case, {
            "cas_ReferredOrganisation": _external(org.pk, partner.name),
            "cas_ReasonForOutgoingReferral": reason, "cas_OutgoingReferralDate": timezone.localdate(),
            "cas_OutgoingReferralDetails": (details or "").strip()}, request=request)  # fmt: skip
        bundle = parts.bundle_of(case, chosen_parts, referral=referral, consent=consent)
        now = int(time.time())
        claims = {"spec": SPEC, "kind": "referral", "id": str(uuid.uuid4()), "iss": org_uri(org), "iss_name": org.org_Name,
                  "aud": partner.partner_id, "iat": now, "exp": now + ttl, "htcds_version": parts.HTCDS_VERSION,
                  "referral": {"services": list(services), "urgency": urgency, "parts": chosen_parts}, "bundle": bundle}  # fmt: skip
        kp = keypair(org)
        sign_key, _enc = private_keys(kp)
        token = seal(claims, sign_key, kp.kid, enc)
        audit.record("referral.package.pack", actor=actor, target=case, request=request,
                     detail={"case": case.number, "package": claims["id"], "to": partner.partner_id,
                             "parts": chosen_parts})  # fmt: skip
    return token, claims


@dataclass
class Opened:
    ok: bool
    code: str = ""
    message: str = ""
    package_id: str = ""
    sender: str = ""
    kind: str = ""
    dry_run: bool = False
    case: str = ""
    matches: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    status: str = ""
    claims: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "claims"}


def verify(org: Organisation, token: str) -> tuple[dict[str, Any], TrustedCard]:
    """Every check except replay; returns the claims and the signer's trusted card."""
    kid = envelope_kid(token)
    kp = OrganisationKeyPair.objects.filter(organisation=org, kid=kid).first()
    if kp is None:
        # The envelope names the addressee key by its thumbprint, and the key pair by its signing thumbprint.
        kp = next((k for k in OrganisationKeyPair.objects.filter(organisation=org)
                   if json.loads(k.enc_public).get("kid") == kid), None)  # fmt: skip
    if kp is None:
        raise PackageRefused("package-not-addressed", kid)
    _sign, enc = private_keys(kp)
    cards: dict[str, TrustedCard] = {}

    def signer(skid: str) -> dict[str, Any] | None:
        row = trusted(org, kid=skid)
        if row is None:
            return None
        cards["c"] = row
        return _card_keys(row.card)[0]

    claims = unseal(token, enc, signer)
    check_claims(claims, org_uri(org), cards["c"].partner_id)
    return claims, cards["c"]


def open_package(actor: Any, token: str, *, dry_run: bool = False, request: HttpRequest | None = None) -> Opened:
    """Open a package addressed to the actor's organisation: refused with the reason, or a dry run (what it
    holds, whether the person matches someone known), or imported as a new case. Audited either way."""
    _require(actor)
    org = actor.organisation
    try:
        claims, partner = verify(org, token)
        if OpenedPackage.objects.filter(organisation=org, package_id=claims["id"]).exists():
            raise PackageRefused("package-replayed", claims["id"])
        if claims.get("kind", "referral") == "referral":
            actions.check_bundle(claims["bundle"])
    except actions.Refused as e:
        return _refused(actor, PackageRefused("package-invalid-bundle", e.detail), request)
    except PackageRefused as e:
        return _refused(actor, e, request)
    meta = claims.get("referral") or {}
    out = Opened(True, package_id=claims["id"], sender=partner.name, kind=claims.get("kind", "referral"), dry_run=dry_run,
                 parts=list(meta.get("parts") or []), services=list(meta.get("services") or []),
                 status=str(claims.get("status", "")), claims=claims)  # fmt: skip
    if out.kind == "referral":
        person = (claims["bundle"].get("persons") or [{}])[0]
        from phare.cases.models import Person
        from phare.imports.records import model_values

        probe = model_values(Person, person, [])
        ids = [pid for pid, _score in case_actions.match_ids(org.pk, probe)] if probe else []
        from phare.cases.access import visible_cases

        out.matches = sorted(set(visible_cases(actor).filter(participants__person_id__in=ids).values_list("number", flat=True)))
    if dry_run:
        with transaction.atomic():
            audit.record("referral.package.dry_run", actor=actor, organisation=org, request=request,
                         target_type="referrals.package", target_id=claims["id"],
                         detail={"package": claims["id"], "from": partner.partner_id})  # fmt: skip
        return out
    try:
        with transaction.atomic():
            opened = OpenedPackage.objects.create(organisation=org, package_id=claims["id"], sender=partner.partner_id)
            if out.kind == "referral":
                case = actions.import_bundle(actor, claims["bundle"], _external(org.pk, partner.name), None, request)
                opened.case = case
                opened.save(update_fields=["case"])
                out.case = case.number
            audit.record("referral.package.open", actor=actor, organisation=org, target=opened, request=request,
                         detail={"package": claims["id"], "from": partner.partner_id, "kind": out.kind,
                                 "case": out.case, "status": out.status})  # fmt: skip
    except IntegrityError:
        return _refused(actor, PackageRefused("package-replayed", claims["id"]), request)
    except actions.Refused as e:
        return _refused(actor, PackageRefused("package-invalid-bundle", e.detail), request)
    return out


def _refused(actor: Any, e: PackageRefused, request: HttpRequest | None) -> Opened:
    with transaction.atomic():
        audit.record("referral.package.refused", actor=actor, request=request, target_type="referrals.package",
                     detail={"code": e.code})  # fmt: skip
    return Opened(False, code=e.code, message=e.message)


def acknowledge(actor: Any, package_id: str, status: str = "received", request: HttpRequest | None = None) -> str:
    """An acknowledgement package back to the sender of a package this organisation opened: its id and a status,
    nothing of the case."""
    _require(actor)
    org = actor.organisation
    opened = OpenedPackage.objects.filter(organisation=org, package_id=package_id).first()
    partner = TrustedCard.objects.filter(organisation=org, partner_id=opened.sender, revoked_at__isnull=True).order_by("-id").first() if opened else None
    if opened is None or partner is None:
        raise PackageRefused("partner-untrusted")
    now = int(time.time())
    claims = {"spec": SPEC, "kind": "acknowledgement", "id": str(uuid.uuid4()), "iss": org_uri(org), "iss_name": org.org_Name,
              "aud": partner.partner_id, "iat": now, "exp": now + DEFAULT_TTL, "in_reply_to": package_id,
              "status": status}  # fmt: skip
    kp = keypair(org)
    sign_key, _enc = private_keys(kp)
    with transaction.atomic():
        audit.record("referral.package.acknowledge", actor=actor, organisation=org, target=opened, request=request,
                     detail={"package": package_id, "status": status})  # fmt: skip
    return seal(claims, sign_key, kp.kid, _card_keys(partner.card)[1])
