"""The referral pages: the directory and its listing form, referring a case with every part shown, the inbox,
accepting, reporting back, declining, withdrawing, and the case page's panel; other organisations and roles get
nothing."""

from __future__ import annotations

from typing import Any

import pytest

from phare.accounts.models import Role
from phare.accounts.testing import login_with_mfa
from phare.referrals.models import DirectoryListing, Status, Transfer
from tests.referral_helpers import org, rich_case, user

pytestmark = pytest.mark.django_db


def _client(u: Any) -> Any:
    from django.test import Client

    return login_with_mfa(Client(), u)


def test_it_lists_the_directory_and_lets_the_admin_edit_the_listing() -> None:
    a, b = org("pg-a", "Shelter A"), org("pg-b", "Legal Aid B")
    page = _client(user(a)).get("/referrals/directory/")
    assert page.status_code == 200 and "Legal Aid B" in page.content.decode() and "own-listing" not in page.content.decode()
    admin = user(a, Role.ADMIN, "pg-a-admin2")
    r = _client(admin).post("/referrals/directory/", {"accepts_referrals": "on", "services": ["Health", "Accommodation"],
                                                       "countries": ["GH"], "area": "Accra"})  # fmt: skip
    assert r.status_code == 302
    listing = DirectoryListing.objects.get(organisation=a)
    assert listing.services == ["Health", "Accommodation"] and listing.countries == ["GH"]
    assert _client(user(b, Role.ANALYST)).get("/referrals/directory/").status_code == 403


def test_a_referral_goes_through_the_pages_from_sender_to_receiver_and_back() -> None:
    a, b = org("pg-c", "Shelter C"), org("pg-d", "Legal Aid D")
    ua, ub = user(a), user(b)
    case = rich_case(ua)
    ca, cb = _client(ua), _client(ub)
    page = ca.get(f"/cases/{case.number}/").content.decode()
    assert f"/referrals/refer/{case.number}/" in page
    form = ca.get(f"/referrals/refer/{case.number}/").content.decode()
    assert "amaka@example.org" in form and "A1234567" in form  # every part shows what it would send
    post = {"to": b.pk, "services": ["Legal"], "urgency": "urgent", "reason": "AdditionalServicesRequired",
            "details": "Court date soon", "parts": ["referral", "contact", "needs"]}  # fmt: skip
    refused = ca.post(f"/referrals/refer/{case.number}/", post)
    assert refused.status_code == 200 and not Transfer.objects.exists()  # no consent yet
    sent = ca.post(f"/referrals/refer/{case.number}/", {**post, "consent": "on", "how_informed": "Verbal"})
    t = Transfer.objects.get()
    assert sent.status_code == 302 and sent["Location"] == f"/referrals/{t.uid}/"
    assert "Referrals (1)" in cb.get("/").content.decode()  # the menu tells the receiver one is waiting
    inbox = cb.get("/referrals/").content.decode()
    assert "Shelter C" in inbox and f"/referrals/{t.uid}/" in inbox
    view = cb.get(f"/referrals/{t.uid}/").content.decode()
    assert "amaka@example.org" in view and "A1234567" not in view  # only the chosen parts
    assert cb.post(f"/referrals/{t.uid}/", {"verb": "accept"}).status_code == 302
    t.refresh_from_db()
    assert t.status == Status.ACCEPTED and t.receiver_case is not None
    assert cb.post(f"/referrals/{t.uid}/", {"verb": "services_started"}).status_code == 302
    sender_view = ca.get(f"/referrals/{t.uid}/").content.decode()
    assert "Services started" in sender_view and "amaka@example.org" not in sender_view
    # a third organisation: not found; the sender cannot accept its own referral
    c = org("pg-e")
    assert _client(user(c)).get(f"/referrals/{t.uid}/").status_code == 404
    assert ca.post(f"/referrals/{t.uid}/", {"verb": "accept"}).status_code == 403


def test_the_receiver_declines_and_the_sender_withdraws_on_the_pages() -> None:
    from phare.referrals import actions

    a, b = org("pg-f"), org("pg-g")
    ua, ub = user(a), user(b)
    case = rich_case(ua)
    actions.record_consent(ua, case, b)
    t1 = actions.send(ua, case, b, services=["Legal"])
    t2 = actions.send(ua, case, b, services=["Health"])
    cb, ca = _client(ub), _client(ua)
    cb.post(f"/referrals/{t1.uid}/", {"verb": "decline", "reason": "Full this month"})
    ca.post(f"/referrals/{t2.uid}/", {"verb": "withdraw", "reason": "Found another"})
    t1.refresh_from_db()
    t2.refresh_from_db()
    assert t1.status == Status.DECLINED and t2.status == Status.WITHDRAWN
    assert "Full this month" in ca.get(f"/referrals/{t1.uid}/").content.decode()
    assert _client(user(a, Role.HELPLINE)).get("/referrals/").status_code == 403


def test_it_shows_the_organisations_services_directory_beside_the_choice_of_partner() -> None:
    from phare.helplines import actions as helpline_actions

    a, b = org("pg-s1", "Shelter S1"), org("pg-s2", "Shelter S2")
    boss_a, boss_b = user(a, Role.SUPERVISOR, "pg-s1-boss"), user(b, Role.SUPERVISOR, "pg-s2-boss")
    clinic = helpline_actions.add_service(boss_a, {"name": "Harbour Clinic", "kind": "medical", "languages": ["fra"],
                                                   "contact": "+233 30 000 0000"})  # fmt: skip
    closed = helpline_actions.add_service(boss_a, {"name": "Old Night Shelter", "kind": "shelter"})
    helpline_actions.update_service(boss_a, closed, {"active": False})
    helpline_actions.add_service(boss_b, {"name": "Other Org Legal Desk", "kind": "legal"})
    worker = user(a)
    case = rich_case(worker)
    page = _client(worker).get(f"/referrals/refer/{case.number}/").content.decode()
    panel = page.split('id="directory-services"')[1].split("</details>")[0]
    assert "Harbour Clinic" in panel and f"/helpline/services/{clinic.uid}/" in panel and "French" in panel
    assert "Old Night Shelter" not in page  # not in use
    assert "Other Org Legal Desk" not in page  # another organisation's directory
