"""The verbs of a helpline: record a contact, update it, open a case from it or link it to a case, and look a
caller up. Each runs in one transaction that writes its audit event inside it.

Values arrive as Python values; the indicators are HTCDS value names of vic_MethodsOfControl and the types of
exploitation those of vic_TypeOfExploitation, checked against the catalogue before anything is written.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from htcds import codelists
from htcds.catalogue import load
from phare import access
from phare.accounts.permissions import MANAGE_CASES, MANAGE_USERS, can
from phare.audit import log as audit
from phare.cases import actions as case_actions
from phare.cases.access import visible_cases
from phare.cases.models import Case, CaseParticipant, PersonIndex
from phare.crypto import blind_index
from phare.helplines.access import visible_contacts, works_the_line
from phare.helplines.models import (
    CallerType,
    Channel,
    Contact,
    ContactDirection,
    ContactIndex,
    Outcome,
    Reason,
    ReportForm,
    Risk,
    Service,
    ServiceKind,
)

Data = Mapping[str, Any]
Invalid = case_actions.Invalid

TEXT_LIMITS = {"caller_name": 200, "caller_phone": 40, "caller_email": 254, "region": 100, "summary": 5000,
               "callback_note": 1000, "language": 3, "answers": 6000}  # fmt: skip
CHOICES: dict[str, Any] = {"channel": Channel, "direction": ContactDirection, "caller_type": CallerType,
                           "reason": Reason, "risk": Risk, "outcome": Outcome}  # fmt: skip
BOOLS = ("anonymous", "follow_up")
FIELDS = (*TEXT_LIMITS, *CHOICES, *BOOLS, "indicators", "exploitation", "started_at", "ended_at")
# Outcomes only the case verbs set: they promise a case behind the contact.
CASE_OUTCOMES = frozenset({Outcome.CASE_OPENED, Outcome.LINKED})
# Reference alphabet without look-alikes (0/O, 1/I/L), read out on the phone.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def indicator_choices() -> list[tuple[str, str]]:
    return [(c.name, str(gettext_lazy(c.label))) for c in load().by_name["vic_MethodsOfControl"].choices]


def exploitation_choices() -> list[tuple[str, str]]:
    return [(c.name, str(gettext_lazy(c.label))) for c in load().by_name["vic_TypeOfExploitation"].choices]


def clean(data: Data, *, partial: bool = False) -> dict[str, Any]:
    """The contact's fields from `data`, checked; `Invalid` names every field that is wrong and why."""
    out: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for key, value in data.items():
        if key not in FIELDS:
            problems.setdefault(key, []).append(_("Unknown field."))
        elif key in TEXT_LIMITS:
            text = str(value or "").strip()
            if len(text) > TEXT_LIMITS[key]:
                problems.setdefault(key, []).append(_("At most %(n)d characters.") % {"n": TEXT_LIMITS[key]})
            elif key == "language" and text and text not in codelists.language_codes():
                problems.setdefault(key, []).append(_("Not an ISO 639-3 language code (such as fra or swa)."))
            out[key] = text
        elif key in CHOICES:
            if value not in CHOICES[key].values:
                problems.setdefault(key, []).append(_("Not one of the choices."))
            out[key] = value
        elif key in BOOLS:
            out[key] = bool(value)
        elif key in ("indicators", "exploitation"):
            allowed = {n for n, _label in (indicator_choices() if key == "indicators" else exploitation_choices())}
            values = list(dict.fromkeys(value or []))
            if any(v not in allowed for v in values):
                problems.setdefault(key, []).append(_("Not one of the choices."))
            out[key] = values
        else:
            if value is not None and not isinstance(value, datetime):
                problems.setdefault(key, []).append(_("Not a date and time."))
            out[key] = value
    if out.get("outcome") in CASE_OUTCOMES:
        problems.setdefault("outcome", []).append(_("Open a case or link one to set this outcome."))
    if not partial and not out.get("started_at"):
        out["started_at"] = out.get("ended_at") or timezone.now()
    if out.get("ended_at") and out.get("started_at") and out["ended_at"] < out["started_at"]:
        problems.setdefault("ended_at", []).append(_("The end comes before the start."))
    if problems:
        raise Invalid(problems)
    if out.get("anonymous"):
        out.update(caller_name="", caller_phone="", caller_email="")
    return out


