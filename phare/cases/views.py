"""The case worker's pages: the case list, a case, and the forms that change it. Server-rendered, usable
without JavaScript; every read goes through the access layer, every write through `phare.cases.actions`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from htcds.catalogue import load
from phare import access
from phare.accounts import breakglass
from phare.accounts.models import Role
from phare.accounts.permissions import BREAK_GLASS, can
from phare.accounts.views import BreakGlassForm
from phare.audit.log import record
from phare.cases import actions
from phare.cases import forms as cf
from phare.cases.access import (
    can_manage,
    can_write,
    get_case,
    opened_by_break_glass,
    require_case_write,
    require_write,
    sees_names,
    visible_cases,
    visible_persons,
)
from phare.cases.consents import holds
from phare.cases.filters import filter_cases, filter_form, ordering, withheld_matches
from phare.cases.models import (
    AccessRequest,
    Assessment,
    Case,
    CaseComment,
    CaseEvent,
    CaseParticipant,
    CaseStatus,
    Consent,
    ExternalOrganisation,
    ParticipantRole,
    Person,
    QuestionSet,
    Referral,
    SupportPlan,
    TraffickingEvent,
)
from phare.cases.rows import field_list, filter_fields, list_rows, timeline_items
from phare.core.lists import capped, capped_count
from phare.core.prepared import Prepared, PreparedObjects
from phare.crypto import keys
from phare.imports.actions import may_export
from phare.ops.models import LegalHold
from phare.work.access import next_due, open_flags, saved_searches

PAGE_SIZE = 25

def error_summary(forms_: list[Any]) -> dict[str, Any]:
    """The context of cases/_errors.html: the refused forms and how many problems they hold."""
    refused = [f for f in forms_ if f is not None and f.is_bound and f.errors]
    return {"error_forms": refused, "error_count": sum(len(e) for f in refused for e in f.errors.values())}


def _apply_problems(form: forms.Form, exc: actions.Invalid) -> None:
    for field, msgs in exc.problems.items():
        for m in msgs:
            form.add_error(field if field in form.fields else None, m)


# --- case list -------------------------------------------------------------------------------------------


@dataclass
class Row:
    case: Case
    name: str
    types: str
    next_due: Any = None
    flags: list[str] | None = None
    # Looked up here rather than in the template, where they were a third of the time a row took to draw.
    status: Any = ""
    owner: str = ""


# What `case.get_cas_Status_display()` shows (it builds this mapping on every call).
STATUS_LABELS: dict[str, Any] = dict(Case._meta.get_field("cas_Status").flatchoices)


# The list's quick filters: (label, query); the chip whose query the list's own matches is marked current.
CHIPS = [(gettext_lazy("My open"), "owner=me&status=open"), (gettext_lazy("Overdue"), "attention=overdue"),
         (gettext_lazy("Waiting for approval"), "attention=approval"), (gettext_lazy("Flagged"), "attention=flagged"),
         (gettext_lazy("All"), "status=")]


def _without(params: Any, key: str) -> str:
    rest = params.copy()
    rest.pop(key, None)
    return str(rest.urlencode())


def _chips(data: Any) -> list[tuple[Any, str, bool]]:
    mine = {k: v for k, v in data.items() if v and k not in ("page", "sort")}
    return [(label, q, dict(p.split("=") for p in q.split("&") if not p.endswith("=")) == mine) for label, q in CHIPS]


LISTED_CASE_FIELDS = ("number", "cas_Status", "cas_OpenedDate", "exploitation_summary", "trafficking_status", "restricted",
                      "updated", "follow_up_date", "primary_person__uid")  # fmt: skip


# The case list reads the main person's id only: joining the people table to read their uids made PostgreSQL
# join every person of the organisation and sort every case before skipping to a deep page (14 ms against 3 ms at
# 5,000 cases, under row-level security), where without it the cases come in index order until the page is full.
LIST_PAGE_FIELDS = (*(f for f in LISTED_CASE_FIELDS if f != "primary_person__uid"), "primary_person")


# In the model's order, as Model.from_db takes a row of some of the fields.
PAGE_PERSON_FIELDS = [f.attname for f in Person._meta.concrete_fields
                      if f.attname in ("id", "uid", "organisation_id", "prs_FirstName", "prs_SecondName")]  # fmt: skip


def _page_people(org_id: int, *ids: int) -> QuerySet[Person]:
    return Person.objects.filter(organisation_id=org_id, id__in=ids)


_PAGE_PEOPLE = Prepared(lambda org_id, *ids: _page_people(org_id, *ids).values_list(*PAGE_PERSON_FIELDS),
                        int, *[int] * PAGE_SIZE)  # fmt: skip
_PAGE_PERSON_KEYS = Prepared(lambda org_id, *ids: keys.person_keys_query(_page_people(org_id, *ids).values_list("uid")),
                             int, *[int] * PAGE_SIZE)  # fmt: skip


def attach_people(user: Any, cases: list[Case]) -> None:
    """Give each case of a list its main person, with the name fields only: the people in one query, their keys in
    one more. Names are sealed with a key per person, and opening them row by row (or loading the person with the
    case, which opens every sealed field as it loads) would cost a query per person. The cases need only have
    `primary_person_id`."""
    person_ids = [c.primary_person_id for c in cases if c.primary_person_id]
    if not person_ids:
        for c in cases:
            c.primary_person = None
        return
    wanted = sorted(set(person_ids))
    org_id = getattr(user, "organisation_id", None)
    if (len(wanted) <= PAGE_SIZE and access.ENFORCE_TENANT_FILTER and isinstance(org_id, int)
            and getattr(user, "is_active", True)):  # fmt: skip
        # A page's people, the common case: the two queries below, built once for PAGE_SIZE ids (the last id
        # repeated to fill them, which changes no answer).
        padded = wanted + wanted[-1:] * (PAGE_SIZE - len(wanted))
        keys.remember_person_keys(_PAGE_PERSON_KEYS.rows(org_id, *padded))
        people = {row[0]: Person.from_db(connection.alias, PAGE_PERSON_FIELDS, row)
                  for row in _PAGE_PEOPLE.rows(org_id, *padded)}  # fmt: skip
    else:
        people_qs = access.scoped(user, Person).filter(id__in=person_ids)
        keys.preload_person_keys(people_qs.values_list("uid", flat=True))
        people = people_qs.only(*PAGE_PERSON_FIELDS).in_bulk()
    for c in cases:
        c.primary_person = people.get(c.primary_person_id) if c.primary_person_id else None


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    data = request.GET
    if not data and getattr(request.user, "role", None) in (Role.CASE_WORKER, Role.HELPLINE):
        data = QueryDict("owner=me&status=open")  # a case worker's list starts with their own open cases
    form = filter_form(request.user, data)
    qs = filter_cases(request.user, form)
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    start = (page - 1) * PAGE_SIZE
    cases = list(
        qs.select_related("cas_CaseOwner")
        .order_by(*ordering(form))
        .only(*LIST_PAGE_FIELDS, "cas_CaseOwner__username", "cas_CaseOwner__first_name", "cas_CaseOwner__last_name")
        [start : start + PAGE_SIZE + 1]
    )  # fmt: skip
    has_next = len(cases) > PAGE_SIZE
    cases = cases[:PAGE_SIZE]
    attach_people(request.user, cases)
    if not has_next and (cases or page == 1):
        read = start + len(cases)  # the last page was read whole: nothing left to count (a search, mostly)
        total, more = capped(read)
    else:
        total, more = capped_count(qs)
    names = sees_names(request.user)
    due = next_due(request.user, [c.id for c in cases])
    flagged = open_flags(request.user, [c.id for c in cases])
    # Matches on cases the user may not open: said to exist, with a way to ask for access, never who.
    hidden = withheld_matches(request.user, form)
    withheld = [match_token(request, pid) for pid in hidden] if can_write(request.user) else []
    rows = [Row(c, cf.person_display(c.primary_person, names), cf.display_value("vic_TypeOfExploitation", c.exploitation_types),
                min((d for d in (due.get(c.id), c.follow_up_date) if d), default=None), flagged.get(c.id, []),
                STATUS_LABELS.get(c.cas_Status, c.cas_Status), c.owner_name)
            for c in cases]  # fmt: skip
    params = data.copy()
    params.pop("page", None)
    today = timezone.localdate()
    ctx = {
        "form": form, "rows": rows, "rows_html": list_rows(rows, today), "page": page, "has_next": has_next, "has_prev": page > 1,
        "total": total, "capped": more, "query": params.urlencode(),
        "pages": max(1, -(-total // PAGE_SIZE)), "not_applied": form.is_bound and not form.is_valid(),
        "today": today, "chips": _chips(data), "sort_query": _without(params, "sort"),
        "searches": saved_searches(request.user), "save_query": _without(params, "page"),
        "names": names, "can_write": can_write(request.user), "can_export": may_export(request.user),
        "export_params": [(k, v) for k, values in params.lists() for v in values],
        "withheld": withheld, "withheld_count": len(hidden),
    }  # fmt: skip
    template = "cases/_list_rows.html" if request.headers.get("HX-Request") else "cases/list.html"
    if template == "cases/list.html":
        ctx["filter_fields"] = filter_fields(form)  # the fields, labels and errors, written by phare.cases.rows
    response = render(request, template, ctx)
    if names:
        # A list that shows names is a read of those people: one event per page view, naming the cases shown
        # (never what was searched for: a name typed into the search box is personal data too).
        record("case.list_viewed", actor=request.user, request=request, target_type="cases.case",
               detail={"cases": [r.case.number for r in rows], "page": page,
                       "search": bool(form.is_valid() and form.cleaned_data.get("q")), "withheld": len(hidden)})  # fmt: skip
    return response


# --- a case ----------------------------------------------------------------------------------------------


def _record_fields(obj: Any, names: tuple[str, ...], personal: bool) -> list[tuple[str, str]]:
    """(label, value) of the fields of `obj` that have a value and that the reader may see: personal fields
    only for roles that read personal data (`phare.access.field_shown`, the rule the API and exports use)."""
    out = []
    for n in names:
        if not access.field_shown(obj._meta.get_field(n), personal):
            continue
        v = getattr(obj, n)
        text = str(v) if isinstance(v, ExternalOrganisation) else cf.display_value(n, v)
        if text:
            out.append((cf.label_of(n), text))
    return out


def _shown_text(obj: Any, name: str, personal: bool) -> str:
    """The text of one field if the reader may see it, else ""."""
    return str(getattr(obj, name) or "") if access.field_shown(obj._meta.get_field(name), personal) else ""


def _context_names(p: CaseParticipant) -> tuple[str, ...]:
    if p.role in actions.VICTIM_ROLES:
        return tuple(cf.VICTIM_FIELDS)
    return tuple(cf.PERPETRATOR_FIELDS) if p.role == "Perpetrator" else ()


# A case page's own records, each query built once per process (phare.core.prepared): the same SQL as the
# case's related managers (`case.referrals`, ...) build, compared in tests/test_prepared.py.
_CASE_PARTICIPANTS = PreparedObjects(
    lambda case_id: CaseParticipant.objects.filter(case_id=case_id)
    .select_related("person", "vic_LocationOfRecruitment", "vic_LocationOfExploitation", "per_Organisation")
    .order_by("id"), int)  # fmt: skip
_CASE_REFERRALS = PreparedObjects(
    lambda case_id: Referral.objects.filter(case_id=case_id)
    .select_related("cas_ReferringOrganisation", "cas_ReferredOrganisation").order_by("id"), int)  # fmt: skip
_CASE_COMMENTS = PreparedObjects(
    lambda case_id: CaseComment.objects.filter(case_id=case_id).select_related("author")
    .order_by("-cco_CreatedDate", "-id"), int)  # fmt: skip
_CASE_EVENTS = PreparedObjects(
    lambda case_id: TraffickingEvent.objects.filter(case_id=case_id).order_by("hte_Date", "id"), int)
_CASE_LIFECYCLE = PreparedObjects(
    lambda case_id: CaseEvent.objects.filter(case_id=case_id).select_related("actor").order_by("at", "id"), int)
_CASE_PLANS = PreparedObjects(
    lambda case_id: SupportPlan.objects.filter(case_id=case_id).order_by("-spl_StartDate", "-id"), int)
_CASE_CONSENTS = PreparedObjects(lambda case_id: Consent.objects.filter(case_id=case_id).order_by("-id"), int)
_CASE_ASSESSMENTS = PreparedObjects(
    lambda case_id: Assessment.objects.filter(case_id=case_id).order_by("-asm_Date", "-id"), int)
_CASE_ON_HOLD = Prepared(
    lambda case_id: LegalHold.objects.filter(case_id=case_id, released_at__isnull=True).values_list("pk")[:1], int)


def _of_case(prepared: PreparedObjects, case: Case) -> list[Any]:
    """The records of `case` that `prepared` reads, each knowing its case as a related manager's would."""
    found = prepared.objects(case.pk)
    for obj in found:
        obj._meta.get_field("case").set_cached_value(obj, case)
    return found


