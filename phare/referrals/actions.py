"""The verbs of referrals between organisations of this instance. One function per verb, one transaction
each, with its audit event written on both sides (the acting organisation's chain, and the other party's).

sender:   list_organisation (its directory entry), record_consent, send, withdraw
receiver: accept, decline, report (services started, closed)
either:   consent_withdrawn (called by `phare.cases.actions.withdraw_consent`), case_closed (by `close_case`)

Refusals raise `Refused` with a stable code (collected in `CODES`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from htcds.catalogue import load
from htcds.validation import errors, validate_bundle
from phare.accounts.models import Organisation
from phare.accounts.permissions import MANAGE_USERS, READ_PERSONAL, REFER, can
from phare.audit import log as audit
from phare.cases import actions as case_actions
from phare.cases import consents
from phare.cases.access import on_cases, require_case_write, visible_cases
from phare.cases.models import Case, CaseParticipant, Consent, ExternalOrganisation, Person, Referral
from phare.imports.records import model_values
from phare.referrals import notify, parts, transfer
from phare.referrals.models import DirectoryListing, ReferralConsent, Status, Transfer, Urgency

CODES = {
    "referral-permission": gettext_lazy("Your role cannot send or receive referrals."),
    "referral-no-consent": gettext_lazy("Record the person's consent to be referred to this organisation first."),
    "referral-not-accepting": gettext_lazy("This organisation does not accept referrals."),
    "referral-self": gettext_lazy("A case cannot be referred to its own organisation."),
    "referral-unknown-part": gettext_lazy("Unknown part of the case bundle."),
    "referral-unknown-service": gettext_lazy("Unknown service."),
    "referral-no-service": gettext_lazy("Choose at least one service."),
    "referral-not-pending": gettext_lazy("The referral is no longer waiting for a decision."),
    "referral-not-accepted": gettext_lazy("The referral was not accepted."),
    "referral-reason": gettext_lazy("Give a reason."),
    "referral-invalid-bundle": gettext_lazy("What was shared does not pass the HTCDS checks."),
    "referral-status": gettext_lazy("This status cannot be reported now."),
}

# The services a listing offers and a referral requests: the HTCDS support plan types, and accommodation.
SERVICES: tuple[tuple[str, Any], ...] = (
    *((c.name, c.label) for c in load().by_name["spl_Type"].choices),
    ("Accommodation", gettext_lazy("Accommodation")),
)
SERVICE_NAMES = frozenset(name for name, _label in SERVICES)


class Refused(Exception):  # noqa: N818 - reads as actions.Refused
    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {CODES[code]}" + (f" ({detail})" if detail else ""))

    @property
    def message(self) -> str:
        return str(CODES[self.code]) + (f" {self.detail}" if self.detail else "")


def _require(actor: Any, perm: str = REFER) -> None:
    if not (can(actor, perm) and can(actor, READ_PERSONAL)):
        raise Refused("referral-permission")


def _both(action: str, actor: Any, t: Transfer, request: HttpRequest | None, mine: int, theirs: int,
          **detail: Any) -> None:  # fmt: skip
    """One audit event in each party's chain: the actor's own, and the partner's (no actor: the partner's
    users are not named in another organisation's log)."""
    detail = {"referral": str(t.uid), **detail}
    audit.record(action, actor=actor, organisation=Organisation(pk=mine), target=t, request=request,
                 detail={**detail, "partner": theirs})  # fmt: skip
    audit.record(action, actor=None, organisation=Organisation(pk=theirs), target=t, detail={**detail, "partner": mine})


# --- the directory -----------------------------------------------------------------------------------------


def directory(user: Any) -> QuerySet[DirectoryListing]:
    """Organisations of this instance that accept referrals, other than the user's own."""
    return (DirectoryListing.objects.filter(accepts_referrals=True).exclude(organisation_id=user.organisation_id)
            .select_related("organisation").order_by("organisation__org_Name"))  # fmt: skip


