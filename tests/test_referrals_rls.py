"""A referral crosses tenants under PostgreSQL row-level security, as the application role, without switching
tenants: the sender acting for itself writes the transfer, the receiver acting for itself reads and accepts it.
The two-party policy shows the transfer to exactly its two parties; switched off, a third tenant sees it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from phare import rls
from phare.accounts.models import Role
from phare.cases.models import Case, Person
from phare.referrals import actions
from phare.referrals.models import DirectoryListing, Status, Transfer
from tests.referral_helpers import org, rich_case, user

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row-level security is PostgreSQL's"),
]

ROLE = "phare_app"


def _as(o: Any) -> Any:
    return rls.acting_for(o.pk, role=ROLE)


def _world() -> tuple[Any, ...]:
    a, b, c = org("rls-ref-a"), org("rls-ref-b"), org("rls-ref-c")
    ua, ub, uc = user(a), user(b), user(c, Role.ADMIN, "rls-ref-c-admin2")
    case = rich_case(ua)
    assert rls.install(ROLE) >= 5
    return a, b, c, ua, ub, uc, case


def test_it_refers_and_accepts_across_tenants_as_the_app_role() -> None:
    a, b, c, ua, ub, _uc, case = _world()
    with _as(a):
        actions.record_consent(ua, case, b)
        t = actions.send(ua, case, b, services=["Legal"])
        assert [x.organisation_id for x in actions.directory(ua)] == sorted([b.pk, c.pk], key=lambda pk: pk)
    with _as(b):
        assert list(actions.inbox(ub)) == [t]
        assert actions.shared_content(ub, t)["persons"][0]["prs_FirstName"] == "Amaka"
        new = actions.accept(ub, t)
        actions.report(ub, t, Status.SERVICES_STARTED)
        assert not Case.objects.filter(organisation=a).exists()  # the sender's case stays out of sight
    with _as(a):
        t.refresh_from_db()
        assert t.status == Status.SERVICES_STARTED and t.receiver_case_id == new.pk
        assert not Case.objects.filter(pk=new.pk).exists() and not Person.objects.filter(organisation=b).exists()
    with _as(c):
        assert not Transfer.objects.exists()
        assert Transfer.objects.filter(pk=t.pk).update(status=Status.DECLINED) == 0
        assert Transfer.objects.filter(pk=t.pk).delete()[0] == 0
        assert DirectoryListing.objects.count() == 3  # every listing is read by every tenant
        assert DirectoryListing.objects.filter(organisation=a).update(area="hijacked") == 0  # written by its own only


def test_only_the_sender_creates_a_transfer_and_a_third_tenant_cannot_be_handed_one() -> None:
    a, b, c, ua, _ub, _uc, case = _world()
    with _as(a):
        actions.record_consent(ua, case, b)
        t = actions.send(ua, case, b, services=["Legal"])
    with _as(b), pytest.raises(DatabaseError), transaction.atomic():
        # the receiver cannot forge a transfer "from" the sender
        Transfer.objects.create(organisation=a, receiver=b, case=case, sent_at=timezone.now())
    with _as(b), pytest.raises(DatabaseError), transaction.atomic():
        Transfer.objects.filter(pk=t.pk).update(receiver=c)  # nor pass it on to a third organisation
    with _as(b):
        assert Transfer.objects.filter(pk=t.pk).delete()[0] == 0  # nor delete it


def test_negative_control_a_third_tenant_sees_the_transfer_once_rls_is_off() -> None:
    a, b, c, ua, _ub, _uc, case = _world()
    with _as(a):
        actions.record_consent(ua, case, b)
        t = actions.send(ua, case, b, services=["Legal"])
    rls.set_enabled(False, [rls.TRANSFERS])
    try:
        with _as(c):
            assert Transfer.objects.filter(pk=t.pk).exists()
    finally:
        rls.set_enabled(True, [rls.TRANSFERS])
    with _as(c):
        assert not Transfer.objects.filter(pk=t.pk).exists()


def _refused(o: Any, t: Transfer, **change: Any) -> bool:
    with _as(o):
        try:
            with transaction.atomic():
                Transfer.objects.filter(pk=t.pk).update(**change)
        except DatabaseError:
            return True
    return False


def test_each_party_changes_only_its_own_columns_below_the_orm(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, c, ua, _ub, _uc, case = _world()
    with _as(a):
        actions.record_consent(ua, case, b)
        t = actions.send(ua, case, b, services=["Legal"])
    # the receiver cannot rewrite what was sent, hand the referral to someone else, or withdraw it
    assert _refused(b, t, parts=["identity"])
    assert _refused(b, t, organisation=c)
    assert _refused(b, t, payload="v1:forged")
    assert _refused(b, t, status=Status.WITHDRAWN)
    # the sender cannot report for the receiver
    assert _refused(a, t, status=Status.ACCEPTED)
    assert _refused(a, t, receiver_case=case)
    # what each may do still works
    assert not _refused(b, t, status=Status.DECLINED, payload="")
    # negative control: without the guard, the receiver rewrites the parts
    monkeypatch.setattr(rls, "transfer_guard_statements", lambda role: ["DROP TRIGGER IF EXISTS phare_transfer_guard ON referrals_transfer"])
    rls.install(ROLE)
    assert not _refused(b, t, parts=["identity"])