def case_context(request: HttpRequest, case: Case) -> dict[str, Any]:
    """Everything the case page (and its printed version) shows this reader, each value through the field rule."""
    names = sees_names(request.user)
    keys.preload_case_person_keys(case.pk)
    participants = _of_case(_CASE_PARTICIPANTS, case)
    people = [
        {"p": p, "name": cf.person_display(p.person, names), "fields": _record_fields(p.person, cf.PERSON_SHOWN, names),
         "context": _record_fields(p, _context_names(p), names)} for p in participants
    ]  # fmt: skip
    for x in people:
        x["dl"], x["context_dl"] = field_list(x["fields"]), field_list(x["context"])
    referrals = _of_case(_CASE_REFERRALS, case)
    comments = _of_case(_CASE_COMMENTS, case)
    events = _of_case(_CASE_EVENTS, case)
    lifecycle = _of_case(_CASE_LIFECYCLE, case)
    timeline = _timeline(comments, lifecycle, names)
    plans = _of_case(_CASE_PLANS, case)
    consents = _of_case(_CASE_CONSENTS, case)
    assessments = _of_case(_CASE_ASSESSMENTS, case)
    ctx = {
        "case": case, "names": names, "people": people,
        "closure_reason": _shown_text(case, "cas_ReasonForCaseClosure", names),
        "referrals": [{"r": r, "fields": _record_fields(r, cf.IncomingReferralForm.field_names if r.direction == "Incoming"
                                                        else cf.OutgoingReferralForm.field_names, names)} for r in referrals],
        "timeline": timeline, "timeline_html": timeline_items(timeline),
        "events": [{"e": e, "fields": _record_fields(e, cf.EventForm.field_names, names)} for e in events],
        "plans": [{"s": s, "fields": _record_fields(s, cf.SupportPlanForm.field_names, names)} for s in plans],
        "consents": [{"c": c, "fields": _record_fields(c, ("con_Consent", "con_Purpose", "con_Date", "con_HowInformed", "con_ExpiryDate", "con_WithdrawnDate"), names)} for c in consents],
        "assessments": [{"a": a, "fields": _record_fields(a, ("asm_Level", "asm_Date"), names)} for a in assessments],
        "can_write": can_write(request.user) and names, "can_manage": can_manage(request.user),
        "status_label": CaseStatus(case.cas_Status).label, "owner": case.owner_name,
        "exploitation": cf.display_value("vic_TypeOfExploitation", case.exploitation_types),
        "trafficking": cf.display_value("vic_TraffickingStatus", case.trafficking_status),
    }  # fmt: skip
    for key in ("referrals", "events", "plans", "consents", "assessments"):
        records: Any = ctx[key]
        for x in records:
            x["dl"] = field_list(x["fields"])
    grant = opened_by_break_glass(request.user, case)
    ctx["grant"] = grant
    # An emergency grant reads the case: its reader is offered no change (the views refuse one too).
    ctx["can_write"] = ctx["can_write"] and grant is None
    header = _header(case, participants, consents, names)
    # The list's "next due" (`case_list`): the earliest of an open task the reader sees and the follow-up date.
    header["next_due"] = min((d for d in (next_due(request.user, [case.id]).get(case.id), case.follow_up_date) if d),
                             default=None)  # fmt: skip
    ctx["header"] = header
    ctx["today"] = timezone.localdate()
    ctx["on_hold"] = bool(_CASE_ON_HOLD.rows(case.pk))
    ctx["documents"] = _documents(request.user, case) if names else None
    ctx["participants"] = participants
    ctx["print_url"] = reverse("cases:print", args=[case.number])
    return ctx


