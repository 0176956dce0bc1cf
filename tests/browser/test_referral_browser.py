"""A referral from one organisation to another on one instance, in the browser: the case worker refers a case
(choosing the partner from the directory, seeing each part before sending, recording the consent), the partner
accepts it from its inbox, reports that services started, then closes its case; the sender sees each status
come back, and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from phare.accounts.models import Role
from phare.referrals.models import Status, Transfer
from tests.browser.conftest import enrol_authenticator, go, sign_in
from tests.referral_helpers import PASSWORD, org, rich_case, user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def test_a_referral_is_sent_accepted_and_closed_with_status_flowing_back(live_server: Any, browser: Any,
                                                                        shots: Path) -> None:  # fmt: skip
    a, b = org("br-shelter", "Harbour Shelter"), org("br-legal", "Legal Aid Coast", services=("Legal",))
    sender, receiver = user(a, Role.CASE_WORKER, "sender"), user(b, Role.CASE_WORKER, "receiver")
    enrol_authenticator(sender)
    enrol_authenticator(receiver)
    case = rich_case(sender)
    base = live_server.url

    s = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(s, base, "sender", PASSWORD)
    s.goto(f"{base}/cases/{case.number}/")
    go(s, "text=+ Refer to a partner organisation")
    assert "amaka@example.org" in s.content() and "A1234567" in s.content()  # each part shows what it holds
    s.select_option("#id_to", str(b.pk))
    s.check("input[name=services][value=Legal]")
    s.select_option("#id_urgency", "urgent")
    s.fill("#id_details", "Court hearing next week")
    s.check("#id_consent")
    s.select_option("#id_how_informed", "Verbal")
    s.screenshot(path=str(shots / "referral-send-desktop.png"), full_page=True)
    go(s, "#refer-form button[type=submit]")
    t = Transfer.objects.get()
    assert s.url.endswith(f"/referrals/{t.uid}/") and "Received" in s.inner_text("#referral-status")

    r = browser.new_context(viewport=PHONE).new_page()
    sign_in(r, base, "receiver", PASSWORD)
    r.goto(f"{base}/referrals/")
    assert "Harbour Shelter" in r.inner_text("#inbox")
    go(r, f"#inbox a[href='/referrals/{t.uid}/']")
    shared = r.inner_text("#shared")
    assert "Amaka" in shared and "Court hearing next week" in shared and "A1234567" not in shared
    r.screenshot(path=str(shots / "referral-inbox-phone.png"), full_page=True)
    go(r, "button[value=accept]")
    t.refresh_from_db()
    assert t.status == Status.ACCEPTED and t.receiver_case is not None
    go(r, "button[value=services_started]")
    # the receiver closes its own case: the referral reports closed
    r.goto(f"{base}/cases/{t.receiver_case.number}/")
    assert "Referred by Harbour Shelter" in r.inner_text("#partner-referrals")
    r.goto(f"{base}/cases/{t.receiver_case.number}/close/")
    r.fill("textarea[name=cas_ReasonForCaseClosure], input[name=cas_ReasonForCaseClosure]", "Legal support completed")
    go(r, "main form button[type=submit]")
    t.refresh_from_db()
    assert t.status == Status.CLOSED

    s.goto(f"{base}/referrals/{t.uid}/")
    history = s.inner_text("#history")
    for label in ("Received", "Accepted", "Services started", "Closed"):
        assert label in history
    assert "Legal support completed" not in s.content()  # the receiver's closure reason stays with the receiver
    s.goto(f"{base}/cases/{case.number}/")
    assert "Legal Aid Coast" in s.inner_text("#partner-referrals") and "Closed" in s.inner_text("#partner-referrals")
    s.screenshot(path=str(shots / "referral-closed-desktop.png"), full_page=True)
