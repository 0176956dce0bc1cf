"""Referrals between organisations of one instance: the directory, consent, sending the chosen parts, the
receiver's inbox, accepting into its own tenant or declining, status flowing back, withdrawal, consent withdrawal,
and the audit on both sides."""

from __future__ import annotations

import pytest

from phare.accounts.models import Role
from phare.audit.models import AuditEvent
from phare.cases import actions as case_actions
from phare.cases.models import Case, CaseParticipant, Consent, Person, Referral
from phare.crypto import keys
from phare.referrals import actions, parts, transfer
from phare.referrals.models import Status, Transfer
from tests.referral_helpers import org, rich_case, user

pytestmark = pytest.mark.django_db


def _world() -> tuple[object, object, object, object, Case]:
    a, b = org("shelter-a", "Shelter A"), org("legal-b", "Legal Aid B")
    ua, ub = user(a), user(b)
    return a, b, ua, ub, rich_case(ua)


def test_it_lists_partners_that_accept_referrals_and_never_the_users_own() -> None:
    _a, b, ua, ub, _ = _world()
    c = org("closed-c", listed=False)
    listed = list(actions.directory(ua))
    assert [x.organisation for x in listed] == [b]
    assert listed[0].services == ["Legal", "Health"] and listed[0].countries == ["NG"]
    assert c not in [x.organisation for x in actions.directory(ub)]
    with pytest.raises(actions.Refused) as e:
        actions.list_organisation(ua, {"services": ["Legal"]})  # a case worker does not edit the listing
    assert e.value.code == "referral-permission"


def test_it_refuses_to_send_without_the_persons_consent_for_that_organisation() -> None:
    _a, b, ua, _ub, case = _world()
    c = org("clinic-c")
    with pytest.raises(actions.Refused) as e:
        actions.send(ua, case, b, services=["Legal"])
    assert e.value.code == "referral-no-consent"
    actions.record_consent(ua, case, c)  # consent to another organisation does not count
    with pytest.raises(actions.Refused):
        actions.send(ua, case, b, services=["Legal"])
    consent = actions.record_consent(ua, case, b)
    case_actions.withdraw_consent(ua, consent)
    with pytest.raises(actions.Refused):
        actions.send(ua, case, b, services=["Legal"])
    assert not Transfer.objects.exists()


def test_it_sends_only_the_default_parts_sealed_for_the_receiver() -> None:
    a, b, ua, ub, case = _world()
    actions.record_consent(ua, case, b)
    t = actions.send(ua, case, b, services=["Legal"], urgency="urgent", details="Needs a lawyer this week")
    assert t.parts == ["referral", "contact", "needs"] and t.status == Status.RECEIVED
    assert "Amaka" not in t.payload and "amaka@example.org" not in t.payload  # sealed
    bundle = actions.shared_content(ub, t)
    assert bundle["persons"][0]["prs_FirstName"] == "Amaka"
    assert bundle["persons"][0]["prs_Email"] == "amaka@example.org"
    assert "prs_Birthdate" not in bundle["persons"][0] and "prs_IdentityNumber" not in bundle["persons"][0]
    assert "events" not in bundle and parts.outside(bundle, t.parts) == {}
    assert bundle["support_plans"] == [{"id": "s1", "spl_Type": "Legal", "spl_Objectives": "Residence permit"}]
    assert bundle["referrals"][0]["cas_OutgoingReferralDetails"] == "Needs a lawyer this week"
    # the sender cannot open it: it is sealed for the receiver only
    with pytest.raises(transfer.PayloadGone):
        transfer.open_payload(t, a.pk)
    assert actions.shared_content(ua, t) == {}
    assert Referral.objects.filter(case=case, direction="Outgoing", to_tenant=b).count() == 1
    # the receiver's inbox has it; the sender's does not
    assert list(actions.inbox(ub)) == [t] and list(actions.inbox(ua)) == []
    assert list(actions.sent(ua)) == [t]
    assert set(AuditEvent.objects.filter(action="referral.send").values_list("organisation_id", flat=True)) == {a.pk, b.pk}


def test_it_refuses_unknown_parts_and_services_and_roles_that_cannot_refer() -> None:
    a, b, ua, _ub, case = _world()
    actions.record_consent(ua, case, b)
    for kw, code in (({"chosen": ["contact", "comments"]}, "referral-unknown-part"),
                     ({"services": ["Spa"]}, "referral-unknown-service"), ({"services": []}, "referral-no-service")):  # fmt: skip
        with pytest.raises(actions.Refused) as e:
            actions.send(ua, case, b, **{"services": ["Legal"], **kw})  # type: ignore[arg-type]
        assert e.value.code == code
    helpline = user(a, Role.HELPLINE)
    with pytest.raises(actions.Refused):
        actions.send(helpline, case, b, services=["Legal"])
    with pytest.raises(actions.Refused) as e:
        actions.send(ua, case, a, services=["Legal"])
    assert e.value.code in ("referral-self", "referral-not-accepting")
    assert actions.inbox(user(b, Role.ANALYST)).count() == 0


