"""A time-limited consent (issue 18): its end shows in the owner's due list, the owner hears of it once before
it lapses, and past its last day it is no consent at all (the case header, referrals, research releases)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from phare.accounts.models import Role
from phare.cases import actions as case_actions
from phare.cases.consents import live
from phare.cases.models import Consent
from phare.work import jobs
from phare.work.models import Kind, Notification
from tests.work_helpers import client, team, today, yesterday

pytestmark = pytest.mark.django_db


def _consent(actor: Any, case: Any, ends: Any, purposes: tuple[str, ...] = ("CaseManagement",)) -> Consent:
    return case_actions.record_consent(actor, case, {"con_Consent": True, "con_Purpose": list(purposes),
                                                     "con_Date": today() - timedelta(days=300), "con_ExpiryDate": ends})  # fmt: skip


def test_it_lists_a_consent_about_to_end_in_the_owners_due_list_until_it_is_given_again() -> None:
    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    _consent(worker, case, today() + timedelta(days=5))
    html = client(worker).get("/").content.decode()
    assert "Consent expires" in html and (today() + timedelta(days=5)).isoformat() in html
    assert f"/cases/{case.number}/#consents" in html
    # Not the colleague's list: they do not own the case.
    assert "Consent expires" not in client(t["colleague"]).get("/").content.decode()
    # Given again (a new consent record): nothing left to renew.
    _consent(worker, case, today() + timedelta(days=365))
    assert "Consent expires" not in client(worker).get("/").content.decode()


def test_it_says_an_expired_consent_is_overdue_and_no_longer_consent() -> None:
    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    old = _consent(worker, case, yesterday())
    html = client(worker).get("/").content.decode()
    assert "Consent expired" in html and "Overdue" in html
    page = client(worker).get(f"/cases/{case.number}/").content.decode()
    assert "Consent expired" in page and "Consent given" not in page
    assert not live(Consent.objects.filter(pk=old.pk), today()).exists()
    assert live(Consent.objects.filter(pk=old.pk), yesterday()).exists()  # it held on its last day


def test_it_reminds_the_owner_once_before_the_consent_lapses() -> None:
    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    soon = _consent(worker, case, today() + timedelta(days=10))
    _consent(t[Role.SUPERVISOR], t["other_case"], today() + timedelta(days=40))  # too far ahead to remind of yet
    assert jobs.run(t["org"], today())["consent_notices"] == 1
    note = Notification.objects.get(kind=Kind.CONSENT_EXPIRING)
    assert note.recipient == worker and note.case == case and note.subject_uid == soon.uid
    assert jobs.run(t["org"], today())["consent_notices"] == 0  # once
    page = client(worker).get("/work/notifications/").content.decode()
    assert "A consent on your case is about to expire" in page and f"/cases/{case.number}/#consents" in page
    assert not Notification.objects.filter(recipient=t["colleague"]).exists()


def test_it_refers_only_on_a_referral_consent_that_has_not_expired() -> None:
    from phare.referrals import actions as referrals
    from tests import referral_helpers as rh

    a, b = rh.org("sender"), rh.org("receiver")
    worker = rh.user(a)
    case = rh.rich_case(worker)
    consent = referrals.record_consent(worker, case, b)
    assert referrals.live_consent(case, b.pk) == consent
    case_actions.update_consent(worker, consent, {"con_ExpiryDate": yesterday(), "con_Date": yesterday() - timedelta(days=30)})
    assert referrals.live_consent(case, b.pk) is None


def test_it_releases_for_research_only_on_a_research_consent_that_has_not_expired() -> None:
    from phare.cases.models import CaseParticipant
    from phare.sharing.records import victim_records

    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    person = CaseParticipant.objects.get(case=case).person
    consent = case_actions.record_consent(worker, case, {"con_Consent": True, "con_Purpose": ["Research"], "person": person,
                                                         "con_Date": today() - timedelta(days=30),
                                                         "con_ExpiryDate": today() + timedelta(days=1)})  # fmt: skip

    def purposes() -> list[str]:
        return next(r for r in victim_records(t["org"].pk) if r["case_id"] == case.pk)["con_Purpose"]

    assert purposes() == ["Research"]
    Consent.objects.filter(pk=consent.pk).update(con_ExpiryDate=yesterday())
    assert purposes() == []


def test_it_refuses_a_consent_that_ends_before_it_was_given_whatever_the_door() -> None:
    from django.test import Client

    from phare.cases.actions import Invalid
    from tests.test_api import V1, bearer, token_for

    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    with pytest.raises(Invalid):
        case_actions.record_consent(worker, case, {"con_Consent": True, "con_Purpose": ["Referral"], "con_Date": today(),
                                                   "con_ExpiryDate": yesterday()})  # fmt: skip
    r = client(worker).post(f"/cases/{case.number}/consents/add/", {"con_Consent": "on", "con_Purpose": "Referral",
                                                                      "con_Date": today().isoformat(),
                                                                      "con_ExpiryDate": yesterday().isoformat()})  # fmt: skip
    assert r.status_code == 200 and "The end date is before the start date." in r.content.decode()
    r = Client().post(f"{V1}/cases/{case.uid}/consents", {"con_Consent": True, "con_Purpose": ["Referral"],
                                                           "con_Date": today().isoformat(), "con_ExpiryDate": yesterday().isoformat()},
                      content_type="application/json", **bearer(token_for(worker)))  # fmt: skip
    assert r.status_code == 422
    assert not Consent.objects.exists()
