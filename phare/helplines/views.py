"""The helpline pages: the contact list (triage first), the call screen (one page, phone-sized, works without
JavaScript), opening or linking a case from a contact, and caller lookup. Reads go through
`phare.helplines.access`, writes through `phare.helplines.actions`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Case as When_
from django.db.models import IntegerField, Q, Value, When
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from htcds import codelists
from phare.accounts.permissions import MANAGE_USERS, READ_AGGREGATES, require_perm
from phare.cases.access import get_case
from phare.dashboards import exports
from phare.dashboards.views import in_user_language
from phare.helplines import actions
from phare.helplines import figures as helpline_figures
from phare.helplines.access import get_contact, get_service, visible_contacts, visible_services, works_the_line
from phare.helplines.forms import ContactForm, FiguresForm, ReportFormSettingsForm, ServiceForm, ServiceSearchForm
from phare.helplines.models import Contact, Outcome, Service


def _require_line(user: Any) -> None:
    if not works_the_line(user):
        raise PermissionDenied


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    """The organisation's contacts the reader may see, those awaiting triage first."""
    user: Any = request.user
    if not works_the_line(user):
        raise PermissionDenied
    waiting_first = When_(When(outcome=Outcome.TRIAGE, then=Value(0)), default=Value(1), output_field=IntegerField())
    contacts = visible_contacts(user).select_related("case").order_by(waiting_first, "-started_at")[:200]
    return render(request, "helplines/list.html", {"contacts": contacts})


def _form_data(form: ContactForm) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    if not data.get("started_at"):
        data.pop("started_at", None)
    return data


@login_required
def contact_new(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    _require_line(user)
    if request.method == "POST":
        form = ContactForm(request.POST)
        if form.is_valid():
            data = _form_data(form)
            if "end" in request.POST:
                data["ended_at"] = timezone.now()
            try:
                contact = actions.record_contact(user, data, request=request)
            except actions.Invalid as err:
                _add_problems(form, err)
            else:
                messages.success(request, _("Contact %(ref)s saved.") % {"ref": contact.reference})
                return HttpResponseRedirect(reverse("helplines:contact", args=[contact.reference]))
    else:
        form = ContactForm(initial={"started_at": timezone.now()})
    return render(request, "helplines/call.html", {"form": form, "contact": None})


def _add_problems(form: Form, err: actions.Invalid) -> None:
    for field, problems in err.problems.items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)


def _initial(contact: Contact) -> dict[str, Any]:
    names = [n for n in ContactForm.base_fields if n != "outcome" or contact.outcome not in actions.CASE_OUTCOMES]
    return {n: getattr(contact, n) for n in names}


@login_required
def contact_page(request: HttpRequest, reference: str) -> HttpResponse:
    user: Any = request.user
    contact = get_contact(user, reference)
    may_edit = works_the_line(user)
    if request.method == "POST":
        _require_line(user)
        form = ContactForm(request.POST, initial=_initial(contact))
        if contact.outcome in actions.CASE_OUTCOMES:
            form.fields["outcome"].required = False
        if form.is_valid():
            data = {k: v for k, v in _form_data(form).items() if k in form.changed_data}
            if contact.outcome in actions.CASE_OUTCOMES:
                data.pop("outcome", None)
            if "end" in request.POST and contact.ended_at is None:
                data["ended_at"] = timezone.now()
            try:
                actions.update_contact(user, contact, data, request=request)
            except actions.Invalid as err:
                _add_problems(form, err)
            else:
                messages.success(request, _("Contact %(ref)s saved.") % {"ref": contact.reference})
                return HttpResponseRedirect(reverse("helplines:contact", args=[contact.reference]))
    else:
        form = ContactForm(initial=_initial(contact))
    if not may_edit:
        for field in form.fields.values():
            field.disabled = True
    return render(request, "helplines/call.html", {"form": form, "contact": contact, "may_edit": may_edit})


