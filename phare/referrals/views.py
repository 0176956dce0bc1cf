"""The referral pages: the directory, the inbox and sent list, referring a case (every part shown before
sending), a referral's own page (accept, decline, report, withdraw) and, between instances, the organisation's
card, trusted partners and packages (download one, upload one). Reads go through `phare.referrals.actions`,
writes through its verbs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from htcds import codelists
from htcds.catalogue import load
from phare.accounts.models import Organisation
from phare.accounts.permissions import MANAGE_USERS, READ_PERSONAL, REFER, can
from phare.audit.log import record
from phare.cases.access import get_case, opened_by_break_glass, require_case_write
from phare.cases.forms import country_choices, display_value
from phare.core.prepared import PreparedObjects
from phare.helplines.access import visible_services
from phare.referrals import actions, parts
from phare.referrals.models import DirectoryListing, Status, Transfer, Urgency

HOW_INFORMED = (("", "—"), *((c.name, c.label) for c in load().by_name["con_HowInformed"].choices))


def _require_refer(user: Any) -> None:
    if not (can(user, REFER) and can(user, READ_PERSONAL)):
        raise PermissionDenied


def _label(name: str) -> str:
    f = load().by_name.get(name)
    return str(gettext_lazy(f.label)) if f else name


def _rows(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """A bundle as sections of (label, value) for the page."""
    titles = {"persons": gettext_lazy("Person"), "participants": gettext_lazy("Victim context"),
              "referrals": gettext_lazy("Referral"), "consents": gettext_lazy("Consent"),
              "events": gettext_lazy("Trafficking events"), "support_plans": gettext_lazy("Support plans"),
              "assessments": gettext_lazy("Assessments")}  # fmt: skip
    out = []
    for key, title in titles.items():
        for rec in bundle.get(key) or ():
            fields = [(_label(k), display_value(k, v) if k != "answers" else str(len(v)))
                      for k, v in rec.items() if k not in parts.STRUCTURAL]  # fmt: skip
            if fields:
                out.append({"title": title, "fields": fields})
    return out


@login_required
def index(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    _require_refer(user)
    return render(request, "referrals/index.html", {
        "inbox": list(actions.inbox(user)), "sent": list(actions.sent(user)),
        "waiting": actions.inbox(user).filter(status=Status.RECEIVED).count(),
    })  # fmt: skip


class ListingForm(forms.Form):
    accepts_referrals = forms.BooleanField(label=gettext_lazy("Accepts referrals"), required=False)
    services = forms.MultipleChoiceField(label=gettext_lazy("Services offered"), required=False,
                                         choices=actions.SERVICES, widget=forms.CheckboxSelectMultiple)  # fmt: skip
    countries = forms.MultipleChoiceField(label=gettext_lazy("Countries served"), required=False,
                                          choices=country_choices)  # fmt: skip
    area = forms.CharField(label=gettext_lazy("Area served"), required=False, max_length=255)
    description = forms.CharField(label=gettext_lazy("About the organisation"), required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 3}))  # fmt: skip


@login_required
def directory(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not (can(user, REFER) or can(user, MANAGE_USERS)):
        raise PermissionDenied
    own = DirectoryListing.objects.filter(organisation_id=user.organisation_id).first()
    form = None
    if can(user, MANAGE_USERS):
        initial = ({"accepts_referrals": own.accepts_referrals, "services": own.services, "countries": own.countries,
                    "area": own.area, "description": own.description} if own else {"accepts_referrals": True})  # fmt: skip
        form = ListingForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            actions.list_organisation(user, form.cleaned_data, request=request)
            messages.success(request, _("The directory entry is saved."))
            return HttpResponseRedirect(reverse("referrals:directory"))
    services = dict(actions.SERVICES)
    entries = [{"l": entry, "services": [str(services.get(s, s)) for s in entry.services],
                "countries": display_value("org_ShippingCountry", entry.countries)}
               for entry in actions.directory(user)]  # fmt: skip
    return render(request, "referrals/directory.html", {"entries": entries, "form": form, "own": own})


class ReferForm(forms.Form):
    to = forms.ModelChoiceField(label=gettext_lazy("Refer to"), queryset=Organisation.objects.none())
    services = forms.MultipleChoiceField(label=gettext_lazy("Services requested"), choices=actions.SERVICES,
                                         widget=forms.CheckboxSelectMultiple)  # fmt: skip
    urgency = forms.ChoiceField(label=gettext_lazy("Urgency"), choices=Urgency.choices, initial=Urgency.ROUTINE)
    reason = forms.ChoiceField(label=gettext_lazy("Reason for Outgoing Referral"),
                               choices=[(c.name, c.label) for c in load().by_name["cas_ReasonForOutgoingReferral"].choices])  # fmt: skip
    details = forms.CharField(label=gettext_lazy("Outgoing Referral Details"), required=False, max_length=4000,
                              widget=forms.Textarea(attrs={"rows": 3}))  # fmt: skip
    parts = forms.MultipleChoiceField(label=gettext_lazy("What goes with the referral"), required=False,
                                      choices=[(p.name, p.label) for p in parts.PARTS],
                                      widget=forms.CheckboxSelectMultiple)  # fmt: skip
    consent = forms.BooleanField(label=gettext_lazy("The person consents to be referred to this organisation "
                                                    "(recorded now, if not already)"), required=False)  # fmt: skip
    how_informed = forms.ChoiceField(label=gettext_lazy("How the person was informed"), choices=HOW_INFORMED,
                                     required=False)  # fmt: skip

    def __init__(self, user: Any, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        field: Any = self.fields["to"]
        field.queryset = Organisation.objects.filter(pk__in=actions.directory(user).values("organisation_id"))


SERVICES_SHOWN = 50


@login_required
def refer(request: HttpRequest, number: str) -> HttpResponse:
    """Refer a case: the partner, services, urgency, and the parts of the bundle, each shown with what it holds
    from this very case before anything is sent."""
    user: Any = request.user
    _require_refer(user)
    case = get_case(user, number)
    require_case_write(user, case)
    form = ReferForm(user, request.POST or None, initial={"parts": list(parts.DEFAULT_PARTS)})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        to = d["to"]
        try:
            if actions.live_consent(case, to.pk) is None and d["consent"]:
                actions.record_consent(user, case, to, how=d["how_informed"], request=request)
            t = actions.send(user, case, to, services=d["services"], urgency=d["urgency"], chosen=d["parts"],
                             reason=d["reason"], details=d["details"], request=request)  # fmt: skip
        except actions.Refused as e:
            form.add_error(None, e.message)
        else:
            messages.success(request, _("The referral was sent to %(org)s.") % {"org": to.org_Name})
            return HttpResponseRedirect(reverse("referrals:detail", args=[t.uid]))
    preview = [{"part": x["part"], "rows": [(_label(k), display_value(k, v)) for k, v in x["rows"]], "default": x["default"]}
               for x in parts.preview(case)]  # fmt: skip
    record("referral.preview_viewed", actor=user, request=request, target=case, detail={"case": case.number})
    # The services directory the helpline keeps (phare.helplines): who provides what, where, in which languages,
    # beside the choice of partner, so a referral goes to a service that fits.
    lang = get_language() or "en"
    services = [(x, [codelists.language_name(c, lang) for c in x.languages or []])
                for x in visible_services(user).filter(active=True).order_by("kind", "name")[:SERVICES_SHOWN]]  # fmt: skip
    return render(request, "referrals/refer.html", {"case": case, "form": form, "preview": preview,
                                                    "services": services})  # fmt: skip


@login_required
def detail(request: HttpRequest, uid: str) -> HttpResponse:
    user: Any = request.user
    _require_refer(user)
    t = actions.get_transfer(user, uid)
    receiving = t.receiver_id == user.organisation_id
    if request.method == "POST":
        verb = request.POST.get("verb", "")
        try:
            if receiving and verb == "accept":
                case = actions.accept(user, t, request=request)
                messages.success(request, _("Accepted: case %(n)s is open.") % {"n": case.number})
            elif receiving and verb == "decline":
                actions.decline(user, t, request.POST.get("reason", ""), request=request)
                messages.success(request, _("Declined."))
            elif receiving and verb in (Status.SERVICES_STARTED, Status.CLOSED):
                actions.report(user, t, verb, request=request)
                messages.success(request, _("The sender was told."))
            elif not receiving and verb == "withdraw":
                actions.withdraw(user, t, request.POST.get("reason", ""), request=request)
                messages.success(request, _("Withdrawn."))
            else:
                raise PermissionDenied
        except actions.Refused as e:
            messages.error(request, e.message)
        return HttpResponseRedirect(reverse("referrals:detail", args=[t.uid]))
    # An emergency (break-glass) reader of the case reads the referral and is offered no change to it.
    own_case = t.receiver_case if receiving else t.case
    read_only = own_case is not None and opened_by_break_glass(user, own_case) is not None
    shared = actions.shared_content(user, t) if receiving else {}
    if shared:
        record("referral.viewed", actor=user, request=request, target=t, detail={"referral": str(t.uid)})
    services = dict(actions.SERVICES)
    return render(request, "referrals/detail.html", {
        "t": t, "receiving": receiving, "shared": _rows(shared), "pending": t.status == Status.RECEIVED and not read_only,
        "services": [str(services.get(s, s)) for s in t.services],
        "parts": [str(parts.BY_NAME[p].label) for p in t.parts if p in parts.BY_NAME],
        "history": [{"status": Status(h["status"]).label, "at": h["at"][:16].replace("T", " ")} for h in t.history],
        "can_report": receiving and not read_only and t.status in (Status.ACCEPTED, Status.SERVICES_STARTED),
    })  # fmt: skip


def _transfers_of(org_id: Any, case: Any, receiver_id: Any, receiver_case: Any) -> QuerySet[Transfer]:
    return (Transfer.objects.filter(Q(organisation_id=org_id, case=case) | Q(receiver_id=receiver_id, receiver_case=receiver_case))
            .select_related("organisation", "receiver").order_by("-sent_at"))  # fmt: skip


# Every case page's panel: built once (phare.core.prepared), the organisation and the case each given twice.
_CASE_TRANSFERS = PreparedObjects(_transfers_of, int, int, int, int)


def case_transfers(user: Any, case: Any) -> list[Transfer]:
    """The referrals sent from this case, or the one it was opened from (for the case page's panel)."""
    if not (can(user, REFER) and can(user, READ_PERSONAL)):
        return []
    org_id = user.organisation_id
    if isinstance(org_id, int) and isinstance(case.pk, int):
        return _CASE_TRANSFERS.objects(org_id, case.pk, org_id, case.pk)
    return list(_transfers_of(org_id, case, org_id, case))


# --- between systems: cards, partners, packages ---------------------------------------------------------------


class TrustForm(forms.Form):
    card = forms.FileField(label=gettext_lazy("The partner's card (JSON)"))
    fingerprint = forms.CharField(label=gettext_lazy("Fingerprint the partner gave you"), required=False, max_length=100)


@login_required
def partners(request: HttpRequest) -> HttpResponse:
    """The organisation's card (download), its trusted partners on other systems, and (admins) trusting a card."""
    import json

    from phare.referrals import packages
    from phare.referrals.models import TrustedCard

    user: Any = request.user
    _require_refer(user)
    form = TrustForm(request.POST or None, request.FILES or None) if can(user, MANAGE_USERS) else None
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            c = json.loads(form.cleaned_data["card"].read(200_000))
            row = packages.trust(user, user.organisation, c, expected=form.cleaned_data["fingerprint"], request=request)
        except (ValueError, packages.PackageRefused) as e:
            form.add_error(None, getattr(e, "message", _("This is not an organisation card.")))
        else:
            messages.success(request, _("You now trust %(name)s.") % {"name": row.name})
            return HttpResponseRedirect(reverse("referrals:partners"))
    mine = packages.card(user.organisation)
    rows = TrustedCard.objects.filter(organisation_id=user.organisation_id, revoked_at__isnull=True).order_by("name")
    return render(request, "referrals/partners.html", {
        "card": mine, "fingerprint": packages.show_fingerprint(mine["fingerprint"]), "form": form,
        "partners": [{"p": p, "fingerprint": packages.show_fingerprint(p.fingerprint)} for p in rows]})  # fmt: skip


@login_required
def card_download(request: HttpRequest) -> HttpResponse:
    import json

    from phare.referrals import packages

    user: Any = request.user
    _require_refer(user)
    response = HttpResponse(json.dumps(packages.card(user.organisation), indent=2, ensure_ascii=False),
                            content_type="application/json")  # fmt: skip
    response["Content-Disposition"] = f'attachment; filename="{user.organisation.slug}-card.json"'
    return response


class PackForm(ReferForm):
    partner = forms.ChoiceField(label=gettext_lazy("Partner on another system"))

    def __init__(self, user: Any, *args: Any, **kw: Any) -> None:
        super().__init__(user, *args, **kw)
        from phare.referrals.models import TrustedCard

        del self.fields["to"]
        field: Any = self.fields["partner"]
        field.choices = [(t.fingerprint, t.name) for t in TrustedCard.objects.filter(
            organisation_id=user.organisation_id, revoked_at__isnull=True).order_by("name")]  # fmt: skip


@login_required
def package_make(request: HttpRequest, number: str) -> HttpResponse:
    """Download a referral package of a case for a trusted partner on another system."""
    from phare.referrals import packages

    user: Any = request.user
    _require_refer(user)
    case = get_case(user, number)
    require_case_write(user, case)
    form = PackForm(user, request.POST or None, initial={"parts": list(parts.DEFAULT_PARTS)})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        partner = packages.trusted(user.organisation, fp=d["partner"])
        try:
            if partner is None:
                raise packages.PackageRefused("partner-untrusted")
            if d["consent"] and actions.live_consent(case, None, partner.partner_id) is None:
                actions.record_consent(user, case, None, partner=partner.partner_id, how=d["how_informed"], request=request)
            token, claims = packages.pack(user, case, partner, services=d["services"], chosen=d["parts"],
                                          urgency=d["urgency"], reason=d["reason"], details=d["details"], request=request)  # fmt: skip
        except (actions.Refused, packages.PackageRefused) as e:
            form.add_error(None, e.message)
        else:
            response = HttpResponse(token + "\n", content_type="application/jose")
            response["Content-Disposition"] = f'attachment; filename="referral-{claims["id"]}.jwe"'
            return response
    preview = [{"part": x["part"], "rows": [(_label(k), display_value(k, v)) for k, v in x["rows"]], "default": x["default"]}
               for x in parts.preview(case)]  # fmt: skip
    record("referral.preview_viewed", actor=user, request=request, target=case, detail={"case": case.number})
    return render(request, "referrals/package.html", {"case": case, "form": form, "preview": preview})


class OpenForm(forms.Form):
    package = forms.FileField(label=gettext_lazy("Referral package"), required=False)
    token = forms.CharField(required=False, widget=forms.HiddenInput)


@login_required
def package_open(request: HttpRequest) -> HttpResponse:
    """Upload a package: checked and shown as a dry run; imported when confirmed."""
    from phare.referrals import packages

    user: Any = request.user
    _require_refer(user)
    form = OpenForm(request.POST or None, request.FILES or None)
    result = None
    token = ""
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["package"]
        token = upload.read(5_000_000).decode("ascii", "replace") if upload else form.cleaned_data["token"]
        confirm = request.POST.get("confirm") == "1" and not upload
        result = packages.open_package(user, token, dry_run=not confirm, request=request)
        if result.ok and not result.dry_run and result.case:
            messages.success(request, _("Imported: case %(n)s is open.") % {"n": result.case})
            return HttpResponseRedirect(reverse("cases:case", args=[result.case]))
    shown = _rows(result.claims.get("bundle") or {}) if result is not None and result.ok else []
    return render(request, "referrals/open.html", {"form": form, "result": result, "token": token, "shared": shown})