@login_required
def case_page(request: HttpRequest, number: str) -> HttpResponse:
    case = get_case(request.user, number)
    ctx = case_context(request, case)
    names, participants, grant = ctx["names"], ctx["participants"], ctx["grant"]
    response = render(request, "cases/case.html", ctx)
    # Every read is audited, in the request's transaction, before the page leaves: the auditor can answer
    # "who saw this person". Recorded after rendering because recording takes the audit chain's lock, which
    # is then held until the transaction commits.
    record("case.viewed", actor=request.user, target=case, request=request,
           detail={"persons": [str(p.person.uid) for p in participants] if names else [], "names_shown": names,
                   **({"break_glass": grant.pk} if grant is not None else {})})  # fmt: skip
    return response


RECORD_NAMES = {
    "participant": gettext_lazy("person on the case"), "person": gettext_lazy("person"), "case": gettext_lazy("case"),
    "event": gettext_lazy("trafficking event"), "support_plan": gettext_lazy("support plan"),
    "consent": gettext_lazy("consent"), "assessment": gettext_lazy("assessment"), "referral": gettext_lazy("referral"),
    "document": gettext_lazy("document"),
}  # fmt: skip
KIND_NAMES = {
    "opened": gettext_lazy("Case opened"), "closed": gettext_lazy("Case closed"), "reopened": gettext_lazy("Case reopened"),
    "reassigned": gettext_lazy("Case reassigned"), "assigned": gettext_lazy("Worker assigned"),
    "status": gettext_lazy("Moved to follow-up"), "referred": gettext_lazy("Referral recorded"),
}  # fmt: skip
CASE_FIELD_NAMES = {"programme": gettext_lazy("Programme"), "follow_up_date": gettext_lazy("Follow-up due"),
                    "restricted": gettext_lazy("Restricted")}  # fmt: skip
FOLD_AT = 400  # characters of a comment shown before "read more"


def _what(e: CaseEvent) -> str:
    """One line for a change of the case, from its kind and detail (record kinds and field names only)."""
    record_name = str(RECORD_NAMES.get(str(e.detail.get("record", "")), e.detail.get("record", "")))
    if e.kind == "added":
        return _("Added: %(what)s") % {"what": record_name}
    if e.kind == "changed":
        fields = [str(CASE_FIELD_NAMES[f]) if f in CASE_FIELD_NAMES else cf.label_of(f) for f in e.detail.get("fields", [])]
        return _("Changed: %(what)s (%(fields)s)") % {"what": record_name, "fields": ", ".join(fields)}
    if e.kind == "withdrawn":
        return _("Consent withdrawn")
    if e.kind == "deleted":
        return _("Deleted: %(what)s") % {"what": record_name}
    return str(KIND_NAMES.get(e.kind, e.kind))


