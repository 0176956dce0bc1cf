"""The permission matrix read for any kind of caller: signed-in users of each role, and everything that is not
one (anonymous, disabled, without organisation, without a role Phare knows, an object with none of a user's
attributes) holds no permission at all."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from phare.accounts.models import Role
from phare.accounts.permissions import ALL_PERMS, EXPORT, MATRIX, READ_PERSONAL, can, perms_of


def _user(**kw: Any) -> SimpleNamespace:
    base = {"is_authenticated": True, "is_active": True, "organisation_id": 1, "role": Role.SUPERVISOR}
    return SimpleNamespace(**{**base, **kw})


def test_it_gives_each_role_its_row_of_the_matrix() -> None:
    for role, perms in MATRIX.items():
        assert perms_of(_user(role=role)) == perms
    assert can(_user(role=Role.SUPERVISOR), EXPORT) and not can(_user(role=Role.CASE_WORKER), EXPORT)


@pytest.mark.parametrize("who", [
    None,
    SimpleNamespace(),  # none of a user's attributes
    _user(is_authenticated=False),
    _user(is_active=False),
    _user(is_authenticated=False, is_active=False),
    _user(organisation_id=None),
    _user(role="superuser"),
    _user(role=None),
    SimpleNamespace(is_active=True, organisation_id=1, role=Role.ADMIN),  # no is_authenticated
    SimpleNamespace(is_authenticated=True, organisation_id=1, role=Role.ADMIN),  # no is_active
    SimpleNamespace(is_authenticated=True, is_active=True, role=Role.ADMIN),  # no organisation
    SimpleNamespace(is_authenticated=True, is_active=True, organisation_id=1),  # no role
], ids=["none", "bare", "anonymous", "disabled", "anonymous-disabled", "no-organisation", "unknown-role", "null-role",
        "no-authenticated-flag", "no-active-flag", "no-organisation-attribute", "no-role-attribute"])  # fmt: skip
def test_it_gives_nothing_to_anything_but_an_active_signed_in_member(who: Any) -> None:
    assert perms_of(who) == frozenset()
    assert isinstance(perms_of(who), frozenset)
    for perm in ALL_PERMS:
        assert can(who, perm) is False


def test_it_names_an_unknown_permission() -> None:
    with pytest.raises(ValueError, match="unknown permission 'read_everything'"):
        can(_user(), "read_everything")
    assert can(_user(), READ_PERSONAL)


def test_it_lets_an_admin_hand_out_every_role_up_to_their_own_and_nobody_else_any() -> None:
    from phare.accounts.permissions import assignable_roles, lowest_role

    assert assignable_roles(_user(role=Role.ADMIN)) == list(Role.values)  # another admin too
    for role in set(Role.values) - {Role.ADMIN}:
        assert assignable_roles(_user(role=role)) == [] and lowest_role(_user(role=role)) == ""
    assert assignable_roles(_user(role=Role.ADMIN, is_active=False)) == []


def test_it_defaults_a_new_user_to_the_least_privileged_role_preferring_one_without_personal_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from phare.accounts import permissions

    admin = _user(role=Role.ADMIN)
    assert permissions.lowest_role(admin) == Role.ANALYST
    # A tie on the number of permissions (none today: made here) goes to the role that reads no personal data,
    # whichever comes first in the list of roles.
    for role in (Role.HELPLINE, Role.CASE_WORKER):
        monkeypatch.setitem(permissions.MATRIX, role, frozenset({READ_PERSONAL}))
    assert permissions.lowest_role(admin) == Role.ANALYST
    monkeypatch.setitem(permissions.MATRIX, Role.ANALYST, frozenset({permissions.READ_AGGREGATES, EXPORT}))
    monkeypatch.setitem(permissions.MATRIX, Role.HELPLINE, frozenset({READ_PERSONAL, EXPORT}))
    monkeypatch.setitem(permissions.MATRIX, Role.CASE_WORKER, frozenset({READ_PERSONAL, EXPORT}))
    assert permissions.lowest_role(admin) == Role.ANALYST