def index_values(contact: Contact) -> list[tuple[str, str]]:
    """(kind, normalised value) pairs to blind-index for a caller: normalised as a person's are, so that one
    digest finds both the caller's contacts and the people on cases."""
    pairs = []
    if contact.caller_phone:
        pairs.append(("phone", codelists.normalise_phone(contact.caller_phone) or contact.caller_phone.strip()))
    if contact.caller_email:
        pairs.append(("email", contact.caller_email.strip().lower()))
    return pairs


def _reindex(contact: Contact) -> None:
    ContactIndex.objects.filter(contact=contact).delete()
    org = contact.organisation_id
    ContactIndex.objects.bulk_create(ContactIndex(organisation_id=org, contact=contact, kind=k,
                                                  digest=blind_index(org, k, v)) for k, v in index_values(contact))  # fmt: skip


def _require_line(actor: Any) -> None:
    if not works_the_line(actor):
        raise PermissionDenied


def _audit(action: str, actor: Any, contact: Contact, request: HttpRequest | None, **detail: Any) -> None:
    audit.record(action, actor=actor, organisation=contact.organisation, target=contact, request=request,
                 detail={"reference": contact.reference, **detail})  # fmt: skip


def new_reference() -> str:
    return "".join(secrets.choice(ALPHABET) for _i in range(8))


def record_contact(actor: Any, data: Data, *, organisation: Any = None, request: HttpRequest | None = None) -> Contact:
    """Record a contact. `actor` is the operator; the public report form passes `actor=None` and the
    organisation the report is for (the contact then waits for triage)."""
    if actor is not None:
        _require_line(actor)
        organisation = actor.organisation
    if organisation is None:
        raise PermissionDenied
    fields = clean(data)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                contact = Contact.objects.create(organisation=organisation, reference=new_reference(),
                                                 recorded_by=actor, **fields)  # fmt: skip
                _reindex(contact)
                _audit("contact.record", actor, contact, request, channel=contact.channel,
                       public=actor is None)  # fmt: skip
            return contact
        except IntegrityError:  # the same reference drawn twice in one organisation: draw again
            continue
    raise RuntimeError("no free contact reference")


def update_contact(actor: Any, contact: Contact, data: Data, request: HttpRequest | None = None) -> list[str]:
    _require_line(actor)
    fields = clean(data, partial=True)
    with transaction.atomic():
        contact = _fresh(actor, contact)
        changed = [k for k, v in fields.items() if _current(contact, k) != v]
        for key in changed:
            setattr(contact, key, fields[key])
        if changed:
            contact.save()
            if {"caller_phone", "caller_email"} & set(changed):
                _reindex(contact)
            _audit("contact.update", actor, contact, request, fields=sorted(changed))
    return changed


def _current(contact: Contact, key: str) -> Any:
    value = getattr(contact, key)
    return (str(value) if value else "") if key in TEXT_LIMITS else value


def _fresh(actor: Any, contact: Contact) -> Contact:
    """The contact again, locked, through the reader's door: not found alike for missing and not theirs."""
    try:
        return visible_contacts(actor).select_for_update(of=("self",)).get(pk=contact.pk)
    except Contact.DoesNotExist:
        raise Http404("Not found") from None


def case_person_data(contact: Contact) -> dict[str, Any]:
    """What a contact carries into a new case's person. The caller's own identity only when the caller is the
    possible victim: a witness's phone number is not the victim's."""
    data: dict[str, Any] = {}
    if contact.caller_type == CallerType.POSSIBLE_VICTIM and not contact.anonymous:
        if contact.caller_name:
            data["prs_FirstName"] = str(contact.caller_name)
        phone = codelists.normalise_phone(str(contact.caller_phone or ""))
        if phone:  # a number that is not one (typed in haste) stays on the contact, out of the person's record
            data["prs_MobilePhone"] = phone
        if contact.caller_email:
            data["prs_Email"] = str(contact.caller_email)
    if contact.language and contact.caller_type == CallerType.POSSIBLE_VICTIM:
        data["prs_PrimaryLanguage"] = contact.language
    if not data.get("prs_FirstName"):
        data["alias"] = _("Person from contact %(ref)s") % {"ref": contact.reference}
    return data