def _timeline(comments: list[Any], lifecycle: list[CaseEvent], names: bool) -> list[dict[str, Any]]:
    """Every change of the case, newest first, with who and when; the text of comments and notes only for readers
    of personal data (`field_shown`)."""
    out: list[dict[str, Any]] = []
    for c in comments:
        text = _shown_text(c, "cco_CaseComment", names)
        out.append({"at": c.created, "day": c.cco_CreatedDate, "kind": "comment", "who": c.author, "what": _("Comment"),
                    "text": text, "fold": len(text) > FOLD_AT, "head": text[:300]})  # fmt: skip
    for e in lifecycle:
        out.append({"at": e.at, "day": timezone.localdate(e.at), "kind": e.kind, "who": e.actor, "what": _what(e),
                    "text": _shown_text(e, "note", names), "fold": False, "head": ""})  # fmt: skip
    out.sort(key=lambda x: (x["day"], x["at"]), reverse=True)
    return out


def _documents(user: Any, case: Case) -> list[Any]:
    from phare.documents.access import case_documents

    docs: list[Any] = case_documents(user, case.pk)
    for d in docs:
        d.about = cf.person_display(d.person, True) if d.person else ""
    return docs


def _age(born: Any, today: Any) -> int:
    return int(today.year - born.year - ((today.month, today.day) < (born.month, born.day)))


def _header(case: Case, participants: list[CaseParticipant], consents: list[Consent], names: bool) -> dict[str, Any]:
    """The summary at the top of the case page: who the case is about, and what needs doing. A person's fields
    are personal (`field_shown`): readers who may not see them get the case's own facts only."""
    victims = [p for p in participants if p.role in actions.VICTIM_ROLES] or participants
    main = victims[0] if victims else None
    out: dict[str, Any] = {"name": cf.person_display(main.person, names) if main else "", "age": "", "sex": "",
                           "nationality": ""}  # fmt: skip
    if main is not None and access.field_shown(Person._meta.get_field("prs_Birthdate"), names):
        person = main.person
        if person.prs_Birthdate:
            out["age"] = str(_age(person.prs_Birthdate, timezone.localdate()))
        elif main.vic_AgeWhenTrafficked is not None:
            out["age"] = _("%(n)s when trafficked") % {"n": main.vic_AgeWhenTrafficked}
        out["sex"] = cf.display_value("prs_Gender", person.prs_Gender)
        out["nationality"] = cf.display_value("prs_Citizenship", person.prs_Citizenship)
    today = timezone.localdate()
    if any(holds(c, today) for c in consents):
        out["consent"], out["consent_class"] = _("Consent given"), "ok"
    elif any(c.con_Consent and not c.con_WithdrawnDate for c in consents):
        out["consent"], out["consent_class"] = _("Consent expired"), "warn"
    elif consents:
        out["consent"], out["consent_class"] = _("Consent withdrawn or refused"), "warn"
    else:
        out["consent"], out["consent_class"] = _("No consent recorded"), "warn"
    out["others"] = max(0, len(participants) - 1)
    return out


@login_required
def case_print(request: HttpRequest, number: str) -> HttpResponse:
    """The case as a PDF in the reader's language, showing what the case page shows them; audited as a read."""
    from phare.cases.printing import case_pdf

    case = get_case(request.user, number)
    ctx = case_context(request, case)
    pdf = case_pdf(ctx, request.user)
    names = ctx["names"]
    record("case.printed", actor=request.user, target=case, request=request,
           detail={"persons": [str(p.person.uid) for p in ctx["participants"]] if names else [], "names_shown": names,
                   **({"break_glass": ctx["grant"].pk} if ctx["grant"] is not None else {})})  # fmt: skip
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="case-{case.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- opening a case --------------------------------------------------------------------------------------


@login_required
def case_new(request: HttpRequest) -> HttpResponse:
    """Step 1: a few identifying fields, and the likely matches among people already known. Step 2: the full
    person and victim forms; or open the case around a matched person.

    The check only names people the user may already see; for a match among records the user cannot open it
    says that one exists and offers to ask for access, never a name, birth date or identifier. Every lookup is
    audited (which people it showed, how many it withheld; never what was typed)."""
    require_write(request.user)
    user: Any = request.user
    probe = cf.MatchProbeForm(request.GET or None, organisation_id=user.organisation_id)
    matches: list[tuple[Person, int]] = []
    withheld: list[str] = []
    if request.GET and probe.is_valid() and probe.probe():
        ranked = actions.match_ids(user.organisation_id, probe.probe())
        ids = [pid for pid, _ in ranked]
        people = visible_persons(user).in_bulk(ids)
        matches = [(people[pid], score) for pid, score in ranked if pid in people]
        withheld = [match_token(request, pid) for pid, _ in ranked if pid not in people]
        record("person.lookup", actor=user, request=request, target_type="cases.person",
               detail={"shown": [str(p.uid) for p, _ in matches], "withheld": len(withheld)})  # fmt: skip
    initial = probe.cleaned_data if request.GET and probe.is_valid() else {}
    person_form = cf.PersonForm(request.POST or None, organisation_id=user.organisation_id, initial=initial, prefix="p")
    victim_form = cf.VictimForm(request.POST or None, organisation_id=user.organisation_id, prefix="v")
    role_form = RoleForm(request.POST or None)
    if request.method == "POST":
        existing = request.POST.get("person")
        if existing and role_form.is_valid():
            try:
                person = visible_persons(user).get(uid=existing)
            except (Person.DoesNotExist, ValueError, ValidationError):
                raise Http404("Not found") from None
            if victim_form.is_valid():
                case = actions.open_case(user, person=person, role=role_form.cleaned_data["role"],
                                         context=_context_for(role_form.cleaned_data["role"], victim_form), request=request)  # fmt: skip
                messages.success(request, _("Case %(n)s opened.") % {"n": case.number})
                return HttpResponseRedirect(reverse("cases:case", args=[case.number]))
        elif _intake_ok(person_form, victim_form) and role_form.is_valid():
            try:
                case = actions.open_case(user, person_data=person_form.model_data(), role=role_form.cleaned_data["role"],
                                         context=_context_for(role_form.cleaned_data["role"], victim_form), request=request)  # fmt: skip
            except actions.Invalid as exc:
                _apply_problems(person_form, exc)
            else:
                messages.success(request, _("Case %(n)s opened.") % {"n": case.number})
                return HttpResponseRedirect(reverse("cases:case", args=[case.number]))
    names = sees_names(user)
    return render(request, "cases/new.html", {
        "probe": probe, "matches": [(p, s, cf.person_display(p, names)) for p, s in matches], "searched": bool(request.GET),
        "withheld": withheld, "person_form": person_form, "victim_form": victim_form, "role_form": role_form,
        **error_summary([role_form, person_form, victim_form] if request.method == "POST" else []),
    })  # fmt: skip


