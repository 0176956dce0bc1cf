"""Who sees which cases, and whose names, inside one organisation.

The tenant boundary itself is `phare.access.scoped`; this module narrows within the tenant by role:
case workers and helpline operators see the cases they own or are assigned to, supervisors and admins all of
the organisation's cases, analysts and auditors all cases but never a name (and cannot write).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from phare import access
from phare.accounts.models import Role
from phare.cases.models import Case, CaseAssignment

ALL_CASES_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.ANALYST, Role.AUDITOR})
WRITE_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.CASE_WORKER, Role.HELPLINE})
MANAGE_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR})


def sees_names(user: Any) -> bool:
    return bool(getattr(user, "sees_personal_data", False))


def can_write(user: Any) -> bool:
    return getattr(user, "role", None) in WRITE_ROLES


def can_manage(user: Any) -> bool:
    """Reassign cases to others, see restricted cases of the whole organisation."""
    return getattr(user, "role", None) in MANAGE_ROLES


def visible_cases(user: Any) -> QuerySet[Case]:
    qs = access.scoped(user, Case)
    role = getattr(user, "role", None)
    if role in ALL_CASES_ROLES:
        if role in (Role.ANALYST, Role.AUDITOR):
            return qs.filter(restricted=False)
        return qs
    assigned = CaseAssignment.objects.filter(user=user).values("case_id")
    return qs.filter(Q(cas_CaseOwner=user) | Q(id__in=assigned))


def get_case(user: Any, number: str) -> Case:
    """The case of this number if the user may see it; 404 alike for missing, other tenant's and not allowed."""
    try:
        return visible_cases(user).select_related("cas_CaseOwner", "primary_person").get(number=number)
    except Case.DoesNotExist:
        raise Http404("Not found") from None


def require_write(user: Any) -> None:
    if not can_write(user):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