def list_organisation(actor: Any, data: dict[str, Any], request: HttpRequest | None = None) -> DirectoryListing:
    """The organisation admin sets how the organisation appears in the directory."""
    if not can(actor, MANAGE_USERS):
        raise Refused("referral-permission")
    services = list(data.get("services") or [])
    bad = [s for s in services if s not in SERVICE_NAMES]
    if bad:
        raise Refused("referral-unknown-service", ", ".join(bad))
    values = {"accepts_referrals": bool(data.get("accepts_referrals", True)), "services": services,
              "countries": [c.upper() for c in data.get("countries") or []], "area": (data.get("area") or "").strip()[:255],
              "description": (data.get("description") or "").strip()[:2000]}  # fmt: skip
    with transaction.atomic():
        listing, _created = DirectoryListing.objects.update_or_create(organisation_id=actor.organisation_id,
                                                                       defaults=values)  # fmt: skip
        audit.record("referral.directory.update", actor=actor, target=listing, request=request,
                     detail={k: v for k, v in values.items() if k != "description"})  # fmt: skip
    return listing


# --- consent -----------------------------------------------------------------------------------------------


def record_consent(actor: Any, case: Case, recipient: Organisation | None, *, partner: str = "",
                   given: date | None = None, how: str = "", request: HttpRequest | None = None) -> Consent:  # fmt: skip
    """The person's consent to be referred to `recipient` (an organisation of this instance) or `partner` (the
    card id of an organisation on another system): an HTCDS consent with purpose Referral, scoped to it."""
    _require(actor)
    who = parts.primary_participant(case)
    data: dict[str, Any] = {"con_Consent": True, "con_Purpose": ["Referral"], "con_Date": given or timezone.localdate(),
                            "person": who.person if who else None}  # fmt: skip
    if how:
        data["con_HowInformed"] = how
    with transaction.atomic():
        consent = case_actions.record_consent(actor, case, data, request=request)
        ReferralConsent.objects.create(organisation_id=case.organisation_id, consent=consent, recipient=recipient,
                                       partner=partner if recipient is None else "")  # fmt: skip
        audit.record("referral.consent.record", actor=actor, target=consent, request=request,
                     detail={"case": case.number, "recipient": recipient.pk if recipient else partner})  # fmt: skip
    return consent


def live_consent(case: Case, recipient_id: int | None, partner: str = "") -> Consent | None:
    """The person's consent, not withdrawn, to be referred to this organisation (or partner on another system)."""
    to = {"recipient_id": recipient_id} if recipient_id is not None else {"recipient__isnull": True, "partner": partner}
    if recipient_id is None and not partner:
        return None
    scoped = ReferralConsent.objects.filter(organisation_id=case.organisation_id, consent__case=case,
                                            **to).values("consent_id")  # fmt: skip
    for c in consents.live(Consent.objects.filter(pk__in=scoped), timezone.localdate()).order_by("-id"):
        if "Referral" in (c.con_Purpose or []):
            return c
    return None


# --- sending -----------------------------------------------------------------------------------------------


def _partner_entry(organisation_id: int, partner: Organisation) -> ExternalOrganisation:
    """The partner tenant's row in an organisation's own directory of partners (made on first referral)."""
    row = ExternalOrganisation.objects.filter(organisation_id=organisation_id, tenant=partner).order_by("id").first()
    if row is None:
        row = ExternalOrganisation.objects.create(organisation_id=organisation_id, tenant=partner,
                                                  org_Name=partner.org_Name[:255],
                                                  org_ShippingCountry=partner.org_ShippingCountry)  # fmt: skip
    return row