@login_required
@require_POST
def contact_open_case(request: HttpRequest, reference: str) -> HttpResponse:
    user: Any = request.user
    _require_line(user)
    contact = get_contact(user, reference)
    try:
        case = actions.open_case_from_contact(user, contact, request=request)
    except actions.Invalid as err:
        messages.error(request, " ".join(p for ps in err.problems.values() for p in ps))
        return HttpResponseRedirect(reverse("helplines:contact", args=[reference]))
    messages.success(request, _("Case %(number)s opened from contact %(ref)s.") % {"number": case.number,
                                                                                   "ref": reference})  # fmt: skip
    return HttpResponseRedirect(reverse("cases:case", args=[case.number]))


@login_required
@require_POST
def contact_link_case(request: HttpRequest, reference: str) -> HttpResponse:
    user: Any = request.user
    _require_line(user)
    contact = get_contact(user, reference)
    number = request.POST.get("case", "").strip()
    try:
        case = get_case(user, number)
    except Http404:
        messages.error(request, _("No case %(number)s that you may open.") % {"number": number})
        return HttpResponseRedirect(reverse("helplines:contact", args=[reference]))
    actions.link_contact_to_case(user, contact, case, request=request)
    messages.success(request, _("Contact %(ref)s linked to case %(number)s.") % {"ref": reference, "number": number})
    return HttpResponseRedirect(reverse("helplines:contact", args=[reference]))


@login_required
def lookup(request: HttpRequest) -> HttpResponse:
    """Caller lookup by phone or e-mail. POST only searches, so that the number never lands in a URL or a log."""
    user: Any = request.user
    _require_line(user)
    query = request.POST.get("q", "").strip()[:254] if request.method == "POST" else ""
    found = actions.lookup(user, query, request=request) if query else None
    return render(request, "helplines/lookup.html", {"query": query, "found": found})


@require_perm(MANAGE_USERS)
def report_form_settings(request: HttpRequest) -> HttpResponse:
    """The organisation admin switches the public report form on or off and chooses what it asks."""
    user: Any = request.user
    setting = actions.report_form_of(user.organisation)
    initial = {"enabled": setting.enabled, "intro": setting.intro, "ask_region": setting.ask_region,
               "ask_language": setting.ask_language, "ask_contact": setting.ask_contact,
               "questions": "\n".join(setting.questions or [])}  # fmt: skip
    form = ReportFormSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.configure_report_form(user, form.cleaned_data, request=request)
        except actions.Invalid as err:
            for field, problems in err.problems.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            messages.success(request, _("Settings saved."))
            return HttpResponseRedirect(reverse("helplines:settings"))
    public_url = request.build_absolute_uri(reverse("public_report", args=[user.organisation.slug]))
    return render(request, "helplines/settings.html", {"form": form, "setting": setting, "public_url": public_url})


def period_of(start: Any, end: Any) -> helpline_figures.Period:
    """The period asked for: the last DEFAULT_DAYS days when none; at most MAX_DAYS days (the last ones)."""
    default = helpline_figures.Period.default()
    last = end or (max(default.end, start) if start else default.end)
    first = start or last - (default.end - default.start)
    first = max(first, last - timedelta(days=helpline_figures.MAX_DAYS - 1))
    return helpline_figures.Period(first, last)


def _figures_request(request: HttpRequest) -> tuple[FiguresForm, helpline_figures.Period, bool]:
    form = FiguresForm(request.GET or None)
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        return form, period_of(d.get("start"), d.get("end")), bool(d.get("external"))
    return form, period_of(None, None), False


@require_perm(READ_AGGREGATES)
@in_user_language
def figures_page(request: HttpRequest) -> HttpResponse:
    """The helpline's figures for a period, as on the dashboards; small numbers hidden when for sharing."""
    form, period, external = _figures_request(request)
    figs = helpline_figures.figures(request.user, period, external=external)
    return render(request, "helplines/figures.html", {"form": form, "period": period, "external": external,
                                                      "helpline": _section(figs, period, external, request)})  # fmt: skip


