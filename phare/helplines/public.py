"""The public report form at /report/ORG_SLUG/: no account, no JavaScript, and nothing confirmed about anyone.

Off until an organisation switches it on (`ReportForm.enabled`); an unknown slug and a form that is off answer
the same "not found". Abuse limits without third-party services, counted in the database so that they hold
across workers: per sender address (PER_ADDRESS an hour, the address kept only as a keyed hash) and per form
(PER_FORM an hour), a honeypot field that people never see, and size limits on every field (and on the request,
DATA_UPLOAD_MAX_MEMORY_SIZE). A refused report and an accepted one look alike to a robot filling the honeypot.
Every report lands as a contact awaiting triage, with a reference for the reporter.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from phare import rls
from phare.accounts.models import Organisation
from phare.accounts.proxies import client_address
from phare.helplines import actions
from phare.helplines.forms import ReportForm as ReportFormForm
from phare.helplines.models import CallerType, Channel, ReportAttempt, ReportForm

PER_ADDRESS = 5
PER_FORM = 200
WINDOW = timedelta(hours=1)
KEEP = timedelta(days=1)


def _digest(kind: str, value: str) -> str:
    from phare.crypto.keys import instance_key

    return hmac.new(instance_key("index"), f"report-{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def over_limit(org_id: int, address: str) -> bool:
    since = timezone.now() - WINDOW
    form, addr = _digest("form", str(org_id)), _digest("address", f"{org_id}|{address}")
    return (ReportAttempt.objects.filter(address_digest=addr, at__gte=since).count() >= PER_ADDRESS
            or ReportAttempt.objects.filter(form_digest=form, at__gte=since).count() >= PER_FORM)  # fmt: skip


def note_attempt(org_id: int, address: str) -> None:
    now = timezone.now()
    ReportAttempt.objects.filter(at__lt=now - KEEP).delete()
    ReportAttempt.objects.create(form_digest=_digest("form", str(org_id)),
                                 address_digest=_digest("address", f"{org_id}|{address}"), at=now)  # fmt: skip


def _setting(org: Organisation) -> ReportForm:
    setting = ReportForm.objects.filter(organisation=org, enabled=True).first()
    if setting is None:
        raise Http404("Not found")
    return setting


@never_cache
@csrf_protect
def report(request: HttpRequest, slug: str) -> HttpResponse:
    org = Organisation.objects.filter(slug=slug).first()
    if org is None:
        raise Http404("Not found")
    with rls.acting_for(org.pk):  # an anonymous request acts for no tenant: this form's organisation only
        setting = _setting(org)
        context: dict[str, Any] = {"org": org, "setting": setting}
        if request.method != "POST":
            return render(request, "helplines/report.html", {**context, "form": ReportFormForm(setting=setting)})
        form = ReportFormForm(request.POST, setting=setting)
        address = client_address(request)
        with transaction.atomic():
            if over_limit(org.pk, address):
                return render(request, "helplines/report.html", {**context, "form": form, "limited": True}, status=429)
            note_attempt(org.pk, address)
        if not form.is_valid():
            return render(request, "helplines/report.html", {**context, "form": form}, status=400)
        if form.cleaned_data["website"]:  # the honeypot: a robot gets what a person gets, and nothing is stored
            return render(request, "helplines/report_thanks.html", {**context, "reference": actions.new_reference()})
        data = form.cleaned_data
        reach = data.get("contact", "")  # asked only when the organisation chose to (ReportForm.ask_contact)
        contact = actions.record_contact(None, {
            "channel": Channel.WEB, "caller_type": CallerType.ANONYMOUS if not reach else CallerType.WITNESS,
            "anonymous": not reach, "summary": data["what"], "region": data.get("region", ""),
            "language": data.get("language", ""), "callback_note": reach, "follow_up": bool(reach),
            "answers": form.answers(),
        }, organisation=org, request=request)  # fmt: skip
        return render(request, "helplines/report_thanks.html", {**context, "reference": contact.reference})