def case_context(contact: Contact) -> dict[str, Any]:
    context: dict[str, Any] = {}
    if contact.indicators:
        context["vic_MethodsOfControl"] = list(contact.indicators)
    if contact.exploitation:
        context["vic_TypeOfExploitation"] = list(contact.exploitation)
    return context


def open_case_from_contact(actor: Any, contact: Contact, request: HttpRequest | None = None) -> Case:
    """Open a case around the person the contact is about (role PotentialVictim), carrying what was recorded:
    the caller's identity when they are that person, the indicators and types of exploitation, the summary as
    the case's first comment."""
    _require_line(actor)
    with transaction.atomic():
        contact = _fresh(actor, contact)
        if contact.case_id is not None:
            raise Invalid({"case": [_("This contact is already linked to a case.")]})
        case = case_actions.open_case(actor, person_data=case_person_data(contact), role="PotentialVictim",
                                      context=case_context(contact), request=request)  # fmt: skip
        if contact.summary:
            case_actions.add_comment(actor, case, _("From contact %(ref)s: %(text)s")
                                     % {"ref": contact.reference, "text": str(contact.summary)}, request=request)  # fmt: skip
        contact.case, contact.outcome = case, Outcome.CASE_OPENED
        contact.save(update_fields=["case", "outcome", "updated"])
        _audit("contact.case_opened", actor, contact, request, case=case.number)
    return case


def link_contact_to_case(actor: Any, contact: Contact, case: Case, request: HttpRequest | None = None) -> None:
    """Link a contact to a case the actor may open (a repeat caller's case)."""
    _require_line(actor)
    with transaction.atomic():
        contact = _fresh(actor, contact)
        if not visible_cases(actor).filter(pk=case.pk).exists():
            raise Http404("Not found")
        contact.case, contact.outcome = case, Outcome.LINKED
        contact.save(update_fields=["case", "outcome", "updated"])
        _audit("contact.linked", actor, contact, request, case=case.number)


@dataclass
class Found:
    contacts: list[Contact]
    cases: list[Case]


def lookup(actor: Any, value: str, request: HttpRequest | None = None) -> Found:
    """Earlier contacts and cases of the caller with this phone number or e-mail, among those the actor may see.
    Through the blind indexes only (nothing is decrypted to search); audited with the kind searched, never the
    value."""
    _require_line(actor)
    text = value.strip()
    if "@" in text:
        kind, norm = "email", text.lower()
    else:
        kind, norm = "phone", codelists.normalise_phone(text) or text
    if not norm:
        return Found([], [])
    org = actor.organisation_id
    with transaction.atomic():
        digest = blind_index(org, kind, norm)
        contacts: QuerySet[Contact] = visible_contacts(actor).filter(
            id__in=ContactIndex.objects.filter(organisation_id=org, kind=kind, digest=digest).values("contact_id")
        )
        people = PersonIndex.objects.filter(organisation_id=org, kind=kind, digest=digest).values("person_id")
        cases = visible_cases(actor).filter(
            id__in=CaseParticipant.objects.filter(person_id__in=people).values("case_id")
        )
        found = Found(list(contacts.order_by("-started_at")[:50]), list(cases.order_by("-cas_OpenedDate")[:50]))
        audit.record("contact.lookup", actor=actor, request=request,
                     detail={"kind": kind, "contacts": len(found.contacts), "cases": len(found.cases)})  # fmt: skip
    return found


# --- the public report form's settings --------------------------------------------------------------------

QUESTIONS_MAX = 5
QUESTION_LIMIT = 200
INTRO_LIMIT = 2000
FORM_BOOLS = ("enabled", "ask_region", "ask_language", "ask_contact")


def report_form_of(organisation: Any) -> ReportForm:
    """The organisation's report form settings; an organisation that never chose has the defaults (off)."""
    return ReportForm.objects.filter(organisation=organisation).first() or ReportForm(organisation=organisation)