def send(actor: Any, case: Case, to: Organisation, *, services: Iterable[str], urgency: str = Urgency.ROUTINE,
         chosen: Iterable[str] = parts.DEFAULT_PARTS, reason: str = "AdditionalServicesRequired", details: str = "",
         request: HttpRequest | None = None) -> Transfer:  # fmt: skip
    """Refer `case` (one the actor may see) to `to`, with the chosen parts of its bundle. Refused without a live
    consent of the person for referral to that organisation."""
    _require(actor)
    from phare.cases.access import require_case_write, visible_cases

    if case.organisation_id != actor.organisation_id or not visible_cases(actor).filter(pk=case.pk).exists():
        raise Http404("Not found")
    # An emergency grant reads the case; sending the person's data to another organisation is not reading it.
    require_case_write(actor, case)
    if to.pk == case.organisation_id:
        raise Refused("referral-self")
    if not DirectoryListing.objects.filter(organisation=to, accepts_referrals=True).exists():
        raise Refused("referral-not-accepting")
    wanted = list(dict.fromkeys(services))
    if not wanted:
        raise Refused("referral-no-service")
    if bad := [s for s in wanted if s not in SERVICE_NAMES]:
        raise Refused("referral-unknown-service", ", ".join(bad))
    try:
        chosen_parts = parts.normalise(list(chosen))
    except parts.UnknownPart as e:
        raise Refused("referral-unknown-part", str(e)) from None
    if urgency not in Urgency.values:
        urgency = Urgency.ROUTINE
    consent = live_consent(case, to.pk)
    if consent is None:
        raise Refused("referral-no-consent")
    with transaction.atomic():
        referral = case_actions.send_referral(actor, case, {
            "cas_ReferredOrganisation": _partner_entry(case.organisation_id, to),
            "cas_ReasonForOutgoingReferral": reason, "cas_OutgoingReferralDate": timezone.localdate(),
            "cas_OutgoingReferralDetails": (details or "").strip(),
            "cas_ReferredPrimaryCaseWorker": "",
        }, request=request)  # fmt: skip
        bundle = parts.bundle_of(case, chosen_parts, referral=referral, consent=consent)
        t = transfer.deliver(Transfer(organisation_id=case.organisation_id, receiver=to, case=case, referral=referral,
                                      consent=consent, services=wanted, urgency=urgency, parts=chosen_parts,
                                      sent_by=actor), bundle)  # fmt: skip
        _both("referral.send", actor, t, request, case.organisation_id, to.pk, case=case.number, parts=chosen_parts,
              services=wanted, urgency=urgency)  # fmt: skip
        notify.notify(to.pk, "referral.arrived", t.uid)
    return t


def withdraw(actor: Any, t: Transfer, reason: str = "", request: HttpRequest | None = None) -> None:
    """The sender takes back a referral not yet accepted: the receiver keeps nothing of it."""
    _require(actor)
    if t.organisation_id != actor.organisation_id:
        raise Http404("Not found")
    _require_visible(actor, t)
    require_case_write(actor, t.case)  # an emergency reader reads the referral, and no more
    with transaction.atomic():
        t = Transfer.objects.select_for_update().get(pk=t.pk)
        if t.status != Status.RECEIVED:
            raise Refused("referral-not-pending")
        transfer.settle(t, Status.WITHDRAWN, erase=True, reason=(reason or "").strip()[:2000])
        _both("referral.withdraw", actor, t, request, t.organisation_id, t.receiver_id)
        notify.notify(t.receiver_id, "referral.withdrawn", t.uid)


# --- receiving ---------------------------------------------------------------------------------------------


def visible_transfers(user: Any) -> QuerySet[Transfer]:
    """The referrals a member may read, and act on, of those their organisation sent or received (none for a role
    that cannot refer): one they sent, when they may open its case, as with every other record of a case; one they
    received, while it waits in the organisation's intake (or was declined or withdrawn there), and once accepted,
    when they may open the case it became. A case worker who is not on a case reads neither its referrals' reasons
    nor withdraws one (tests/test_colleagues.py)."""
    return _transfers(user, sent=True, received=True)


def _transfers(user: Any, sent: bool, received: bool) -> QuerySet[Transfer]:
    if not (can(user, REFER) and can(user, READ_PERSONAL)):
        return Transfer.objects.none()
    org_id = user.organisation_id
    cases = visible_cases(user)
    sent_here = Q(organisation_id=org_id) & on_cases(cases, "case_id")
    received_here = Q(receiver_id=org_id) & (Q(receiver_case__isnull=True) | on_cases(cases, "receiver_case_id"))
    # One side alone where a list wants one: its query then names that side's organisation column only.
    return Transfer.objects.filter((sent_here | received_here) if sent and received else sent_here if sent else received_here)


def _require_visible(actor: Any, t: Transfer) -> None:
    if not visible_transfers(actor).filter(pk=t.pk).exists():
        raise Http404("Not found")


def inbox(user: Any) -> QuerySet[Transfer]:
    """Referrals sent to the user's organisation that the user may read (`visible_transfers`)."""
    return _transfers(user, sent=False, received=True).select_related("organisation").order_by("-sent_at")


