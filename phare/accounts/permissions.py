"""Who may do what. One matrix, read by views (`require_role`, `require_perm`), the access layer and templates.

| permission          | admin | supervisor | case worker | helpline | analyst | auditor |
|---------------------|:-----:|:----------:|:-----------:|:--------:|:-------:|:-------:|
| read_personal       |   ✓   |     ✓      |      ✓      |    ✓     |         |         |
| write_cases         |   ✓   |     ✓      |      ✓      |    ✓     |         |         |
| export / import     |   ✓   |     ✓      |             |          |         |         |
| refer               |   ✓   |     ✓      |      ✓      |          |         |         |
| manage_cases        |   ✓   |     ✓      |             |          |         |         |
| break_glass         |   ✓   |     ✓      |      ✓      |          |         |         |
| manage_users        |   ✓   |            |             |          |         |         |
| review_break_glass  |   ✓   |     ✓      |             |          |         |    ✓    |
| read_audit          |   ✓   |            |             |          |         |    ✓    |
| read_aggregates     |   ✓   |     ✓      |             |          |    ✓    |    ✓    |

Roles that read personal data must use a second factor (`PERSONAL_DATA_ROLES`). The analyst sees only
de-identified aggregates; the auditor/DPO reads the audit log and aggregates, never a person's record.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from phare.accounts.models import PERSONAL_DATA_ROLES, Role

READ_PERSONAL = "read_personal"
WRITE_CASES = "write_cases"
EXPORT = "export"
IMPORT = "import"
REFER = "refer"
# See every case (restricted ones too), reassign them, decide colleagues' access requests.
MANAGE_CASES = "manage_cases"
BREAK_GLASS = "break_glass"
MANAGE_USERS = "manage_users"
REVIEW_BREAK_GLASS = "review_break_glass"
READ_AUDIT = "read_audit"
READ_AGGREGATES = "read_aggregates"

ALL_PERMS = frozenset(
    {
        READ_PERSONAL,
        WRITE_CASES,
        EXPORT,
        IMPORT,
        REFER,
        MANAGE_CASES,
        BREAK_GLASS,
        MANAGE_USERS,
        REVIEW_BREAK_GLASS,
        READ_AUDIT,
        READ_AGGREGATES,
    }
)

MATRIX: dict[str, frozenset[str]] = {
    Role.ADMIN: ALL_PERMS,
    Role.SUPERVISOR: frozenset({READ_PERSONAL, WRITE_CASES, EXPORT, IMPORT, REFER, MANAGE_CASES, BREAK_GLASS,
                               REVIEW_BREAK_GLASS, READ_AGGREGATES}),
    Role.CASE_WORKER: frozenset({READ_PERSONAL, WRITE_CASES, REFER, BREAK_GLASS}),
    Role.HELPLINE: frozenset({READ_PERSONAL, WRITE_CASES}),
    Role.ANALYST: frozenset({READ_AGGREGATES}),
    Role.AUDITOR: frozenset({READ_AUDIT, REVIEW_BREAK_GLASS, READ_AGGREGATES}),
}

# Personal data implies the second factor: the matrix and PERSONAL_DATA_ROLES must agree.
assert {r for r, perms in MATRIX.items() if READ_PERSONAL in perms} == set(PERSONAL_DATA_ROLES)

# Roles an admin may hand out (nobody can create a role above their own; admins cannot create superusers).
RANK = {Role.AUDITOR: 1, Role.ANALYST: 1, Role.HELPLINE: 2, Role.CASE_WORKER: 3, Role.SUPERVISOR: 4, Role.ADMIN: 5}


def perms_of(user: Any) -> frozenset[str]:
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return frozenset()
    if getattr(user, "organisation_id", None) is None:
        return frozenset()
    return MATRIX.get(getattr(user, "role", ""), frozenset())


def can(user: Any, perm: str) -> bool:
    if perm not in ALL_PERMS:
        raise ValueError(f"unknown permission {perm!r}")
    return perm in perms_of(user)


V = TypeVar("V", bound=Callable[..., HttpResponseBase])


def require_perm(*perms: str) -> Callable[[V], V]:
    """View decorator: the signed-in user must hold every permission listed (403 otherwise)."""

    def deco(view: V) -> V:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            if not all(can(request.user, p) for p in perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return deco


def require_role(*roles: str) -> Callable[[V], V]:
    """View decorator: the signed-in user's role must be one of `roles` (403 otherwise)."""

    def deco(view: V) -> V:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            if getattr(request.user, "role", None) not in roles or not perms_of(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return deco


def assignable_roles(actor: Any) -> list[str]:
    """Roles `actor` may give to someone else in their organisation."""
    if not can(actor, MANAGE_USERS):
        return []
    return [r for r in Role.values if RANK[Role(r)] <= RANK[Role(actor.role)]]


def lowest_role(actor: Any) -> str:
    """The role a new user gets unless the admin picks another: the assignable role with the fewest permissions,
    preferring one that reads no personal data (least privilege: an admin raises it on purpose)."""
    roles = assignable_roles(actor)
    if not roles:
        return ""
    return min(roles, key=lambda r: (len(MATRIX[r]), r in PERSONAL_DATA_ROLES))
