"""The helpline's figures inside the dashboards page (`{% helpline_figures %}`), for the organisation's own view:
the dashboards' period (its dates bound the contacts' start) and its small-cell rule (`k`, set when the
figures are shared). The partner organisations' view does not include them."""

from __future__ import annotations

from typing import Any

from django import template

from phare.accounts.permissions import READ_AGGREGATES, can
from phare.helplines import figures

register = template.Library()


@register.inclusion_tag("helplines/_figures.html", takes_context=True)
def helpline_figures(context: template.Context) -> dict[str, Any]:
    from phare.helplines.views import _section, period_of

    request = context.get("request")
    user = getattr(request, "user", None)
    scope = context.get("scope")
    if request is None or not can(user, READ_AGGREGATES) or getattr(scope, "partners", False):
        return {"helpline": None}
    form = context.get("form")
    data = form.cleaned_data if form is not None and form.is_bound and form.is_valid() else {}
    period = period_of(data.get("start"), data.get("end"))
    external = bool(context.get("k"))
    return {"helpline": _section(figures.figures(user, period, external=external), period, external, request)}
