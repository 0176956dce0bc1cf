"""The access layer's own promises, each checked directly (the property tests in test_tenancy.py try them
thousands of times; these name each guard so that losing one fails a test that says which)."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404

from phare import access
from phare.accounts.models import OrganisationNote, Role
from phare.cases import actions
from phare.cases.models import Case, Person

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(org: Any, other_org: Any, make_user: Any) -> dict[str, Any]:
    mine, theirs = make_user(Role.SUPERVISOR, org), make_user(Role.SUPERVISOR, other_org)
    return {"me": mine, "them": theirs,
            "my_case": actions.open_case(mine, person_data={"prs_FirstName": "Mine"}),
            "their_case": actions.open_case(theirs, person_data={"prs_FirstName": "Theirs"})}  # fmt: skip


def test_it_scopes_rows_to_the_users_organisation(two: dict[str, Any]) -> None:
    me, theirs = two["me"], two["their_case"]
    assert list(access.scoped(me, Case)) == [two["my_case"]]
    assert {p.prs_FirstName for p in access.scoped(me, Person)} == {"Mine"}
    with pytest.raises(Http404):
        access.get_or_404(me, Case, pk=theirs.pk)
    with pytest.raises(Http404):
        access.get_readable_or_404(me, Case, uid=theirs.uid)
    assert access.get_or_404(me, Case, pk=two["my_case"].pk) == two["my_case"]


def test_it_gives_a_disabled_account_nothing(two: dict[str, Any]) -> None:
    me = two["me"]
    me.is_active = False
    me.save(update_fields=["is_active"])
    assert not access.scoped(me, Case).exists()
    assert not access.readable(me, Case).exists()
    with pytest.raises(Http404):
        access.get_or_404(me, Case, pk=two["my_case"].pk)
    # nor what another organisation shared with theirs by referral
    access.share(two["their_case"], me.organisation)
    assert not access.readable(me, Case).exists()
    me.is_active = True
    assert list(access.readable(me, Case).filter(pk=two["their_case"].pk)) == [two["their_case"]]


def test_it_gives_a_user_without_organisation_nothing(make_user: Any, two: dict[str, Any]) -> None:
    drifter = make_user(Role.SUPERVISOR, None)
    assert not access.scoped(drifter, Case).exists() and not access.readable(drifter, Case).exists()


def test_it_shares_by_referral_read_only_and_never_a_restricted_record(two: dict[str, Any]) -> None:
    me, them = two["me"], two["them"]
    theirs = two["their_case"]
    access.share(theirs, me.organisation)
    assert set(access.readable(me, Case)) == {two["my_case"], theirs}  # the shared record beside our own
    assert access.get_readable_or_404(me, Case, uid=two["my_case"].uid) == two["my_case"]
    assert not access.scoped(me, Case).filter(pk=theirs.pk).exists()  # not writable
    Case.objects.filter(pk=theirs.pk).update(restricted=True)
    assert not access.readable(me, Case).filter(pk=theirs.pk).exists()
    Case.objects.filter(pk=theirs.pk).update(restricted=False)
    access.unshare(theirs, me.organisation)
    assert not access.readable(me, Case).filter(pk=theirs.pk).exists()
    note = OrganisationNote.objects.create(organisation=them.organisation, body="private")
    assert not access.readable(me, OrganisationNote).filter(pk=note.pk).exists()


def test_it_revokes_only_the_share_it_names(two: dict[str, Any], make_user: Any) -> None:
    from phare.accounts.models import Organisation

    me, them, theirs = two["me"], two["them"], two["their_case"]
    second = actions.open_case(them, person_data={"prs_FirstName": "Second"})
    third = make_user(Role.SUPERVISOR, Organisation.objects.create(slug="third", org_Name="Third"))
    for case in (theirs, second):
        access.share(case, me.organisation)
    access.share(theirs, third.organisation)
    access.unshare(theirs, me.organisation_id)  # by id as well as by organisation
    assert list(access.readable(me, Case).filter(organisation=them.organisation)) == [second]
    assert access.readable(third, Case).filter(pk=theirs.pk).exists()


@pytest.mark.parametrize("role,counts", [(Role.ANALYST, True), (Role.AUDITOR, True), (Role.SUPERVISOR, True),
                                         (Role.CASE_WORKER, True), (Role.HELPLINE, True)])  # fmt: skip
def test_it_counts_aggregates_for_roles_that_may(two: dict[str, Any], make_user: Any, role: str, counts: bool) -> None:
    user = make_user(role, two["me"].organisation)
    assert access.scoped_aggregate(user, Case).exists() is counts
    assert not access.scoped_aggregate(user, Case).filter(pk=two["their_case"].pk).exists()


def test_it_counts_personal_tables_only_for_roles_that_may(two: dict[str, Any], make_user: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from phare.accounts import permissions

    # A role with neither aggregates nor personal data (none exists today: made here by taking analysts' away).
    user = make_user(Role.ANALYST, two["me"].organisation)
    monkeypatch.setitem(permissions.MATRIX, Role.ANALYST, frozenset())
    assert not access.scoped_aggregate(user, Person).exists()
    assert not access.scoped_aggregate(user, Case).exists()


def test_it_shares_with_an_organisation_named_by_its_id(two: dict[str, Any]) -> None:
    me, theirs = two["me"], two["their_case"]
    access.share(theirs, me.organisation_id)
    assert access.get_readable_or_404(me, Case, uid=theirs.uid) == theirs
    access.unshare(theirs, me.organisation_id)
    with pytest.raises(Http404):
        access.get_readable_or_404(me, Case, uid=theirs.uid)