def _intake_ok(person_form: cf.PersonForm, victim_form: cf.VictimForm) -> bool:
    """Both forms valid, and enough to tell the person apart (`actions.intake_problems`), each problem on its field."""
    ok = person_form.is_valid() & victim_form.is_valid()
    if not ok:
        return False
    problems = actions.intake_problems(person_form.model_data(), victim_form.model_data())
    for field, msgs in problems.items():
        for m in msgs:
            person_form.add_error(field, m)
    return not problems


# --- people and cases the user cannot open ---------------------------------------------------------------

_WITHHELD = "phare_withheld_matches"
_WITHHELD_KEEP = 20


def match_token(request: HttpRequest, person_id: int) -> str:
    """A random reference to a withheld match, kept in the user's session: the page never carries the person's
    id, and the reference means nothing in another session."""
    refs: dict[str, int] = dict(request.session.get(_WITHHELD, {}))
    for ref, pid in refs.items():
        if pid == person_id:
            return ref
    ref = secrets.token_urlsafe(12)
    refs[ref] = person_id
    request.session[_WITHHELD] = dict(list(refs.items())[-_WITHHELD_KEEP:])
    return ref


def _withheld_person(request: HttpRequest, token: str) -> Person:
    pid = request.session.get(_WITHHELD, {}).get(token)
    person = access.scoped(request.user, Person).filter(pk=int(pid or 0)).first()
    if person is None:
        raise Http404("Not found")
    return person


class AccessRequestForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Why you need access"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 3}))  # fmt: skip


@login_required
def withheld_match(request: HttpRequest, token: str) -> HttpResponse:
    """A possible match among records the user cannot open: ask a supervisor for access, or, in an emergency
    and for roles allowed to break glass, open the person's cases for a few hours with a reason."""
    require_write(request.user)
    user: Any = request.user
    person = _withheld_person(request, token)
    if visible_persons(user).filter(pk=person.pk).exists():
        return HttpResponseRedirect(reverse("cases:new"))
    ask = AccessRequestForm(request.POST if request.POST.get("do") == "ask" else None)
    glass = BreakGlassForm(request.POST if request.POST.get("do") == "glass" else None)
    may_glass = can(user, BREAK_GLASS)
    if request.method == "POST" and request.POST.get("do") == "ask" and ask.is_valid():
        actions.request_access(user, person, ask.cleaned_data["note"], request=request)
        messages.success(request, _("Your request was sent to the supervisors. You will see the cases once one of them gives you access."))
        return HttpResponseRedirect(reverse("cases:list" if request.GET.get("from") == "list" else "cases:new"))
    if request.method == "POST" and request.POST.get("do") == "glass" and may_glass and glass.is_valid():
        cases = list(access.scoped(user, Case).filter(participants__person=person).distinct().order_by("id"))
        with transaction.atomic():
            for case in cases:
                breakglass.grant(user, case, glass.cleaned_data["reason"], glass.cleaned_data["hours"], request=request)
        if cases:
            return HttpResponseRedirect(reverse("cases:case", args=[cases[0].number]))
        return HttpResponseRedirect(reverse("cases:new"))
    return render(request, "cases/withheld.html", {"ask": ask, "glass": glass, "may_glass": may_glass})


@login_required
def case_emergency(request: HttpRequest, number: str) -> HttpResponse:
    """Break glass on a case of the organisation by its number (a supervisor may give a number over the phone)."""
    user: Any = request.user
    if not can(user, BREAK_GLASS):
        raise PermissionDenied
    case = access.scoped(user, Case).filter(number=number).first()
    if case is None:
        raise Http404("Not found")
    if visible_cases(user).filter(pk=case.pk).exists():
        return HttpResponseRedirect(reverse("cases:case", args=[case.number]))
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        breakglass.grant(user, case, form.cleaned_data["reason"], form.cleaned_data["hours"], request=request)
        return HttpResponseRedirect(reverse("cases:case", args=[case.number]))
    return render(request, "accounts/break_glass.html", {"form": form, "row": case, "next": ""})


@login_required
def access_requests(request: HttpRequest) -> HttpResponse:
    """The supervisors' queue of access requests: who asks, for whose cases, and why."""
    user: Any = request.user
    if not can_manage(user):
        raise PermissionDenied
    pending = access.scoped(user, AccessRequest).filter(outcome="").select_related("requester", "person")
    if request.method == "POST":
        wanted = request.POST.get("request") or ""
        req = pending.filter(uid=wanted).first() if _is_uuid(wanted) else None
        if req is None:
            raise Http404("Not found")
        granted = request.POST.get("decision") == "grant"
        try:
            numbers = actions.decide_access_request(user, req, granted, request=request)
        except actions.Invalid as exc:
            messages.error(request, " ".join(m for ms in exc.problems.values() for m in ms))
        else:
            if granted:
                messages.success(request, _("Access given to %(n)s.") % {"n": ", ".join(numbers) or _("no case")})
            else:
                messages.success(request, _("Request declined."))
        return HttpResponseRedirect(reverse("cases:access_requests"))
    rows = list(pending.order_by("created"))
    keys.preload_person_keys(r.person.uid for r in rows)
    cases: dict[int, list[str]] = {}
    for pid, num in (Case.objects.filter(organisation_id=user.organisation_id, participants__person_id__in=[r.person_id for r in rows])
                     .values_list("participants__person_id", "number").distinct()):  # fmt: skip
        cases.setdefault(pid, []).append(num)
    items = [{"r": r, "name": cf.person_display(r.person, True), "cases": sorted(cases.get(r.person_id, []))} for r in rows]
    record("access.requests_viewed", actor=user, request=request, target_type="cases.accessrequest",
           detail={"persons": [str(r.person.uid) for r in rows]})  # fmt: skip
    return render(request, "cases/access_requests.html", {"items": items})


