"""The case list's filters, shared by the list page and the export of what it shows (page and `phare export`)."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, F, QuerySet, Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan

from phare import access
from phare.cases import actions
from phare.cases import forms as cf
from phare.cases.access import can_manage, sees_names, visible_cases
from phare.cases.models import Case, CaseParticipant, CaseStatus, PersonIndex
from phare.core.prepared import Prepared
from phare.crypto import blind_index

OPEN_STATUSES = (CaseStatus.ACTIVE, CaseStatus.FOLLOW_UP)


def org_users(user: Any) -> QuerySet[Any]:
    return access.scoped(user, get_user_model()).filter(is_active=True).order_by("username")


def name_search_case_ids(org_id: int, query: str) -> QuerySet[Any]:
    """Ids of cases with a participant whose name has every token of the query (through the blind index)."""
    tokens = actions.name_tokens(query)
    digests = [blind_index(org_id, "name", t) for t in tokens]
    people = (
        PersonIndex.objects.filter(organisation_id=org_id, kind="name", digest__in=digests)
        .values("person_id")
        .annotate(n=Count("digest", distinct=True))
        .filter(n=len(set(digests)))
        .values("person_id")
    )
    # No organisation filter here: the people come from the organisation's own index, the caller's case query is
    # scoped, and with one SQLite would scan every participant of the organisation instead of using person_id.
    return CaseParticipant.objects.filter(person_id__in=people).values("case_id")


def filter_form(user: Any, data: Any) -> cf.CaseFilterForm:
    """The case list's filters, bound to `data` (the list's query, or an export's copy of it)."""
    org_id = getattr(user, "organisation_id", None)
    if access.ENFORCE_TENANT_FILTER and isinstance(org_id, int) and getattr(user, "is_active", True):
        # org_users(user)'s rows, the same query on every list page: built once (phare.core.prepared).
        rows = _OWNERS.rows(org_id)
    else:
        rows = list(org_users(user).values_list("id", "username", "first_name", "last_name"))
    # User.get_full_name, without making a user of each row.
    owners = [(str(pk), f"{first} {last}".strip() or username) for pk, username, first, last in rows]
    return cf.CaseFilterForm(data or None, owners=owners)


_OWNERS = Prepared(lambda org_id: get_user_model().objects.filter(organisation_id=org_id, is_active=True)
                   .order_by("username").values_list("id", "username", "first_name", "last_name"), int)  # fmt: skip


def applied_filters(form: cf.CaseFilterForm) -> dict[str, str]:
    """The filters the form sets, as text (for an export's audit event); none for an unbound or invalid form."""
    if not form.is_bound or not form.is_valid():
        return {}
    return {k: str(v) for k, v in form.cleaned_data.items() if v not in ("", None)}


WITHHELD_MAX = 5


def withheld_matches(user: Any, form: cf.CaseFilterForm) -> list[int]:
    """People the search finds (by case number or by name) only on cases the user may not open, restricted or
    someone else's: the list says that a possible match exists and offers to ask for access, never who it is.
    At most WITHHELD_MAX, the person ids for `views.match_token`."""
    if not form.is_bound or not form.is_valid() or not (q := (form.cleaned_data["q"] or "").strip()):
        return []
    if can_manage(user):  # supervisors and admins open every case of the organisation: nothing is withheld
        return []
    found = access.scoped(user, Case)
    people = None
    if re.fullmatch(r"\d{4}-\d{1,6}", q):
        year, seq = q.split("-")
        found = found.filter(number=f"{year}-{int(seq):06d}")
    elif re.fullmatch(r"\d{1,9}", q):
        found = found.filter(seq=int(q))
    elif sees_names(user):
        tokens = actions.name_tokens(q)
        digests = {blind_index(user.organisation_id, "name", t) for t in tokens}
        people = (PersonIndex.objects.filter(organisation_id=user.organisation_id, kind="name", digest__in=digests)
                  .values("person_id").annotate(n=Count("digest", distinct=True)).filter(n=len(digests))
                  .values("person_id"))  # fmt: skip
        found = found.filter(id__in=CaseParticipant.objects.filter(person_id__in=people).values("case_id"))
    else:
        return []
    hidden = found.exclude(id__in=visible_cases(user).values("id"))
    parts = CaseParticipant.objects.filter(case__in=hidden)
    parts = parts.filter(person_id__in=people) if people is not None else parts.filter(case__primary_person_id=F("person_id"))
    # A person the user already sees on another case is not withheld: the list shows that case.
    from phare.cases.access import visible_persons

    ids = parts.exclude(person_id__in=visible_persons(user).values("id")).values_list("person_id", flat=True)
    return list(dict.fromkeys(ids.order_by("person_id")[: WITHHELD_MAX * 4]))[:WITHHELD_MAX]


def has_exploitation(kind: str) -> GreaterThan:
    """Cases whose summary names this type of exploitation. Written STRPOS(...) > 0, not LIKE '%|kind|%':
    under row-level security PostgreSQL estimates LIKE (not leakproof) without the column's statistics, at a few
    rows out of 200,000, and then sorts every open case instead of reading the newest in index order until a
    page is full (92 ms against 5 ms at 200,000 cases); a position test gets the planner's default third."""
    return GreaterThan(StrIndex("exploitation_summary", Value(f"|{kind}|")), 0)


def filter_cases(user: Any, form: cf.CaseFilterForm) -> QuerySet[Case]:
    """The cases the user may see that match the form (all of them if it is unbound or invalid)."""
    qs = visible_cases(user)
    if not form.is_valid():
        return qs
    d = form.cleaned_data
    if d["q"]:
        q = d["q"].strip()
        if re.fullmatch(r"\d{4}-\d{1,6}", q):
            year, seq = q.split("-")
            qs = qs.filter(number=f"{year}-{int(seq):06d}")
        elif re.fullmatch(r"\d{1,9}", q):
            qs = qs.filter(seq=int(q))
        elif sees_names(user):
            qs = qs.filter(id__in=name_search_case_ids(user.organisation_id, q))
        else:
            qs = qs.none()
    if d["status"] == "open":
        qs = qs.filter(cas_Status__in=OPEN_STATUSES)
    elif d["status"]:
        qs = qs.filter(cas_Status=d["status"])
    if d["owner"] == "me":
        qs = qs.filter(cas_CaseOwner=user)
    elif d["owner"]:
        qs = qs.filter(cas_CaseOwner_id=int(d["owner"]))
    if d["exploitation"]:
        qs = qs.filter(has_exploitation(d["exploitation"]))
    if d["trafficking"]:
        qs = qs.filter(trafficking_status=d["trafficking"])
    if d["opened_from"]:
        qs = qs.filter(cas_OpenedDate__gte=d["opened_from"])
    if d["opened_to"]:
        qs = qs.filter(cas_OpenedDate__lte=d["opened_to"])
    if d.get("attention"):
        from phare.work.access import attention_case_ids

        qs = qs.filter(id__in=attention_case_ids(user, d["attention"]))
    return qs


SORTS = {"": ("-cas_OpenedDate", "-id"), "opened": ("cas_OpenedDate", "id"), "number": ("number",),
         "-number": ("-number",), "-updated": ("-updated", "-id"), "status": ("cas_Status", "-cas_OpenedDate", "-id")}


def ordering(form: cf.CaseFilterForm) -> tuple[str, ...]:
    """The list's order: the form's `sort`, newest first when it is unset or not understood."""
    key = form.cleaned_data.get("sort", "") if form.is_bound and form.is_valid() else ""
    return SORTS.get(key or "", SORTS[""])
