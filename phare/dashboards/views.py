"""Dashboards and reports. Plain view functions; numbers from `queries`, labels from `figures`, charts from
`svg` (pages) or matplotlib (PNG, PDF)."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import wraps
from typing import Any, cast

from django import forms
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from phare.access import scoped_aggregate
from phare.accounts.models import Organisation, User
from phare.accounts.permissions import READ_AGGREGATES, require_perm
from phare.cases.actions import programmes
from phare.cases.models import Case, CaseStatus
from phare.core.locale import preferred_language, shown_day
from phare.dashboards import exports, svg
from phare.dashboards.figures import SECTIONS, Figure, build, highlights, num, people_total
from phare.dashboards.queries import Filters, counted, partner_ids

PARTNERS = "partners"


def in_user_language(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Render in user.language || organisation.language, whether or not the locale middleware is wired."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        lang = preferred_language(request.user, getattr(request, "LANGUAGE_CODE", None))
        with translation.override(lang):
            request.LANGUAGE_CODE = lang
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        response.headers.setdefault("Content-Language", lang)
        return response

    return wrapped


class FilterForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("Opened from"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))  # fmt: skip
    end = forms.DateField(label=gettext_lazy("Opened until"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))  # fmt: skip
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False)
    owner = forms.TypedChoiceField(label=gettext_lazy("Owner"), required=False, coerce=int, empty_value=None)
    programme = forms.ChoiceField(label=gettext_lazy("Programme"), required=False)
    scope = forms.ChoiceField(label=gettext_lazy("Organisations"), required=False)

    def _choice(self, name: str) -> forms.ChoiceField:
        return cast(forms.ChoiceField, self.fields[name])

    def __init__(self, *args: Any, user: Any, operator: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choice("status").choices = [("", _("All")), ("open", _("Open (not closed)")), *CaseStatus.choices]
        owners = User.objects.filter(organisation_id=user.organisation_id).order_by("username")
        self._choice("owner").choices = [("", _("Everyone")), *[(u.pk, u.get_full_name() or u.username) for u in owners]]
        self._choice("programme").choices = [("", _("All")), *[(p, p) for p in _programmes(user)]]
        if operator:
            self._choice("scope").choices = [("", _("My organisation")), (PARTNERS, _("Partner organisations"))]
        else:
            del self.fields["scope"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError(_("The end of the period is before its start."))
        return data


def _programmes(user: Any) -> list[str]:
    key = f"phare:programmes:{user.organisation_id}"
    names = cache.get(key)
    if names is None:
        names = programmes(scoped_aggregate(user, Case))
        cache.set(key, names, 60)
    return list(names)


@dataclass
class Scope:
    organisation_ids: list[int]
    k: int | None  # small-cell threshold when the figures leave the organisation
    partners: bool
    org_names: dict[str, str] | None


def _scope(user: Any, want_partners: bool, external: bool = False) -> Scope:
    org = user.organisation
    k = max(int(org.k_threshold or 11), 2)
    if want_partners:
        ids = partner_ids(org.pk)
        if not ids:
            raise Http404("No partners")
        names = {str(o.pk): o.org_Name for o in Organisation.objects.filter(pk__in=ids)}
        return Scope(ids, k, True, names)
    return Scope([org.pk], k if external else None, False, None)


def _filters(request: HttpRequest, operator: bool) -> tuple[FilterForm, Filters, bool]:
    form = FilterForm(request.GET or None, user=request.user, operator=operator)
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        partners = operator and d.get("scope") == PARTNERS
        f = Filters(d.get("start"), d.get("end"), d.get("status") or "", None if partners else d.get("owner"),
                    d.get("programme") or "")
        return form, f, partners
    return form, Filters(), False


def _figures(user: Any, scope: Scope, filters: Filters, wait: bool = True) -> tuple[list[Figure], dict[str, Any]]:
    result = counted(user, scope.organisation_ids, filters, timezone.localdate(), wait=wait)
    raw = result.raw
    owner_names: dict[str, str] = {}
    if not scope.partners:
        ids = [int(i) for i in raw.get("open_by_owner", {}) if i]
        owner_names = {str(u.pk): u.get_full_name() or u.username
                       for u in User.objects.filter(pk__in=ids, organisation_id=user.organisation_id)}  # fmt: skip
    figs = build(raw, filters, k=scope.k, owner_names=owner_names, org_names=scope.org_names)
    statuses = raw.get("case_status", {})
    all_cases = sum(statuses.values())
    open_cases = all_cases - sum(v for s, v in statuses.items() if s in ("Closed", "ClosedReferred"))
    key = {
        "people": people_total(raw, scope.k),
        "cases": num(all_cases if not scope.k or all_cases >= scope.k or not all_cases else None, scope.k),
        "open": num(open_cases if not scope.k or open_cases >= scope.k or not open_cases else None, scope.k),
        "as_of": result.as_of,
        "refreshing": result.refreshing,
        "pending": result.pending,
    }
    return figs, key


def _period_text(filters: Filters) -> str:
    if filters.start and filters.end:
        return _("Cases opened from %(start)s to %(end)s") % {"start": shown_day(filters.start), "end": shown_day(filters.end)}
    if filters.start:
        return _("Cases opened from %(start)s") % {"start": shown_day(filters.start)}
    if filters.end:
        return _("Cases opened until %(end)s") % {"end": shown_day(filters.end)}
    return _("All cases")


@require_perm(READ_AGGREGATES)
@in_user_language
def dashboard(request: HttpRequest) -> HttpResponse:
    operator = bool(partner_ids(request.user.organisation_id))  # type: ignore[union-attr]
    form, filters, partners = _filters(request, operator)
    scope = _scope(request.user, partners)
    # The page does not wait for a slow count: the worker makes it and the page reloads (a download waits).
    figs, key = _figures(request.user, scope, filters, wait=False)
    rtl = translation.get_language_bidi()
    sections = []
    for code, title in SECTIONS.items():
        items = [(f, svg.render(f, rtl), svg.table(f)) for f in figs if f.section == code]
        sections.append((code, title, items))
    query = request.GET.urlencode()
    return render(request, "dashboards/dashboard.html", {
        "form": form, "sections": sections, "key": key, "scope": scope, "query": query, "operator": operator,
        "period": _period_text(filters), "k": scope.k, "highlights": highlights(figs),
    })  # fmt: skip


@require_perm(READ_AGGREGATES)
@in_user_language
def figure_download(request: HttpRequest, key: str, fmt: str) -> HttpResponse:
    operator = bool(partner_ids(request.user.organisation_id))  # type: ignore[union-attr]
    _form, filters, partners = _filters(request, operator)
    scope = _scope(request.user, partners)
    figs, _key = _figures(request.user, scope, filters)
    fig = next((f for f in figs if f.key == key), None)
    if fig is None:
        raise Http404("No such figure")
    name = f"phare-{key}-{timezone.localdate().isoformat()}"
    if fmt == "csv":
        resp = HttpResponse(exports.csv_bytes(fig), content_type="text/csv; charset=utf-8")
    elif fmt == "png":
        resp = HttpResponse(exports.png_bytes(fig), content_type="image/png")
    else:
        raise Http404("No such format")
    resp["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return resp


class ReportForm(forms.Form):
    period = forms.ChoiceField(label=gettext_lazy("Period"), initial="month",
                               choices=[("month", gettext_lazy("Month")), ("quarter", gettext_lazy("Quarter"))])  # fmt: skip
    year = forms.IntegerField(label=gettext_lazy("Year"), min_value=2000, max_value=2100)
    number = forms.IntegerField(label=gettext_lazy("Month or quarter number"), min_value=1, max_value=12)
    format = forms.ChoiceField(label=gettext_lazy("Format"), choices=[("pdf", "PDF"), ("xlsx", "XLSX")])
    external = forms.BooleanField(label=gettext_lazy("For sharing outside the organisation (hide small numbers)"),
                                  required=False)  # fmt: skip
    scope = forms.ChoiceField(label=gettext_lazy("Organisations"), required=False)

    def _choice(self, name: str) -> forms.ChoiceField:
        return cast(forms.ChoiceField, self.fields[name])

    def __init__(self, *args: Any, operator: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if operator:
            self._choice("scope").choices = [("", _("My organisation")), (PARTNERS, _("Partner organisations"))]
        else:
            del self.fields["scope"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("period") == "quarter" and (data.get("number") or 0) > 4:
            raise forms.ValidationError(_("A quarter is numbered 1 to 4."))
        return data


def period_bounds(period: str, year: int, number: int) -> tuple[date, date]:
    if period == "quarter":
        first = 3 * (number - 1) + 1
        return date(year, first, 1), date(year, first + 2, calendar.monthrange(year, first + 2)[1])
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


def report_content(user: Any, period: str, year: int, number: int, fmt: str, external: bool,
                   partners: bool = False) -> tuple[bytes, str]:  # fmt: skip
    """The report file and its name, in the organisation's language."""
    org = user.organisation
    start, end = period_bounds(period, year, number)
    scope = _scope(user, partners, external=external)
    with translation.override(preferred_language(None, org.language)):
        filters = Filters(start, end)
        figs, key = _figures(user, scope, filters)
        if period == "quarter":
            label = _("Quarter %(q)s %(year)s") % {"q": number, "year": year}
        else:
            label = date_format(start, "YEAR_MONTH_FORMAT")
        title = (_("Report for partner organisations: %(period)s") if partners else _("Report: %(period)s")) % {
            "period": label}
        subtitle = [org.org_Name, _period_text(filters),
                    _("Generated on %(date)s") % {"date": shown_day(timezone.localdate())}]
        if scope.k:
            subtitle.append(_("Numbers below %(k)s are hidden, with one more where a total would reveal them.")
                            % {"k": scope.k})  # fmt: skip
        key_figures = [(_("People assisted"), key["people"]), (_("Cases"), key["cases"]), (_("Open cases"), key["open"])]
        body = (exports.pdf_bytes if fmt == "pdf" else exports.xlsx_bytes)(title, subtitle, key_figures, figs)
    slug = re.sub(r"[^a-z0-9-]", "", org.slug.lower()) or "org"
    suffix = f"{year}-q{number}" if period == "quarter" else f"{year}-{number:02d}"
    return body, f"phare-report-{slug}-{suffix}.{fmt}"


CONTENT_TYPES = {"pdf": "application/pdf",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}  # fmt: skip


@require_perm(READ_AGGREGATES)
@in_user_language
def report(request: HttpRequest) -> HttpResponse:
    operator = bool(partner_ids(request.user.organisation_id))  # type: ignore[union-attr]
    today = timezone.localdate()
    form = ReportForm(request.GET or None, operator=operator,
                      initial={"year": today.year, "number": today.month, "format": "pdf"})  # fmt: skip
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        body, name = report_content(request.user, d["period"], d["year"], d["number"], d["format"],
                                    bool(d.get("external")), operator and d.get("scope") == PARTNERS)  # fmt: skip
        resp = HttpResponse(body, content_type=CONTENT_TYPES[d["format"]])
        resp["Content-Disposition"] = f'attachment; filename="{name}"'
        return resp
    return render(request, "dashboards/report.html", {"form": form, "operator": operator})