def _is_uuid(value: str | None) -> bool:
    try:
        UUID(str(value))
    except ValueError:
        return False
    return True


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role in the case"), initial="Victim",
                             choices=[("Victim", gettext_lazy("Victim")), ("PotentialVictim", gettext_lazy("Potential victim"))])  # fmt: skip


def _context_for(role: str, form: cf.HTCDSForm) -> dict[str, Any]:
    return {k: v for k, v in form.model_data().items() if k.startswith("vic_")} if role in actions.VICTIM_ROLES else {}


# --- editing pieces of a case ----------------------------------------------------------------------------


def _editable_case(request: HttpRequest, number: str) -> Case:
    require_write(request.user)
    if not sees_names(request.user):
        raise Http404("Not found")
    case = get_case(request.user, number)
    require_case_write(request.user, case)
    return case


def _back(case: Case, anchor: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("cases:case", args=[case.number]) + (f"#{anchor}" if anchor else ""))


def _form_page(request: HttpRequest, case: Case, title: str, forms_: list[forms.Form], **extra: Any) -> HttpResponse:
    return render(request, "cases/form.html", {"case": case, "title": title, "forms": forms_, **error_summary(forms_),
                                               **extra})  # fmt: skip


@login_required
def person_edit(request: HttpRequest, number: str, uid: str) -> HttpResponse:
    case = _editable_case(request, number)
    part = _participant(case, request, person__uid=uid)
    person = part.person
    form = cf.PersonForm(request.POST or None, organisation_id=case.organisation_id,
                         initial=cf.initial_from(person, cf.PERSON_FIELDS))  # fmt: skip
    if request.method != "POST":
        record("person.viewed", actor=request.user, target=person, request=request, detail={"case": case.number})
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_person(request.user, person, form.model_data(), request=request)
        except actions.Invalid as exc:
            _apply_problems(form, exc)
        else:
            return _back(case, "people")
    return _form_page(request, case, _("Edit person"), [form])


def _participant(case: Case, request: HttpRequest, **lookup: Any) -> CaseParticipant:
    try:
        return access.scoped(request.user, CaseParticipant).select_related("person").get(case=case, **lookup)
    except (CaseParticipant.DoesNotExist, CaseParticipant.MultipleObjectsReturned, ValueError):
        raise Http404("Not found") from None


def _context_form(role: str, data: Any, case: Case, initial: dict[str, Any] | None = None) -> cf.HTCDSForm | None:
    if role in actions.VICTIM_ROLES:
        return cf.VictimForm(data, organisation_id=case.organisation_id, initial=initial, prefix="v")
    if role == "Perpetrator":
        return cf.PerpetratorForm(data, organisation_id=case.organisation_id, initial=initial, prefix="v")
    return None


@login_required
def participant_add(request: HttpRequest, number: str) -> HttpResponse:
    case = _editable_case(request, number)
    role = request.GET.get("role") or request.POST.get("role") or "Victim"
    if role not in ("Victim", "PotentialVictim", "Perpetrator", "Other"):
        raise Http404("Not found")
    person_cls = cf.PerpetratorPersonForm if role == "Perpetrator" else cf.PersonForm
    person_form = person_cls(request.POST or None, organisation_id=case.organisation_id, prefix="p")
    ctx_form = _context_form(role, request.POST or None, case)
    if request.method == "POST" and person_form.is_valid() and (ctx_form is None or ctx_form.is_valid()):
        context = {k: v for k, v in ctx_form.model_data().items()} if ctx_form else {}
        try:
            actions.add_participant(request.user, case, role=role, person_data=person_form.model_data(), context=context,
                                    request=request)  # fmt: skip
        except actions.Invalid as exc:
            _apply_problems(ctx_form or person_form, exc)
        else:
            return _back(case, "people")
    role_label = dict(ParticipantRole.choices)[role]
    return _form_page(request, case, _("Add a person: %(role)s") % {"role": role_label},
                      [f for f in (person_form, ctx_form) if f is not None], hidden={"role": role})  # fmt: skip


@login_required
def participant_edit(request: HttpRequest, number: str, uid: str) -> HttpResponse:
    case = _editable_case(request, number)
    part = _participant(case, request, uid=uid)
    names = cf.VICTIM_FIELDS if part.role in actions.VICTIM_ROLES else cf.PERPETRATOR_FIELDS
    form = _context_form(part.role, request.POST or None, case, initial=cf.initial_from(part, names))
    if form is None:
        raise Http404("Not found")
    if request.method != "POST":
        record("case.participant.viewed", actor=request.user, target=part, request=request,
               detail={"case": case.number, "person": str(part.person.uid)})  # fmt: skip
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_participant(request.user, part, form.model_data(), request=request)
        except actions.Invalid as exc:
            _apply_problems(form, exc)
        else:
            return _back(case, "people")
    return _form_page(request, case, _("Edit context"), [form])


