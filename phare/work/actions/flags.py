"""Flagging a case and clearing a flag; saving and deleting a case-list search. Each audited."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from phare.audit import log as audit
from phare.cases.actions import Invalid
from phare.cases.models import Case
from phare.work.actions import require_case_work
from phare.work.models import CaseFlag, FlagKind, SavedSearch

# The case list's own parameters: a saved search keeps these and nothing else. Not the search box (`q`): a
# name typed there is personal data, and a saved search is stored in clear.
LIST_PARAMS = ("status", "owner", "exploitation", "trafficking", "opened_from", "opened_to", "attention", "sort")


def flag_case(actor: Any, case: Case, kind: str, reason: str, request: HttpRequest | None = None) -> CaseFlag:
    require_case_work(actor, case)
    problems: dict[str, list[str]] = {}
    if kind not in FlagKind.values:
        problems["kind"] = [_("Choose a flag.")]
    if not (reason or "").strip():
        problems["reason"] = [_("Say why, so that colleagues know what to watch for.")]
    if problems:
        raise Invalid(problems)
    with transaction.atomic():
        flag = CaseFlag.objects.create(organisation_id=case.organisation_id, case=case, kind=kind,
                                       reason=reason.strip(), set_by=actor)  # fmt: skip
        audit.record("case.flag", actor=actor, organisation=case.organisation, target=flag, request=request,
                     detail={"case": case.number, "kind": kind})  # fmt: skip
    return flag


def clear_flag(actor: Any, flag: CaseFlag, request: HttpRequest | None = None) -> None:
    require_case_work(actor, flag.case)
    if flag.cleared_at is not None:
        raise Invalid({"__all__": [_("This flag was already cleared.")]})
    with transaction.atomic():
        flag.cleared_at = timezone.now()
        flag.cleared_by = actor
        flag.save(update_fields=["cleared_at", "cleared_by"])
        audit.record("case.flag_clear", actor=actor, organisation=flag.case.organisation, target=flag,
                     request=request, detail={"case": flag.case.number, "kind": flag.kind})  # fmt: skip


def clean_query(query: str) -> str:
    return urlencode([(k, v) for k, v in parse_qsl(query or "") if k in LIST_PARAMS and v])


def save_search(actor: Any, name: str, query: str, request: HttpRequest | None = None) -> SavedSearch:
    name = (name or "").strip()
    if not name:
        raise Invalid({"name": [_("Give the search a name.")]})
    with transaction.atomic():
        s, _created = SavedSearch.objects.update_or_create(organisation_id=actor.organisation_id, user=actor,
                                                           name=name[:80], defaults={"query": clean_query(query)})  # fmt: skip
        audit.record("search.save", actor=actor, target=s, request=request, detail={"name": s.name})
    return s


def delete_search(actor: Any, search: SavedSearch, request: HttpRequest | None = None) -> None:
    if search.user_id != actor.pk:
        raise Http404("Not found")
    with transaction.atomic():
        audit.record("search.delete", actor=actor, target=search, request=request, detail={"name": search.name})
        search.delete()