def configure_report_form(actor: Any, data: Data, request: HttpRequest | None = None) -> list[str]:
    """Switch the organisation's public report form on or off and choose what it asks. The organisation's admin
    only: the form speaks for the organisation to the public. Returns the names of the settings changed."""
    if not can(actor, MANAGE_USERS):
        raise PermissionDenied
    problems: dict[str, list[str]] = {}
    out: dict[str, Any] = {k: bool(data[k]) for k in FORM_BOOLS if k in data}
    if "intro" in data:
        out["intro"] = str(data["intro"] or "").strip()
        if len(out["intro"]) > INTRO_LIMIT:
            problems["intro"] = [_("At most %(n)d characters.") % {"n": INTRO_LIMIT}]
    if "questions" in data:
        questions = list(dict.fromkeys(q.strip() for q in data["questions"] or [] if str(q).strip()))
        if len(questions) > QUESTIONS_MAX:
            problems.setdefault("questions", []).append(_("At most %(n)d questions.") % {"n": QUESTIONS_MAX})
        if any(len(q) > QUESTION_LIMIT for q in questions):
            too_long = _("A question has at most %(n)d characters.") % {"n": QUESTION_LIMIT}
            problems.setdefault("questions", []).append(too_long)
        out["questions"] = questions
    if problems:
        raise Invalid(problems)
    with transaction.atomic():
        setting, _created = ReportForm.objects.select_for_update().get_or_create(organisation_id=actor.organisation_id)
        changed = [k for k, v in out.items() if getattr(setting, k) != v]
        for key in changed:
            setattr(setting, key, out[key])
        if changed:
            setting.save()
            audit.record("contact.report_form_changed", actor=actor, organisation=actor.organisation, target=setting,
                         request=request, detail={"fields": sorted(changed), "enabled": setting.enabled})  # fmt: skip
    return changed


# --- the directory of services ------------------------------------------------------------------------------

SERVICE_TEXT = {"name": 200, "provider": 200, "region": 100, "hours": 200, "eligibility": 1000, "contact": 500}


def may_manage_services(user: Any) -> bool:
    """Supervisors and admins keep the directory; everyone of the organisation reads it."""
    return can(user, MANAGE_CASES)


def clean_service(data: Data, *, partial: bool = False) -> dict[str, Any]:
    """The service's fields from `data`, checked; `Invalid` names every field that is wrong and why."""
    out: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for key, value in data.items():
        if key in SERVICE_TEXT:
            text = str(value or "").strip()
            if len(text) > SERVICE_TEXT[key]:
                problems.setdefault(key, []).append(_("At most %(n)d characters.") % {"n": SERVICE_TEXT[key]})
            out[key] = text
        elif key == "kind":
            if value not in ServiceKind.values:
                problems.setdefault(key, []).append(_("Not one of the choices."))
            out[key] = value
        elif key == "languages":
            codes = list(dict.fromkeys(str(v).strip().lower() for v in value or [] if str(v).strip()))
            if any(c not in codelists.language_codes() for c in codes):
                problems.setdefault(key, []).append(_("Not an ISO 639-3 language code (such as fra or swa)."))
            out[key] = codes
        elif key == "active":
            out[key] = bool(value)
        else:
            problems.setdefault(key, []).append(_("Unknown field."))
    if not partial:
        for key in ("name", "kind"):
            if not out.get(key):
                problems.setdefault(key, []).append(_("This field is required."))
    if problems:
        raise Invalid(problems)
    return out


def _audit_service(action: str, actor: Any, service: Service, request: HttpRequest | None, **detail: Any) -> None:
    audit.record(action, actor=actor, organisation=actor.organisation, target=service, request=request,
                 detail={"name": service.name, **detail})  # fmt: skip


def add_service(actor: Any, data: Data, request: HttpRequest | None = None) -> Service:
    if not may_manage_services(actor):
        raise PermissionDenied
    fields = clean_service(data)
    with transaction.atomic():
        service = Service.objects.create(organisation_id=actor.organisation_id, **fields)
        _audit_service("helpline_service.add", actor, service, request, kind=service.kind)
    return service


def update_service(actor: Any, service: Service, data: Data, request: HttpRequest | None = None) -> list[str]:
    if not may_manage_services(actor):
        raise PermissionDenied
    fields = clean_service(data, partial=True)
    with transaction.atomic():
        try:  # again, locked, through the reader's door: not found alike for missing and not theirs
            service = access.scoped(actor, Service).select_for_update().get(pk=service.pk)
        except Service.DoesNotExist:
            raise Http404("Not found") from None
        changed = [k for k, v in fields.items() if getattr(service, k) != v]
        for key in changed:
            setattr(service, key, fields[key])
        if changed:
            service.save()
            _audit_service("helpline_service.update", actor, service, request, fields=sorted(changed))
    return changed
