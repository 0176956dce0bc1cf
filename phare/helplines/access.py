"""Who sees which contacts, inside one organisation (the tenant boundary itself is `phare.access.scoped`).

* helpline operators, supervisors and admins see the organisation's contacts, except those linked to a
  restricted case they may not open (the contact would tell them what the restriction hides);
* a case worker sees the contacts linked to cases they may open (`visible_cases`), nothing else;
* analysts and auditors see none: they count contacts through the dashboards' de-identified figures.

Every page, the lookup and the verbs read through `visible_contacts` / `get_contact`, which answer "not found"
alike for a contact that is missing, another organisation's, or not the reader's to see.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from phare import access
from phare.accounts.models import Role
from phare.cases.access import visible_cases
from phare.helplines.models import Contact, Service

HELPLINE_ROLES = frozenset({Role.HELPLINE, Role.SUPERVISOR, Role.ADMIN})


def works_the_line(user: Any) -> bool:
    """May record and triage contacts."""
    return getattr(user, "role", None) in HELPLINE_ROLES and bool(getattr(user, "is_active", False))


def visible_contacts(user: Any) -> QuerySet[Contact]:
    qs = access.scoped(user, Contact)
    if works_the_line(user):
        return qs.filter(Q(case__isnull=True) | Q(case__restricted=False) | Q(case__in=visible_cases(user)))
    if getattr(user, "role", None) == Role.CASE_WORKER:
        return qs.filter(case__in=visible_cases(user))
    return qs.none()


def get_contact(user: Any, reference: str) -> Contact:
    try:
        return visible_contacts(user).select_related("case").get(reference=reference)
    except Contact.DoesNotExist:
        raise Http404("Not found") from None


def visible_services(user: Any) -> QuerySet[Service]:
    """The organisation's directory of services: about organisations, not people, so every member reads it."""
    return access.scoped(user, Service)


def get_service(user: Any, uid: Any) -> Service:
    try:
        return visible_services(user).get(uid=uid)
    except (Service.DoesNotExist, ValueError):
        raise Http404("Not found") from None