def sent(user: Any) -> QuerySet[Transfer]:
    """Referrals the user's organisation sent, of the cases the user may open (`visible_transfers`)."""
    return _transfers(user, sent=True, received=False).select_related("receiver", "case").order_by("-sent_at")


def get_transfer(user: Any, uid: Any) -> Transfer:
    """A transfer the user may read (404 alike for missing, not ours, and of a case the user may not open)."""
    try:
        return visible_transfers(user).select_related("organisation", "receiver").get(uid=uid)
    except (Transfer.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404("Not found") from None


def shared_content(user: Any, t: Transfer) -> dict[str, Any]:
    """What the sender shared, for the receiver to read before deciding (only while it is pending)."""
    _require(user)
    try:
        return transfer.open_payload(t, user.organisation_id)
    except transfer.PayloadGone:
        return {}


def check_bundle(bundle: dict[str, Any]) -> None:
    found = errors(validate_bundle(bundle))
    if found:
        raise Refused("referral-invalid-bundle", "; ".join(f"{p.path}: {p.message}" for p in found[:5]))


def _import(actor: Any, t: Transfer, bundle: dict[str, Any], request: HttpRequest | None) -> Case:
    return import_bundle(actor, bundle, _partner_entry(actor.organisation_id, t.organisation), t.referral_id, request)


def import_bundle(actor: Any, bundle: dict[str, Any], referring: ExternalOrganisation, source_referral_id: int | None,
                  request: HttpRequest | None) -> Case:  # fmt: skip
    """A new case in the receiver's tenant from a shared bundle, through the ordinary verbs (each audited),
    every personal field sealed under the receiver's own keys."""
    check_bundle(bundle)
    skipped: list[str] = []
    person_rec = (bundle.get("persons") or [{}])[0]
    part_rec = (bundle.get("participants") or [{}])[0]
    role = part_rec.get("role") or "Victim"
    person_data = model_values(Person, person_rec, skipped)
    if not any(person_data.get(k) for k in case_actions.NAME_FIELDS):
        # Sent without the contact details: the receiver knows the person by a pseudonym of its own making.
        person_data["alias"] = _("Referred by %(org)s on %(day)s") % {
            "org": referring.org_Name, "day": timezone.localdate().isoformat()}  # fmt: skip
    case = case_actions.open_case(actor, person_data=person_data, role=role,
                                  context=model_values(CaseParticipant, part_rec, skipped), request=request)  # fmt: skip
    person = case.primary_person
    out = (bundle.get("referrals") or [{}])[0]
    incoming = {"cas_ReferringOrganisation": referring,
                "cas_IncomingReferralDate": date.fromisoformat(out["cas_OutgoingReferralDate"])
                if out.get("cas_OutgoingReferralDate") else timezone.localdate(),
                "cas_ReasonForIncomingReferral": out.get("cas_ReasonForOutgoingReferral", ""),
                "cas_IncomingReferralDetails": out.get("cas_OutgoingReferralDetails", "")}  # fmt: skip
    r = case_actions.receive_referral(actor, case, incoming, request=request)
    if source_referral_id is not None:
        Referral.objects.filter(pk=r.pk).update(source_referral_id=source_referral_id)
    for rec in bundle.get("consents") or ():
        case_actions.record_consent(actor, case, {**model_values(Consent, rec, skipped), "person": person}, request=request)
    from phare.cases.models import SupportPlan, TraffickingEvent

    for rec in bundle.get("events") or ():
        case_actions.add_event(actor, case, {**model_values(TraffickingEvent, rec, skipped), "person": person},
                               request=request)  # fmt: skip
    for rec in bundle.get("support_plans") or ():
        case_actions.add_support_plan(actor, case, {**model_values(SupportPlan, rec, skipped), "person": person},
                                      request=request)  # fmt: skip
    for rec in bundle.get("assessments") or ():
        from phare.cases.models import Assessment

        data = {**model_values(Assessment, rec, skipped), "person": person}
        data.setdefault("asm_Level", "Individual")
        case_actions.record_assessment(actor, case, data, rec.get("answers") or [], request=request)
    return case


def accept(actor: Any, t: Transfer, request: HttpRequest | None = None) -> Case:
    """The receiver accepts: a case opens in its tenant with a copy of what was shared, linked to the referral,
    and the shared payload is erased."""
    _require(actor)
    if t.receiver_id != actor.organisation_id:
        raise Http404("Not found")
    with transaction.atomic():
        t = Transfer.objects.select_for_update().select_related("organisation").get(pk=t.pk)
        if t.status != Status.RECEIVED or not t.payload:
            raise Refused("referral-not-pending")
        bundle = transfer.open_payload(t, actor.organisation_id)
        case = _import(actor, t, bundle, request)
        transfer.settle(t, Status.ACCEPTED, erase=True, receiver_case=case)
        _both("referral.accept", actor, t, request, t.receiver_id, t.organisation_id, case=case.number)
        notify.notify(t.organisation_id, "referral.accepted", t.uid)
    return case


def decline(actor: Any, t: Transfer, reason: str, request: HttpRequest | None = None) -> None:
    _require(actor)
    if t.receiver_id != actor.organisation_id:
        raise Http404("Not found")
    if not (reason or "").strip():
        raise Refused("referral-reason")
    with transaction.atomic():
        t = Transfer.objects.select_for_update().get(pk=t.pk)
        if t.status != Status.RECEIVED:
            raise Refused("referral-not-pending")
        transfer.settle(t, Status.DECLINED, erase=True, reason=reason.strip()[:2000])
        _both("referral.decline", actor, t, request, t.receiver_id, t.organisation_id)
        notify.notify(t.organisation_id, "referral.declined", t.uid)


_NEXT = {Status.SERVICES_STARTED: {Status.ACCEPTED}, Status.CLOSED: {Status.ACCEPTED, Status.SERVICES_STARTED}}


def report(actor: Any, t: Transfer, status: str, request: HttpRequest | None = None) -> None:
    """The receiver tells the sender that services started, or that its case is closed: the status and its
    date travel back, nothing else."""
    _require(actor, REFER)
    if t.receiver_id != actor.organisation_id:
        raise Http404("Not found")
    _require_visible(actor, t)
    if t.receiver_case is not None:
        require_case_write(actor, t.receiver_case)
    with transaction.atomic():
        t = Transfer.objects.select_for_update().get(pk=t.pk)
        if status not in _NEXT or t.status not in _NEXT[Status(status)]:
            raise Refused("referral-status")
        transfer.settle(t, status)
        _both(f"referral.{status}", actor, t, request, t.receiver_id, t.organisation_id)
        notify.notify(t.organisation_id, f"referral.{status}", t.uid)


def case_closed(actor: Any, case: Case, request: HttpRequest | None = None) -> None:
    """Hook of `close_case`: closing a case opened from a referral reports `closed` to its sender."""
    for t in Transfer.objects.filter(receiver_id=case.organisation_id, receiver_case=case,
                                     status__in=(Status.ACCEPTED, Status.SERVICES_STARTED)):  # fmt: skip
        transfer.settle(t, Status.CLOSED)
        _both("referral.closed", actor, t, request, t.receiver_id, t.organisation_id)
        notify.notify(t.organisation_id, "referral.closed", t.uid)


def consent_withdrawn(actor: Any, consent: Consent, request: HttpRequest | None = None) -> None:
    """Hook of `withdraw_consent`: every referral resting on this consent stops. A pending one is erased
    (the receiver never gets it); an accepted one is marked, and the receiver is told, so that it stops
    acting on it; either way nothing more is shared."""
    for t in Transfer.objects.filter(organisation_id=consent.organisation_id, consent=consent,
                                     consent_withdrawn=False):  # fmt: skip
        if t.status == Status.RECEIVED:
            transfer.settle(t, Status.WITHDRAWN, erase=True, consent_withdrawn=True)
        else:
            t.consent_withdrawn = True
            t.payload = ""
            t.save(update_fields=["consent_withdrawn", "payload", "updated"])
        _both("referral.consent_withdrawn", actor, t, request, t.organisation_id, t.receiver_id)
        notify.notify(t.receiver_id, "referral.consent_withdrawn", t.uid)
