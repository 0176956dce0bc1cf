"""The API's two pages: its documentation (rendered from the OpenAPI document, no script, so it works under
the strict CSP) and the signed-in user's tokens (create, shown once; revoke)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from phare.api import tokens
from phare.api.models import ApiToken


def _markdown(text: str) -> str:
    """The OpenAPI document's descriptions are Markdown written in Phare's code (not by users); rendered with raw
    HTML turned off all the same, so that `<token>` shows as typed."""
    import markdown

    md = markdown.Markdown(extensions=["fenced_code", "tables"], output_format="html")
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return str(md.convert(text))


def docs(request: HttpRequest) -> HttpResponse:
    from phare.api.v1 import api

    schema = api.get_openapi_schema(path_prefix="/api/v1")
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            params = [{"name": p.get("name", ""), "where": p.get("in", ""), "required": bool(p.get("required")),
                       "about": _markdown(p.get("description", "") or p.get("schema", {}).get("description", ""))}
                      for p in op.get("parameters", [])]  # fmt: skip
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            tag = ", ".join(op.get("tags", [])) or "api"
            groups.setdefault(tag, []).append(
                {"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                 "about": _markdown(op.get("description", "")), "params": params,
                 "body": str(body.get("$ref", "")).rsplit("/", 1)[-1], "responses": sorted(op.get("responses", {})),
                 "anchor": op.get("operationId", f"{method}-{path}")}
            )  # fmt: skip
    info = schema.get("info", {})
    return render(request, "api/docs.html", {"groups": groups, "info": info, "about": _markdown(info.get("description", "")),
                                             "scopes": tokens.SCOPES})  # fmt: skip


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    scopes = forms.MultipleChoiceField(label=_("Scopes"), choices=[(k, format_lazy("{}: {}", k, v)) for k, v in tokens.SCOPES.items()],
                                       widget=forms.CheckboxSelectMultiple)  # fmt: skip
    days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, max_value=tokens.MAX_DAYS, initial=90)


@login_required
def tokens_page(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    form = TokenForm(request.POST if request.method == "POST" and "create" in request.POST else None)
    created = None
    if request.method == "POST":
        if "revoke" in request.POST:
            row = ApiToken.objects.filter(user=user, pk=str(request.POST["revoke"])[:20] if
                                          str(request.POST["revoke"]).isdigit() else 0).first()  # fmt: skip
            if row is not None:
                tokens.revoke(row, actor=user, request=request)
        elif form.is_valid():
            try:
                _, created = tokens.create(user, form.cleaned_data["scopes"], form.cleaned_data["days"],
                                           form.cleaned_data["name"], request=request)  # fmt: skip
                form = TokenForm()
            except ValueError as exc:
                form.add_error(None, str(exc))
    rows = ApiToken.objects.filter(user=user).order_by("-created")
    return render(request, "api/tokens.html", {"form": form, "rows": rows, "created": created})