def test_it_opens_a_linked_case_in_the_receivers_tenant_under_its_own_keys() -> None:
    a, b, ua, ub, case = _world()
    actions.record_consent(ua, case, b)
    t = actions.send(ua, case, b, services=["Legal"], chosen=["referral", "contact", "needs", "identity"])
    new = actions.accept(ub, t)
    t.refresh_from_db()
    assert new.organisation_id == b.pk and t.status == Status.ACCEPTED and t.receiver_case == new and t.payload == ""
    person = Person.objects.get(pk=new.primary_person_id)
    assert person.organisation_id == b.pk and person.prs_FirstName == "Amaka" and person.prs_IdentityNumber == "A1234567"
    assert not person.prs_MailingCity  # address was not chosen
    p = CaseParticipant.objects.get(case=new)
    assert p.vic_Vulnerabilities == ["Poverty"] and p.vic_TypeOfExploitation == []  # exploitation was not chosen
    assert CaseParticipant.objects.filter(case=new).count() == 1  # never the perpetrator
    assert not new.comments.exists() and not new.events.exists()
    incoming = Referral.objects.get(case=new, direction="Incoming")
    assert incoming.source_referral_id == t.referral_id and incoming.cas_ReferringOrganisation.tenant_id == a.pk
    assert Consent.objects.filter(case=new, con_Purpose=["Referral"]).exists()
    # the copy is sealed under a person key of the receiver, wrapped by the receiver's data key
    from phare.accounts.models import PersonKey

    pk = PersonKey.objects.get(subject=person.uid)
    assert pk.organisation_id == b.pk and pk.wrapping_key.organisation_id == b.pk
    assert keys.person_key_for(b.pk, person.uid)[0] == pk.pk
    for action in ("referral.accept",):
        assert set(AuditEvent.objects.filter(action=action).values_list("organisation_id", flat=True)) == {a.pk, b.pk}
    with pytest.raises(actions.Refused):
        actions.accept(ub, t)  # only once
    with pytest.raises(actions.Refused):
        actions.withdraw(ua, t)  # too late to withdraw


def test_status_flows_back_and_nothing_more() -> None:
    _a, b, ua, ub, case = _world()
    actions.record_consent(ua, case, b)
    t = actions.send(ua, case, b, services=["Legal"])
    new = actions.accept(ub, t)
    with pytest.raises(actions.Refused):
        actions.report(ub, t, Status.ACCEPTED)
    actions.report(ub, t, Status.SERVICES_STARTED)
    case_actions.add_comment(ub, new, "Receiver's own note")
    case_actions.close_case(ub, new, reason="Services delivered")  # closing the case reports it
    t.refresh_from_db()
    assert [h["status"] for h in t.history] == ["received", "accepted", "services_started", "closed"]
    assert set(t.history[0]) == {"status", "at"}
    # what the sender can read of the transfer is its own columns and these statuses
    with pytest.raises(actions.Refused):
        actions.report(ub, t, Status.SERVICES_STARTED)
    from django.http import Http404

    with pytest.raises(Http404):
        actions.report(ua, t, Status.CLOSED)  # the sender cannot report for the receiver


def test_it_declines_with_a_reason_and_the_sender_withdraws_before_acceptance() -> None:
    a, b, ua, ub, case = _world()
    actions.record_consent(ua, case, b)
    t = actions.send(ua, case, b, services=["Legal"])
    with pytest.raises(actions.Refused):
        actions.decline(ub, t, "  ")
    actions.decline(ub, t, "No capacity this month")
    t.refresh_from_db()
    assert t.status == Status.DECLINED and t.payload == "" and t.reason == "No capacity this month"
    with pytest.raises(actions.Refused):
        actions.accept(ub, t)
    t2 = actions.send(ua, case, b, services=["Health"])
    actions.withdraw(ua, t2, "Found a closer clinic")
    t2.refresh_from_db()
    assert t2.status == Status.WITHDRAWN and t2.payload == ""
    assert actions.shared_content(ub, t2) == {}
    with pytest.raises(actions.Refused):
        actions.accept(ub, t2)
    assert set(AuditEvent.objects.filter(action="referral.withdraw").values_list("organisation_id", flat=True)) == {a.pk, b.pk}


