"""Referral packages on the pages and the API: the card, trusting a partner, downloading a package of a case,
uploading one (dry run, then import), and the same through /api/v1/referrals."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.test import Client

from phare.accounts.models import Role
from phare.accounts.testing import login_with_mfa
from phare.cases.models import Case
from phare.referrals import packages
from phare.referrals.models import TrustedCard
from tests.referral_helpers import org, rich_case, user
from tests.test_api import V1, bearer, token_for

pytestmark = pytest.mark.django_db


def _c(u: Any) -> Client:
    return login_with_mfa(Client(), u)


def _upload(name: str, data: bytes) -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name
    return f


def test_cards_trust_packages_and_opening_on_the_pages() -> None:
    a, b = org("pkp-a", "Shelter A", listed=False), org("pkp-b", "Legal Aid B", listed=False)
    ua, ub = user(a), user(b)
    admin_a, admin_b = user(a, Role.ADMIN, "pkp-a-adm"), user(b, Role.ADMIN, "pkp-b-adm")
    card_b = _c(ub).get("/referrals/partners/card.json")
    assert card_b["Content-Disposition"].startswith("attachment") and json.loads(card_b.content)["id"] == "urn:phare:org:pkp-b"
    page = _c(ua).get("/referrals/partners/").content.decode()
    assert packages.show_fingerprint(packages.card(a)["fingerprint"]) in page and 'id="trust"' not in page  # admins trust
    wrong = _c(admin_a).post("/referrals/partners/", {"card": _upload("b.json", card_b.content), "fingerprint": "00ff"})
    assert wrong.status_code == 200 and not TrustedCard.objects.exists()
    fp = json.loads(card_b.content)["fingerprint"]
    assert _c(admin_a).post("/referrals/partners/", {"card": _upload("b.json", card_b.content), "fingerprint": fp}).status_code == 302
    _c(admin_b).post("/referrals/partners/", {"card": _upload("a.json", json.dumps(packages.card(a)).encode())})
    case = rich_case(ua)
    post = {"partner": fp, "services": ["Legal"], "urgency": "routine", "reason": "AdditionalServicesRequired",
            "parts": ["referral", "contact"], "consent": "on", "how_informed": "Written"}  # fmt: skip
    got = _c(ua).post(f"/referrals/package/{case.number}/", post)
    assert got["Content-Type"] == "application/jose" and got.content.count(b".") == 4
    cb = _c(ub)
    dry = cb.post("/referrals/open/", {"package": _upload("p.jwe", got.content)})
    text = dry.content.decode()
    assert 'id="dry-run"' in text and "Amaka" in text and not Case.objects.filter(organisation=b).exists()
    done = cb.post("/referrals/open/", {"token": got.content.decode(), "confirm": "1"})
    assert done.status_code == 302 and Case.objects.filter(organisation=b).count() == 1
    again = cb.post("/referrals/open/", {"package": _upload("p.jwe", got.content)}).content.decode()
    assert 'id="refused"' in again and "package-replayed" in again


def test_the_same_through_the_api() -> None:
    a, b = org("pka-a", listed=False), org("pka-b", listed=False)
    ua, ub = user(a), user(b)
    admin_a = user(a, Role.ADMIN, "pka-a-adm")
    card_b = Client().get(f"{V1}/referrals/card", **bearer(token_for(ub))).json()
    ta = token_for(admin_a)
    assert Client().post(f"{V1}/referrals/partners", {"card": card_b, "fingerprint": "00"}, content_type="application/json",
                         **bearer(ta)).status_code == 422  # fmt: skip
    assert Client().post(f"{V1}/referrals/partners", {"card": card_b}, content_type="application/json",
                         **bearer(token_for(ua))).status_code == 403  # fmt: skip
    assert Client().post(f"{V1}/referrals/partners", {"card": card_b, "fingerprint": card_b["fingerprint"]},
                         content_type="application/json", **bearer(ta)).status_code == 201  # fmt: skip
    packages.trust(ub, b, packages.card(a))
    case = rich_case(ua)
    body = {"case": case.number, "partner": card_b["fingerprint"], "services": ["Legal"]}
    r = Client().post(f"{V1}/referrals/packages", body, content_type="application/json", **bearer(token_for(ua)))
    assert r.status_code == 422 and r.json()["detail"][0]["code"] == "referral-no-consent"
    from phare.referrals import actions

    actions.record_consent(ua, case, None, partner=card_b["id"])
    r = Client().post(f"{V1}/referrals/packages", body, content_type="application/json", **bearer(token_for(ua)))
    assert r.status_code == 201
    pkg = r.json()["package"]
    tb = token_for(ub)
    dry = Client().post(f"{V1}/referrals/packages/open", {"package": pkg, "dry_run": True}, content_type="application/json", **bearer(tb))
    assert dry.status_code == 200 and dry.json()["dry_run"]
    done = Client().post(f"{V1}/referrals/packages/open", {"package": pkg}, content_type="application/json", **bearer(tb))
    assert done.status_code == 200 and done.json()["case"]
    bad = Client().post(f"{V1}/referrals/packages/open", {"package": pkg}, content_type="application/json", **bearer(tb))
    assert bad.status_code == 422 and bad.json()["detail"][0]["code"] == "package-replayed"
