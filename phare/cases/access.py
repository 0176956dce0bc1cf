"""Who sees which cases and people, and whose names, inside one organisation.

The tenant boundary itself is `phare.access.scoped`; this module narrows within the tenant by role:

* supervisors and admins see every case of the organisation, restricted ones included;
* case workers and helpline operators see the cases they own or are assigned to, and the one case an active
  break-glass grant (reason, at most three hours, reviewed) opens for them;
* analysts and auditors see the cases that are not restricted, never a name, and cannot write.

People follow their cases: a person is visible when one of their cases is (or, for a person not yet on any case,
to the user who registered them). Every page, the API and the exports call `visible_cases` / `visible_persons`,
so a break-glass grant or a role change takes effect everywhere at once.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy

from phare import access
from phare.accounts.models import Role
from phare.cases.models import Case, CaseAssignment, CaseParticipant, Person
from phare.core.prepared import PreparedObjects

ALL_CASES_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.ANALYST, Role.AUDITOR})
WRITE_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.CASE_WORKER, Role.HELPLINE})


def sees_names(user: Any) -> bool:
    return bool(getattr(user, "sees_personal_data", False))


def can_write(user: Any) -> bool:
    return getattr(user, "role", None) in WRITE_ROLES


def can_manage(user: Any) -> bool:
    """Reassign cases to others, see restricted cases of the whole organisation, decide access requests."""
    from phare.accounts.permissions import MANAGE_CASES, can

    return can(user, MANAGE_CASES)


def sees_every_case(user: Any) -> bool:
    """Admins and supervisors see every case of their organisation, restricted ones too."""
    return getattr(user, "role", None) in ALL_CASES_ROLES - {Role.ANALYST, Role.AUDITOR}


def visible_cases(user: Any) -> QuerySet[Case]:
    qs = access.scoped(user, Case)
    if sees_every_case(user):
        return qs
    if getattr(user, "role", None) in (Role.ANALYST, Role.AUDITOR):
        return qs.filter(restricted=False)
    assigned = CaseAssignment.objects.filter(user_id=getattr(user, "pk", None) or 0).values("case_id")
    return qs.filter(Q(cas_CaseOwner_id=getattr(user, "pk", None)) | Q(id__in=assigned)
                     | access.restricted_open(user, Case))  # fmt: skip


def owned_cases(user: Any) -> QuerySet[Case]:
    """The cases `user` owns, among those they may see. An owner sees their own case (the first clause of
    `visible_cases` for every role that owns cases), so the rest of that test is left out: on PostgreSQL it was
    half the time of a case worker's home page at 200,000 cases. Analysts and auditors, who see by another rule,
    keep the whole test. tests/test_cases_access.py checks that these are exactly the owned cases
    `visible_cases` gives, for every role."""
    if getattr(user, "role", None) in (Role.ANALYST, Role.AUDITOR):
        return visible_cases(user).filter(cas_CaseOwner_id=getattr(user, "pk", None))
    return access.scoped(user, Case).filter(cas_CaseOwner_id=getattr(user, "pk", None))


def on_cases(cases: QuerySet[Case], field: str = "case_id") -> Exists:
    """A row whose case (`field`) is one of `cases`: the rows `case__in=cases` keeps, written EXISTS (... id =
    the row's case). SQLite runs `IN (subquery)` by first listing every id the subquery gives (the whole
    organisation's cases for a supervisor: 200 ms at 200,000 cases) and EXISTS by looking the row's case up by
    its key; PostgreSQL plans both as the same semi-join."""
    return Exists(cases.filter(pk=OuterRef(field)))


def visible_persons(user: Any) -> QuerySet[Person]:
    """People of the user's organisation the user may see: those on a case the user may see, and people the
    user registered who are not on any case yet (an API client creates the person, then the case)."""
    qs = access.scoped(user, Person)
    if can_manage(user):
        return qs
    on_cases = CaseParticipant.objects.filter(case__in=visible_cases(user)).values("person_id")
    own_new = Q(created_by_id=getattr(user, "pk", None), participations__isnull=True)
    return qs.filter(Q(id__in=on_cases) | own_new)


def every_case_org(user: Any) -> int | None:
    """The organisation of a user who sees all its cases (`sees_every_case`), when `visible_cases` is exactly that
    organisation's cases: the queries built once per process for these readers name it. None otherwise."""
    org_id = getattr(user, "organisation_id", None)
    if (access.ENFORCE_TENANT_FILTER and isinstance(org_id, int) and getattr(user, "is_active", True)
            and sees_every_case(user)):  # fmt: skip
        return org_id
    return None


def _case_of_number(cases: QuerySet[Case], number: str) -> QuerySet[Case]:
    # What `.get(number=...)` runs: no order, at most 21 rows (Django's MAX_GET_RESULTS: "more than 21" is all
    # a second row tells).
    return cases.select_related("cas_CaseOwner", "primary_person").filter(number=number).order_by()[:21]


# Every case page and every change of a case opens its case: for supervisors, built once (phare.core.prepared).
_EVERY_CASE_BY_NUMBER = PreparedObjects(lambda org_id, number: _case_of_number(
    Case._default_manager.all().filter(organisation_id=org_id), number), int, str)  # fmt: skip


def get_case(user: Any, number: str) -> Case:
    """The case of this number if the user may see it; 404 alike for missing, other tenant's and not allowed."""
    org_id = every_case_org(user)
    if org_id is not None and isinstance(number, str):
        found = _EVERY_CASE_BY_NUMBER.objects(org_id, number)
        if len(found) == 1:
            case: Case = found[0]
            return case
        if found:
            raise Case.MultipleObjectsReturned(f"{len(found)} cases of one number")
        raise Http404("Not found")
    try:
        return visible_cases(user).select_related("cas_CaseOwner", "primary_person").get(number=number)
    except Case.DoesNotExist:
        raise Http404("Not found") from None


def opened_by_break_glass(user: Any, case: Case) -> Any:
    """The active break-glass grant through which `user` sees `case`, if that is the only way they see it."""

    if getattr(user, "role", None) in ALL_CASES_ROLES or case.cas_CaseOwner_id == getattr(user, "pk", None):
        return None
    if CaseAssignment.objects.filter(case=case, user_id=getattr(user, "pk", None) or 0).exists():
        return None
    return access.active_grant(user, case)


# A break-glass grant reads one case in an emergency, for a few hours, and is reviewed afterwards: it is not a way to
# change the case. Who needs to work on it asks a supervisor for access.
EMERGENCY_READ_ONLY = gettext_lazy("Emergency access lets you read this case, not change it: ask a supervisor for "
                                   "access to work on it.")  # fmt: skip


def require_case_write(user: Any, case: Case) -> None:
    """Refuse a change to `case` by someone who opens it only through a break-glass grant (pages and the API call
    this once they have the case; the work verbs too)."""
    if opened_by_break_glass(user, case) is not None:
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied(str(EMERGENCY_READ_ONLY))


def require_write(user: Any) -> None:
    if not can_write(user):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