def _section(figs: list[Any], period: helpline_figures.Period, external: bool, request: HttpRequest) -> dict[str, Any]:
    from django.utils import translation

    from phare.dashboards import svg

    user: Any = request.user
    query = urlencode({"start": period.start.isoformat(), "end": period.end.isoformat(),
                       **({"external": "on"} if external else {})})  # fmt: skip
    rtl = translation.get_language_bidi()
    k = max(int(user.organisation.k_threshold or 11), 2) if external else None
    # No contact in the period: a line, not five empty charts (a hidden small number is not an empty cell).
    empty = all(cell.value == 0 for fig in figs for row in fig.rows for cell in row.cells)
    return {"items": [] if empty else [(f, svg.render(f, rtl), svg.table(f)) for f in figs], "query": query, "k": k,
            "period": period, "empty": empty}  # fmt: skip


@require_perm(READ_AGGREGATES)
@in_user_language
def figure_csv(request: HttpRequest, key: str) -> HttpResponse:
    """One figure as CSV, through the dashboards' writer (htcds.cells: no cell starts a formula)."""
    _form, period, external = _figures_request(request)
    fig = next((f for f in helpline_figures.figures(request.user, period, external=external) if f.key == key), None)
    if fig is None:
        raise Http404("No such figure")
    response = HttpResponse(exports.csv_bytes(fig), content_type="text/csv; charset=utf-8")
    name = f"phare-{key}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def service_list(request: HttpRequest) -> HttpResponse:
    """The directory of services, searchable during a call (by words, kind and language; GET, nothing personal)."""
    user: Any = request.user
    form = ServiceSearchForm(request.GET or None)
    services = visible_services(user).order_by("kind", "name")
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        if d["q"]:
            words = Q()
            for field in ("name", "provider", "region", "eligibility", "hours"):
                words |= Q(**{f"{field}__icontains": d["q"]})
            services = services.filter(words)
        if d["kind"]:
            services = services.filter(kind=d["kind"])
    else:
        services = services.filter(active=True)
    rows = list(services[:500])
    if form.is_bound and form.is_valid() and form.cleaned_data["language"]:
        rows = [s for s in rows if form.cleaned_data["language"] in (s.languages or [])]
    lang = (translation.get_language() or "en")[:2]
    listed = [(s, [codelists.language_name(c, lang) for c in s.languages or []]) for s in rows]
    return render(request, "helplines/services.html", {"form": form, "services": listed,
                                                       "manages": actions.may_manage_services(user)})  # fmt: skip


def _service_initial(service: Service) -> dict[str, Any]:
    initial = {n: getattr(service, n) for n in ServiceForm.base_fields}
    initial["languages"] = ", ".join(service.languages or [])
    return initial


@login_required
def service_new(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not actions.may_manage_services(user):
        raise PermissionDenied
    form = ServiceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            service = actions.add_service(user, form.cleaned_data, request=request)
        except actions.Invalid as err:
            _add_problems(form, err)
        else:
            messages.success(request, _("Service %(name)s added.") % {"name": service.name})
            return HttpResponseRedirect(reverse("helplines:services"))
    return render(request, "helplines/service.html", {"form": form, "service": None})


@login_required
def service_page(request: HttpRequest, uid: str) -> HttpResponse:
    user: Any = request.user
    service = get_service(user, uid)
    manages = actions.may_manage_services(user)
    form = ServiceForm(request.POST or None, initial=_service_initial(service))
    if request.method == "POST":
        if not manages:
            raise PermissionDenied
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k in form.changed_data}
            try:
                actions.update_service(user, service, data, request=request)
            except actions.Invalid as err:
                _add_problems(form, err)
            else:
                messages.success(request, _("Service %(name)s saved.") % {"name": service.name})
                return HttpResponseRedirect(reverse("helplines:services"))
    if not manages:
        for field in form.fields.values():
            field.disabled = True
    return render(request, "helplines/service.html", {"form": form, "service": service, "manages": manages})