@login_required
def comment_add(request: HttpRequest, number: str) -> HttpResponse:
    case = _editable_case(request, number)
    form = cf.CommentForm(request.POST or None, initial={"cco_CreatedDate": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            actions.add_comment(request.user, case, form.cleaned_data["cco_CaseComment"],
                                on=form.cleaned_data.get("cco_CreatedDate"), request=request)  # fmt: skip
        except actions.Invalid as exc:
            _apply_problems(form, exc)
        else:
            return _back(case, "timeline")
    return _form_page(request, case, _("Add a comment"), [form])


# Records edited through one generic pair of views: kind -> (form, model, add verb, update verb, title, anchor).
RECORDS: dict[str, tuple[type[cf.HTCDSForm], type[Any], Any, Any, Any, str]] = {
    "events": (cf.EventForm, TraffickingEvent, actions.add_event, actions.update_event,
               gettext_lazy("Trafficking event"), "events"),
    "plans": (cf.SupportPlanForm, SupportPlan, actions.add_support_plan, actions.update_support_plan,
              gettext_lazy("Support plan"), "plans"),
    "consents": (cf.ConsentForm, Consent, actions.record_consent, None, gettext_lazy("Consent"), "consents"),
    "referrals-out": (cf.OutgoingReferralForm, Referral, actions.send_referral, actions.update_referral,
                      gettext_lazy("Outgoing referral"), "referrals"),
    "referrals-in": (cf.IncomingReferralForm, Referral, actions.receive_referral, actions.update_referral,
                     gettext_lazy("Incoming referral"), "referrals"),
}  # fmt: skip


class PersonChoiceForm(forms.Form):
    person = forms.ModelChoiceField(label=gettext_lazy("Person"), queryset=Person.objects.none(), required=False)


def _person_choice(case: Case, data: Any, initial: Any = None) -> PersonChoiceForm:
    field_qs = Person.objects.filter(organisation_id=case.organisation_id, participations__case=case).distinct()
    if initial is None:
        only = list(field_qs.values_list("pk", flat=True)[:2])
        initial = only[0] if len(only) == 1 else None  # the only person of the case is the one meant
    form = PersonChoiceForm(data, initial={"person": initial}, prefix="x")
    field: Any = form.fields["person"]
    field.queryset = field_qs
    keys.preload_person_keys(field_qs.values_list("uid", flat=True))
    return form


@login_required
def record_add(request: HttpRequest, number: str, kind: str) -> HttpResponse:
    case = _editable_case(request, number)
    if kind not in RECORDS:
        raise Http404("Not found")
    form_cls, _model, add, _update, title, anchor = RECORDS[kind]
    form = form_cls(request.POST or None, organisation_id=case.organisation_id)
    who = _person_choice(case, request.POST or None) if kind in ("events", "plans", "consents") else None
    if request.method == "POST" and form.is_valid() and (who is None or who.is_valid()):
        data = form.model_data()
        if who is not None:
            data["person"] = who.cleaned_data["person"]
        try:
            add(request.user, case, data, request=request)
        except actions.Invalid as exc:
            _apply_problems(form, exc)
        else:
            return _back(case, anchor)
    return _form_page(request, case, str(title), [f for f in (who, form) if f is not None])


@login_required
def record_edit(request: HttpRequest, number: str, kind: str, uid: str) -> HttpResponse:
    case = _editable_case(request, number)
    if kind not in RECORDS or RECORDS[kind][3] is None:
        raise Http404("Not found")
    form_cls, model, _add, update, title, anchor = RECORDS[kind]
    try:
        obj = access.get_or_404(request.user, model, uid=uid, case=case)
    except ValueError:
        raise Http404("Not found") from None
    form = form_cls(
        request.POST or None, organisation_id=case.organisation_id, initial=cf.initial_from(obj, form_cls.field_names)
    )
    if request.method != "POST":
        record(f"case.{model._meta.model_name}.viewed", actor=request.user, target=obj, request=request,
               detail={"case": case.number})
    if request.method == "POST" and form.is_valid():
        try:
            update(request.user, obj, form.model_data(), request=request)
        except actions.Invalid as exc:
            _apply_problems(form, exc)
        else:
            return _back(case, anchor)
    return _form_page(request, case, str(title), [form])


@login_required
def consent_withdraw(request: HttpRequest, number: str, uid: str) -> HttpResponse:
    case = _editable_case(request, number)
    consent = access.get_or_404(request.user, Consent, uid=uid, case=case)
    form = cf.WithdrawConsentForm(request.POST or None, initial={"con_WithdrawnDate": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            actions.withdraw_consent(request.user, consent, on=form.cleaned_data["con_WithdrawnDate"],
                                     reason=form.cleaned_data["reason"], request=request)  # fmt: skip
        except actions.Invalid as exc:
            _apply_problems(form, exc)
        else:
            return _back(case, "consents")
    return _form_page(request, case, _("Withdraw consent"), [form])


def _questions(case: Case) -> list[dict[str, Any]]:
    qs = QuestionSet.objects.filter(organisation_id=case.organisation_id, active=True).order_by("-id").first()
    if qs is not None and qs.questions:
        return list(qs.questions)
    return [{"code": q.code, "level": q.level, "text": q.text, "answers": list(q.answers)} for q in load().questions]


@login_required
def assessment_add(request: HttpRequest, number: str) -> HttpResponse:
    case = _editable_case(request, number)
    level = request.GET.get("level") or request.POST.get("asm_Level") or "Individual"
    questions = [q for q in _questions(case) if q["level"] == level]
    form = cf.AssessmentForm(
        request.POST or None, questions=questions, initial={"asm_Level": level, "asm_Date": timezone.localdate()}
    )
    who = _person_choice(case, request.POST or None)
    if request.method == "POST" and form.is_valid() and who.is_valid():
        data = form.model_data()
        data["person"] = who.cleaned_data["person"]
        try:
            actions.record_assessment(request.user, case, data, form.answers(), request=request)
        except actions.Invalid as exc:
            _apply_problems(form, exc)
        else:
            return _back(case, "assessments")
    return _form_page(
        request, case, _("Assessment"), [who, form], levels=("Individual", "Household", "Community"), level=level
    )


@login_required
def assessment_view(request: HttpRequest, number: str, uid: str) -> HttpResponse:
    case = _editable_case(request, number)
    a = access.get_or_404(request.user, Assessment, uid=uid, case=case)
    import json

    notes = json.loads(a.answer_notes) if a.answer_notes else {}
    texts = {q["code"]: q["text"] for q in _questions(case)}
    rows = [(texts.get(x["question"], x["question"]), cf.ANSWER_LABELS.get(x["answer"], x["answer"]), notes.get(x["question"], ""))
            for x in a.answers]  # fmt: skip
    record("case.assessment.viewed", actor=request.user, target=a, request=request, detail={"case": case.number})
    return render(request, "cases/assessment.html", {"case": case, "a": a, "rows": rows})


# --- lifecycle -------------------------------------------------------------------------------------------


@login_required
def case_close(request: HttpRequest, number: str) -> HttpResponse:
    case = _editable_case(request, number)
    from phare.work import gates

    gated = not gates.decides_alone(request.user) and gates.required(case.organisation_id, "close")
    if request.method != "POST" and gated:
        # Where closing waits for a supervisor, the form one fills is the request (nothing typed is refused).
        return HttpResponseRedirect(reverse("work:approval_ask", args=[case.number, "close"]))
    form = cf.CloseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.close_case(request.user, case, reason=form.cleaned_data["cas_ReasonForCaseClosure"],
                               status=form.cleaned_data["cas_Status"], request=request)  # fmt: skip
        except actions.Invalid as exc:
            _apply_problems(form, exc)
        else:
            messages.success(request, _("Case closed."))
            return _back(case)
    return _form_page(request, case, _("Close the case"), [form])


@login_required
def case_reopen(request: HttpRequest, number: str) -> HttpResponse:
    case = _editable_case(request, number)
    form = cf.ReopenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.reopen_case(request.user, case, reason=form.cleaned_data["reason"], request=request)
        except actions.Invalid as exc:
            _apply_problems(form, exc)
        else:
            messages.success(request, _("Case reopened."))
            return _back(case)
    return _form_page(request, case, _("Reopen the case"), [form], allow_closed=True)


@login_required
def case_follow_up(request: HttpRequest, number: str) -> HttpResponse:
    case = _editable_case(request, number)
    form = cf.FollowUpForm(request.POST or None, initial={"follow_up_date": timezone.localdate() + timedelta(days=30)})
    if request.method == "POST" and form.is_valid():
        try:
            actions.set_follow_up(request.user, case, form.cleaned_data["follow_up_date"], request=request,
                                  move=not form.cleaned_data["keep_status"])  # fmt: skip
        except actions.Invalid as exc:
            _apply_problems(form, exc)
        else:
            return _back(case)
    return _form_page(request, case, _("Move to follow-up"), [form])


@login_required
def case_programme(request: HttpRequest, number: str) -> HttpResponse:
    case = _editable_case(request, number)
    known = actions.programmes(access.scoped(request.user, Case))
    form = cf.ProgrammeForm(request.POST or None, known=known, initial={"programme": case.programme})
    if request.method == "POST" and form.is_valid():
        try:
            actions.set_programme(request.user, case, form.cleaned_data["programme"], request=request)
        except actions.Invalid as exc:
            _apply_problems(form, exc)
        else:
            return _back(case)
    return _form_page(request, case, _("Programme"), [form])


@login_required
def case_reassign(request: HttpRequest, number: str) -> HttpResponse:
    """Reassigning is a hand-over (reason, eligible receivers, notifications): phare.work.views.handovers."""
    case = _editable_case(request, number)
    return HttpResponseRedirect(reverse("work:handover_new", args=[case.number]))


@login_required
def organisation_add(request: HttpRequest) -> HttpResponse:
    """Add a partner, employer or place of work to the organisation's directory."""
    require_write(request.user)
    user: Any = request.user
    form = cf.ExternalOrganisationForm(request.POST or None, organisation_id=user.organisation_id)
    if request.method == "POST" and form.is_valid():
        actions.add_external_organisation(user, form.model_data(), request=request)
        nxt = request.POST.get("next", "")
        return HttpResponseRedirect(nxt if nxt.startswith("/cases/") else reverse("cases:list"))
    return render(request, "cases/form.html", {"case": None, "title": _("Add to the directory"), "forms": [form],
                                               "hidden": {"next": request.GET.get("next", "")}})  # fmt: skip


# --- mistakes: deleting a case, merging two records of one person ----------------------------------------


class DeleteCaseForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Why is the case deleted?"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=gettext_lazy("Kept in the audit log. Deleting removes the case, everything "
                                                    "recorded on it, and the people on no other case."))  # fmt: skip
    confirm = forms.BooleanField(label=gettext_lazy("I understand that this cannot be undone."))


def _managed_case(request: HttpRequest, number: str) -> Case:
    if not can_manage(request.user):
        raise Http404("Not found")
    return get_case(request.user, number)


@login_required
def case_delete(request: HttpRequest, number: str) -> HttpResponse:
    """A case opened by mistake: a supervisor deletes it, with a reason."""
    case = _managed_case(request, number)
    form = DeleteCaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.delete_case(request.user, case, form.cleaned_data["reason"], request=request)
        except actions.Invalid as exc:
            _apply_problems(form, exc)
        else:
            messages.success(request, _("Case %(n)s deleted.") % {"n": number})
            return HttpResponseRedirect(reverse("cases:list"))
    return _form_page(request, case, _("Delete the case"), [form], allow_closed=True, danger=True,
                      submit=_("Delete the case"))  # fmt: skip


class MergeForm(forms.Form):
    other = forms.ChoiceField(label=gettext_lazy("The other record of this person"), widget=forms.RadioSelect,
                              help_text=gettext_lazy("Its cases, records and documents move to this person; what this "
                                                     "record lacks is filled from it; then it is deleted."))  # fmt: skip


@login_required
def person_merge(request: HttpRequest, number: str, uid: str) -> HttpResponse:
    """Two records of one person: a supervisor picks the other one among the likely matches and merges it here."""
    case = _managed_case(request, number)
    keep = _participant(case, request, person__uid=uid).person
    user: Any = request.user
    data = {k: getattr(keep, k) for k in actions.PERSON_INDEX_FIELDS}
    ranked = [(pid, score) for pid, score in actions.match_ids(user.organisation_id, data, limit=11) if pid != keep.pk]
    people = visible_persons(user).in_bulk([pid for pid, _s in ranked])
    keys.preload_person_keys(p.uid for p in people.values())
    choices = []
    for pid, _score in ranked[:10]:
        p = people.get(pid)
        if p is None:
            continue
        nums = ", ".join(Case.objects.filter(participants__person=p).order_by("number").values_list("number", flat=True))
        born = cf.display_value("prs_Birthdate", p.prs_Birthdate) or "—"
        choices.append((str(p.uid), f"{cf.person_display(p, True)} · {born} · {nums or _('no case')}"))
    form = MergeForm(request.POST or None)
    form.fields["other"].choices = choices  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        other = visible_persons(user).get(uid=form.cleaned_data["other"])
        try:
            actions.merge_persons(user, keep, other, request=request)
        except actions.Invalid as exc:
            _apply_problems(form, exc)
        else:
            messages.success(request, _("The two records are now one."))
            return _back(case, "people")
    record("person.lookup", actor=user, request=request, target_type="cases.person",
           detail={"shown": [c[0] for c in choices], "withheld": 0, "for": str(keep.uid)})  # fmt: skip
    intro = _("Records that look like %(name)s. Choose the one that is the same person.") % {"name": cf.person_display(keep, True)}
    if not choices:
        intro = _("No other record looks like this person.")
    return _form_page(request, case, _("Merge two records of one person"), [form] if choices else [], allow_closed=True,
                      intro=intro, submit=_("Merge"))  # fmt: skip
