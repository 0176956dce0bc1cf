"""docs/referral-package.md is enough to interoperate: jwcrypto (a JOSE library Phare does not use) makes a card and
a package from the spec alone, and Phare trusts the card and opens the package; jwcrypto opens Phare's packages;
and the commands `phare org card|trust` and `phare referral pack|open` do the same from the shell, with --json."""

from __future__ import annotations

import hashlib
import io
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from jwcrypto import jwe, jwk, jws

from phare.cases.models import Person
from phare.referrals import actions, packages
from tests.referral_helpers import org, rich_case, user

pytestmark = pytest.mark.django_db


def _spec_card(sign: jwk.JWK, enc: jwk.JWK, card_id: str) -> dict[str, Any]:
    """A card written from the spec: public JWKs named by their RFC 7638 thumbprints, and the fingerprint."""
    keys = []
    for key, use, alg in ((sign, "sig", "EdDSA"), (enc, "enc", "ECDH-ES")):
        pub = json.loads(key.export_public())
        keys.append({"kty": pub["kty"], "crv": pub["crv"], "x": pub["x"], "kid": key.thumbprint(), "use": use, "alg": alg})
    fp = hashlib.sha256(f"{sign.thumbprint()}.{enc.thumbprint()}".encode()).hexdigest()
    return {"type": "phare-organisation-card/1", "id": card_id, "name": "Other System NGO", "country": "GH",
            "services": [], "keys": keys, "fingerprint": fp}  # fmt: skip


def test_a_package_made_with_another_jose_library_from_the_spec_opens_in_phare() -> None:
    b = org("spec-b", "Legal Aid B", listed=False)
    ub = user(b)
    sign, enc = jwk.JWK.generate(kty="OKP", crv="Ed25519"), jwk.JWK.generate(kty="OKP", crv="X25519")
    theirs = _spec_card(sign, enc, "urn:example:ngo:42")
    packages.trust(ub, b, theirs, expected=theirs["fingerprint"])
    mine = packages.card(b)
    now = int(time.time())
    claims = {"spec": "phare-referral-package/1", "kind": "referral", "id": str(uuid.uuid4()), "iss": theirs["id"],
              "aud": mine["id"], "iat": now, "exp": now + 14 * 86400, "htcds_version": "2.0",
              "referral": {"services": ["Legal"], "urgency": "urgent", "parts": ["contact", "needs"]},
              "bundle": {"case": {"id": "case"}, "persons": [{"id": "p1", "prs_FirstName": "Kofi", "prs_SecondName": "Mensah",
                                                                "prs_MobilePhone": "+233201234567"}],
                         "participants": [{"id": "v1", "person": "p1", "role": "Victim",
                                           "vic_Vulnerabilities": ["Poverty"]}]}}  # fmt: skip
    signed = jws.JWS(json.dumps(claims).encode())
    signed.add_signature(sign, alg="EdDSA", protected=json.dumps({"alg": "EdDSA", "kid": sign.thumbprint()}))
    inner = signed.serialize(compact=True)
    to = jwk.JWK(**{k: mine["keys"][1][k] for k in ("kty", "crv", "x")})
    package = jwe.JWE(inner.encode(), protected=json.dumps({"alg": "ECDH-ES", "enc": "A256GCM", "kid": to.thumbprint()}))
    package.add_recipient(to)
    token = package.serialize(compact=True)
    dry = packages.open_package(ub, token, dry_run=True)
    assert dry.ok, dry.message
    out = packages.open_package(ub, token)
    assert out.ok and out.case and Person.objects.get(organisation=b).prs_FirstName == "Kofi"


def test_another_jose_library_opens_a_phare_package() -> None:
    a = org("spec-a", "Shelter A", listed=False)
    ua = user(a)
    sign, enc = jwk.JWK.generate(kty="OKP", crv="Ed25519"), jwk.JWK.generate(kty="OKP", crv="X25519")
    theirs = _spec_card(sign, enc, "urn:example:ngo:7")
    partner = packages.trust(ua, a, theirs)
    case = rich_case(ua)
    actions.record_consent(ua, case, None, partner=partner.partner_id)
    token, _claims = packages.pack(ua, case, partner, services=["Legal"])
    outer = jwe.JWE()
    outer.deserialize(token, key=enc)
    verified = jws.JWS()
    verified.deserialize(outer.payload.decode())
    a_card = packages.card(a)
    verified.verify(jwk.JWK(**{k: a_card["keys"][0][k] for k in ("kty", "crv", "x")}), alg="EdDSA")
    claims = json.loads(verified.payload)
    assert claims["aud"] == "urn:example:ngo:7" and claims["iss"] == a_card["id"]
    assert claims["bundle"]["persons"][0]["prs_FirstName"] == "Amaka"


def _run(*args: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=io.StringIO())
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    return code, json.loads(out.getvalue().strip().splitlines()[-1])


def test_the_commands_card_trust_pack_and_open(tmp_path: Path) -> None:
    a, b = org("cmd-a", "Shelter A", listed=False), org("cmd-b", "Legal Aid B", listed=False)
    ua, _ub = user(a), user(b)
    case = rich_case(ua)
    ca, cb = tmp_path / "a.json", tmp_path / "b.json"
    code, card_a = _run("org", "card", "--org", "cmd-a", "--out", str(ca), "--json")
    assert code == 0 and card_a["id"] == "urn:phare:org:cmd-a" and ca.exists()
    _run("org", "card", "--org", "cmd-b", "--out", str(cb), "--json")
    code, bad = _run("org", "trust", str(cb), "--org", "cmd-a", "--fingerprint", "00" * 32, "--json")
    assert code == 1 and bad["code"] == "card-fingerprint"
    fp_b = json.loads(cb.read_text())["fingerprint"]
    assert _run("org", "trust", str(cb), "--org", "cmd-a", "--fingerprint", fp_b, "--json")[0] == 0
    assert _run("org", "trust", str(ca), "--org", "cmd-b", "--json")[0] == 0
    pkg = tmp_path / "case.jwe"
    code, refused = _run("referral", "pack", case.number, "--org", "cmd-a", "--to", str(cb), "--out", str(pkg), "--json")
    assert code == 1 and refused["code"] == "referral-no-consent" and not pkg.exists()
    code, packed = _run("referral", "pack", case.number, "--org", "cmd-a", "--to", str(cb), "--out", str(pkg),
                        "--parts", "referral,contact", "--services", "Legal", "--consent", "Verbal", "--json")  # fmt: skip
    assert code == 0 and packed["parts"] == ["referral", "contact"]
    code, dry = _run("referral", "open", str(pkg), "--org", "cmd-b", "--dry-run", "--json")
    assert code == 0 and dry["ok"] and dry["dry_run"] and not dry["case"]
    ack = tmp_path / "ack.jwe"
    code, done = _run("referral", "open", str(pkg), "--org", "cmd-b", "--ack-out", str(ack), "--json")
    assert code == 0 and done["case"]
    code, again = _run("referral", "open", str(pkg), "--org", "cmd-b", "--json")
    assert code == 1 and again["code"] == "package-replayed"
    code, back = _run("referral", "open", str(ack), "--org", "cmd-a", "--json")
    assert code == 0 and back["kind"] == "acknowledgement" and back["status"] == "received"
    pkg.write_text(pkg.read_text().replace("A", "B", 1))
    assert _run("referral", "open", str(pkg), "--org", "cmd-b", "--json")[0] == 1
