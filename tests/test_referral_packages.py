"""Referral packages between instances: organisation key pairs and cards, trust by fingerprint, packing the chosen
parts, opening with every check (signature, trust, expiry, replay, addressee, the bundle's schema), dry run then
import, acknowledgements, key rotation; and a tampered byte anywhere is refused (property test)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jwe, jws
from joserfc.jwk import OKPKey

from phare.accounts.models import Role
from phare.audit.models import AuditEvent
from phare.cases.models import Case, Person
from phare.referrals import actions, packages
from phare.referrals.models import OrganisationKeyPair, TrustedCard
from tests.referral_helpers import org, rich_case, user

pytestmark = pytest.mark.django_db


def _pair(prefix: str = "pk") -> tuple[Any, ...]:
    """Two organisations standing for two instances: each knows the other only through its card."""
    a, b = org(f"{prefix}-a", "Shelter A", listed=False), org(f"{prefix}-b", "Legal Aid B", listed=False)
    ua, ub = user(a), user(b)
    pa = packages.trust(ua, a, packages.card(b))
    packages.trust(ub, b, packages.card(a), expected=packages.card(a)["fingerprint"])
    return a, b, ua, ub, pa


def _packed(ua: Any, pa: TrustedCard, **kw: Any) -> tuple[str, dict[str, Any], Case]:
    case = rich_case(ua)
    actions.record_consent(ua, case, None, partner=pa.partner_id)
    token, claims = packages.pack(ua, case, pa, services=["Legal"], **kw)
    return token, claims, case


def test_it_makes_cards_whose_private_keys_are_sealed_and_whose_fingerprint_covers_the_keys() -> None:
    a = org("card-a", listed=False)
    c = packages.card(a)
    assert c["type"] == packages.CARD_SPEC and c["id"] == "urn:phare:org:card-a" and len(c["keys"]) == 2
    assert all("d" not in k for k in c["keys"])  # public keys only
    kp = OrganisationKeyPair.objects.get(organisation=a)
    assert '"d"' not in kp.sealed_private and "d" not in json.loads(kp.sign_public)
    assert c["fingerprint"] == packages.fingerprint(*c["keys"]) and packages.card(a) == c  # stable
    ub = user(org("card-b", listed=False))
    forged = {**c, "keys": [packages.card(ub.organisation)["keys"][0], c["keys"][1]]}
    with pytest.raises(packages.PackageRefused) as e:
        packages.trust(ub, ub.organisation, forged)  # a card whose claimed fingerprint is not its keys'
    assert e.value.code == "card-fingerprint"
    with pytest.raises(packages.PackageRefused) as e:
        packages.trust(ub, ub.organisation, c, expected="0" * 64)  # not the fingerprint read out by the partner
    assert e.value.code == "card-fingerprint"
    with pytest.raises(packages.PackageRefused):
        packages.trust(ub, ub.organisation, {"type": "something else"})


def test_it_packs_signs_encrypts_and_opens_with_a_dry_run_then_imports() -> None:
    _a, b, ua, ub, pa = _pair()
    token, claims, _case = _packed(ua, pa)
    assert token.count(".") == 4 and "Amaka" not in token
    header = json.loads(packages.keys.b64d(token.split(".")[0]))
    assert header["alg"] == "ECDH-ES" and header["enc"] == "A256GCM"
    assert claims["aud"] == "urn:phare:org:pk-b" and claims["iss"] == "urn:phare:org:pk-a"
    assert claims["referral"]["parts"] == ["referral", "contact", "needs"]
    dry = packages.open_package(ub, token, dry_run=True)
    assert dry.ok and dry.dry_run and dry.sender == "Shelter A" and dry.matches == [] and not dry.case
    assert not Case.objects.filter(organisation=b).exists()
    done = packages.open_package(ub, token)
    assert done.ok and done.case
    person = Person.objects.get(organisation=b)
    assert person.prs_FirstName == "Amaka" and not person.prs_IdentityNumber
    again = packages.open_package(ub, token)
    assert not again.ok and again.code == "package-replayed"
    assert packages.open_package(ub, token, dry_run=True).code == "package-replayed"
    # the same person again: the dry run names the case that may be theirs
    token2, _c, _ = _packed(ua, pa)
    assert packages.open_package(ub, token2, dry_run=True).matches == [done.case]
    assert AuditEvent.objects.filter(action="referral.package.open", organisation=b).count() == 1
    assert AuditEvent.objects.filter(action="referral.package.refused", organisation=b).count() == 2


def test_it_refuses_without_consent_or_trust() -> None:
    _a, _b, ua, _ub, pa = _pair("pc")
    case = rich_case(ua)
    with pytest.raises(actions.Refused):
        packages.pack(ua, case, pa, services=["Legal"])
    pa.revoked_at = pa.created
    pa.save()
    actions.record_consent(ua, case, None, partner=pa.partner_id)
    with pytest.raises(packages.PackageRefused):
        packages.pack(ua, case, pa, services=["Legal"])


def test_it_refuses_expired_misaddressed_untrusted_and_unsigned_packages() -> None:
    a, b, ua, ub, pa = _pair("pr")
    expired, _c, _ = _packed(ua, pa, ttl=-10)
    assert packages.open_package(ub, expired).code == "package-expired"
    c = org("pr-c", listed=False)
    uc = user(c)
    packages.trust(uc, c, packages.card(a))
    token, claims, _ = _packed(ua, pa)
    assert packages.open_package(uc, token).code == "package-not-addressed"
    # signed by A for C but encrypted to B (a package forwarded to the wrong party), or claiming another issuer
    kp = packages.keypair(a)
    sign, _enc = packages.private_keys(kp)
    b_enc_key = packages.card(b)["keys"][1]
    for bad, code in (({"aud": "urn:phare:org:pr-c"}, "package-not-addressed"),
                      ({"iss": "urn:phare:org:someone-else"}, "package-untrusted")):  # fmt: skip
        forwarded = packages.seal({**claims, "id": f"f-{code}", **bad}, sign, kp.kid, b_enc_key)
        assert packages.open_package(ub, forwarded).code == code
    # B stops trusting A
    TrustedCard.objects.filter(organisation=b).update(revoked_at=claims and TrustedCard.objects.first().created)  # type: ignore[union-attr]
    assert packages.open_package(ub, token).code == "package-untrusted"
    TrustedCard.objects.filter(organisation=b).update(revoked_at=None)
    # an unsigned inner token ("alg": "none") with the right claims
    b_enc = packages.card(b)["keys"][1]
    head = packages.keys.b64e(json.dumps({"alg": "none"}).encode())
    body = packages.keys.b64e(json.dumps({**claims, "id": "x"}).encode())
    unsigned = jwe.encrypt_compact({"alg": "ECDH-ES", "enc": "A256GCM", "kid": b_enc["kid"]}, f"{head}.{body}.".encode(),
                                   OKPKey.import_key(packages._jwk(b_enc)), algorithms=["ECDH-ES", "A256GCM"])  # fmt: skip
    assert packages.open_package(ub, unsigned).code == "package-unsigned"
    # signed by a key nobody trusts
    rogue = OKPKey.generate_key("Ed25519")
    inner = jws.serialize_compact({"alg": "EdDSA", "kid": rogue.thumbprint()}, json.dumps({**claims, "id": "y"}).encode(),
                                  rogue, algorithms=["EdDSA"])  # fmt: skip
    forged = jwe.encrypt_compact({"alg": "ECDH-ES", "enc": "A256GCM", "kid": b_enc["kid"]}, inner.encode(),
                                 OKPKey.import_key(packages._jwk(b_enc)), algorithms=["ECDH-ES", "A256GCM"])  # fmt: skip
    assert packages.open_package(ub, forged).code == "package-untrusted"
    # signed by a rogue key that claims the trusted sender's key id: the signature does not verify
    impostor = jws.serialize_compact({"alg": "EdDSA", "kid": packages.keypair(a).kid},
                                     json.dumps({**claims, "id": "z"}).encode(), rogue, algorithms=["EdDSA"])  # fmt: skip
    forged = jwe.encrypt_compact({"alg": "ECDH-ES", "enc": "A256GCM", "kid": b_enc["kid"]}, impostor.encode(),
                                 OKPKey.import_key(packages._jwk(b_enc)), algorithms=["ECDH-ES", "A256GCM"])  # fmt: skip
    assert packages.open_package(ub, forged).code == "package-tampered"
    assert packages.open_package(ub, "not a package").code == "package-malformed"


def test_it_refuses_a_bundle_outside_the_htcds_schema() -> None:
    a, b, _ua, ub, pa = _pair("ps")
    kp = packages.keypair(a)
    sign, _enc = packages.private_keys(kp)
    now = int(time.time())
    claims = {"spec": packages.SPEC, "kind": "referral", "id": "bad-1", "iss": pa and "urn:phare:org:ps-a",
              "aud": "urn:phare:org:ps-b", "iat": now, "exp": now + 60, "htcds_version": "2.0",
              "bundle": {"case": {}, "persons": [{"id": "p1", "prs_Gender": "NotAGender"}]}}  # fmt: skip
    token = packages.seal(claims, sign, kp.kid, packages.card(b)["keys"][1])
    out = packages.open_package(ub, token)
    assert out.code == "package-invalid-bundle" and ("prs_Gender" in out.message or "NotAGender" in out.message)


def test_it_acknowledges_and_rotates_keys() -> None:
    _a, b, ua, ub, pa = _pair("pa")
    token, claims, _ = _packed(ua, pa)
    assert packages.open_package(ub, token).ok
    ack = packages.acknowledge(ub, claims["id"], "accepted")
    back = packages.open_package(ua, ack)
    assert back.ok and back.kind == "acknowledgement" and back.status == "accepted" and not back.case
    # rotation: a package made for the old key still opens; the new card has a new fingerprint
    old_fp = packages.card(b)["fingerprint"]
    pending, _c, _ = _packed(ua, pa)
    packages.rotate(ub, b)
    assert packages.card(b)["fingerprint"] != old_fp
    assert packages.open_package(ub, pending).ok
    assert OrganisationKeyPair.objects.filter(organisation=b).count() == 2


def test_it_lets_only_referring_roles_pack_or_open() -> None:
    _a, b, ua, _ub, pa = _pair("pp")
    token, _claims, _ = _packed(ua, pa)
    with pytest.raises(actions.Refused):
        packages.open_package(user(b, Role.ANALYST), token)


_TOKENS: dict[str, Any] = {}


def _fixture_token() -> tuple[str, Any, Any]:
    if "t" not in _TOKENS:
        _a, b, ua, ub, pa = _pair("pt")
        token, _claims, _ = _packed(ua, pa)
        _TOKENS.update(t=token, ub=ub, b=b)
    return _TOKENS["t"], _TOKENS["ub"], _TOKENS["b"]


@pytest.fixture
def fresh_tokens() -> Any:
    _TOKENS.clear()
    yield
    _TOKENS.clear()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_a_tampered_byte_anywhere_is_refused(fresh_tokens: Any, data: st.DataObject) -> None:
    token, _ub, b = _fixture_token()
    raw = bytearray(token.encode())
    i = data.draw(st.integers(0, len(raw) - 1), label="position")
    new = data.draw(st.integers(0, 255).filter(lambda v: v != raw[i]), label="byte")
    raw[i] = new
    tampered = raw.decode("latin-1")
    with pytest.raises(packages.PackageRefused):
        packages.verify(b, tampered)
    assert packages.verify(b, token)[0]["id"]  # the untouched package still opens


def test_it_refuses_a_changed_curve_name_in_the_header() -> None:
    """Hypothesis found this one: a changed byte in the header's ephemeral key made the JOSE library raise a
    KeyError, not a refusal."""
    _a, b, ua, _ub, pa = _pair("pq")
    token, _claims, _ = _packed(ua, pa)
    head = json.loads(packages.keys.b64d(token.split(".")[0]))
    head["epk"]["crv"] = " 25519"
    changed = packages.keys.b64e(json.dumps(head).encode()) + token[token.index("."):]
    with pytest.raises(packages.PackageRefused):
        packages.verify(b, changed)


def test_negative_control_lenient_base64_lets_a_changed_character_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the strict base64url check, changing the spare bits of a part's last character goes unnoticed."""
    _a, b, ua, _ub, pa = _pair("pn")
    token, _claims, _ = _packed(ua, pa)
    pieces = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    tag = pieces[4]  # 16 bytes: 22 characters, the last carrying 4 spare bits
    last = alphabet.index(tag[-1])
    pieces[4] = tag[:-1] + alphabet[last ^ 1]
    changed = ".".join(pieces)
    with pytest.raises(packages.PackageRefused):
        packages.verify(b, changed)
    import base64

    from joserfc._rfc7516 import compact

    def lenient(s: bytes) -> bytes:
        return base64.urlsafe_b64decode(s + b"=" * (-len(s) % 4))

    # Phare's own check and the JOSE library's both read base64url leniently:
    monkeypatch.setattr(packages.keys, "b64e", lambda data: changed.split(".")[4] if len(data) == 16 else
                        base64.urlsafe_b64encode(data).decode().rstrip("="))  # fmt: skip
    monkeypatch.setattr(compact, "urlsafe_b64decode", lenient)
    assert packages.verify(b, changed)[0]["id"]  # the changed package is accepted