def test_withdrawing_consent_tells_the_receiver_and_stops_sharing() -> None:
    _a, b, ua, ub, case = _world()
    consent = actions.record_consent(ua, case, b)
    pending = actions.send(ua, case, b, services=["Legal"])
    accepted = actions.send(ua, case, b, services=["Health"])
    actions.accept(ub, accepted)
    case_actions.withdraw_consent(ua, consent, reason="Changed her mind")
    pending.refresh_from_db()
    accepted.refresh_from_db()
    assert pending.status == Status.WITHDRAWN and pending.consent_withdrawn and pending.payload == ""
    assert accepted.consent_withdrawn and accepted.status == Status.ACCEPTED
    assert AuditEvent.objects.filter(action="referral.consent_withdrawn", organisation=b).count() == 2
    with pytest.raises(actions.Refused):
        actions.send(ua, case, b, services=["Legal"])


def test_a_third_organisation_sees_nothing() -> None:
    _a, b, ua, _ub, case = _world()
    c = org("third-c")
    uc = user(c, Role.ADMIN, "third-admin-2")
    actions.record_consent(ua, case, b)
    t = actions.send(ua, case, b, services=["Legal"])
    from django.http import Http404

    assert list(actions.inbox(uc)) == [] and list(actions.sent(uc)) == []
    for verb in (lambda: actions.get_transfer(uc, t.uid), lambda: actions.accept(uc, t),
                 lambda: actions.decline(uc, t, "x"), lambda: actions.withdraw(uc, t)):  # fmt: skip
        with pytest.raises(Http404):
            verb()
    assert actions.shared_content(uc, t) == {}


def test_a_referral_without_contact_details_opens_under_a_pseudonym() -> None:
    _a, b, ua, ub, case = _world()
    actions.record_consent(ua, case, b)
    new = actions.accept(ub, actions.send(ua, case, b, services=["Legal"], chosen=["needs"]))
    person = Person.objects.get(pk=new.primary_person_id)
    assert not person.prs_FirstName and person.alias.startswith("Referred by Shelter A")


def test_it_shows_a_referral_only_to_colleagues_who_may_open_its_case_on_each_side() -> None:
    from django.core.exceptions import PermissionDenied
    from django.http import Http404
    from django.test import Client

    from phare.accounts import breakglass
    from phare.accounts.testing import login_with_mfa

    a, b, ua, ub, case = _world()
    colleague_a = user(a, Role.CASE_WORKER, "shelter-a-colleague")
    supervisor_a = user(a, Role.SUPERVISOR, "shelter-a-supervisor")
    colleague_b = user(b, Role.CASE_WORKER, "legal-b-colleague")
    actions.record_consent(ua, case, b)
    t = actions.send(ua, case, b, services=["Legal"], details="Needs a lawyer this week")
    # The sender's side: the case's own worker and a supervisor, not a colleague who is not on the case.
    assert list(actions.sent(ua)) == [t] and list(actions.sent(supervisor_a)) == [t]
    assert list(actions.sent(colleague_a)) == []
    with pytest.raises(Http404):
        actions.get_transfer(colleague_a, t.uid)
    with pytest.raises(Http404):
        actions.withdraw(colleague_a, t, "not mine to withdraw")
    # An emergency (break-glass) reader of the case reads its referral, and changes nothing.
    breakglass.grant(colleague_a, case, "The person called the night line in distress.", 1)
    assert actions.get_transfer(colleague_a, t.uid) == t
    with pytest.raises(PermissionDenied):
        actions.withdraw(colleague_a, t, "read-only access")
    # ... and its page offers the emergency reader no withdrawal, as it does the case's own worker.
    withdraw_form = b'value="withdraw"'
    assert withdraw_form not in login_with_mfa(Client(), colleague_a).get(f"/referrals/{t.uid}/").content
    assert withdraw_form in login_with_mfa(Client(), ua).get(f"/referrals/{t.uid}/").content
    assert Transfer.objects.get(pk=t.pk).status == Status.RECEIVED
    # The receiver's side: a pending referral is the organisation's intake, read by whoever may refer there ...
    assert list(actions.inbox(colleague_b)) == [t] and actions.get_transfer(colleague_b, t.uid) == t
    received = actions.accept(ub, actions.get_transfer(ub, t.uid))
    # ... and once accepted, it is read with the case it became.
    assert list(actions.inbox(ub)) == [t] and list(actions.inbox(colleague_b)) == []
    with pytest.raises(Http404):
        actions.report(colleague_b, Transfer.objects.get(pk=t.pk), Status.SERVICES_STARTED)
    breakglass.grant(colleague_b, received, "A hospital asks whether she is in our care tonight.", 1)
    assert actions.get_transfer(colleague_b, t.uid) == t
    with pytest.raises(PermissionDenied):
        actions.report(colleague_b, Transfer.objects.get(pk=t.pk), Status.SERVICES_STARTED)
    actions.report(ub, Transfer.objects.get(pk=t.pk), Status.SERVICES_STARTED)
    assert Transfer.objects.get(pk=t.pk).status == Status.SERVICES_STARTED and received.cas_CaseOwner_id == ub.pk
