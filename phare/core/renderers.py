"""The form renderer (settings.FORM_RENDERER): Django's, with the markup of a select and of an input written in
Python.

Django draws every <option> through two template includes (select_option.html, attrs.html). The case list's
filter form has a select of every user of the organisation, so on the busiest page those includes were a sixth
of the server's time. `Renderer` writes the same bytes as Django's templates for the cases it knows (plain
text or lazy labels, the stock option template) and hands anything else to the templates;
tests/test_renderers.py compares the two outputs for every select and input of Phare's forms and for the edge
cases.
"""

from __future__ import annotations

from typing import Any

from django.forms.renderers import DjangoTemplates
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeData

SELECT = "django/forms/widgets/select.html"
OPTION = "django/forms/widgets/select_option.html"
# Django's input widgets whose template is only `{% include "django/forms/widgets/input.html" %}`.
INPUTS = frozenset(f"django/forms/widgets/{kind}.html" for kind in (
    "input", "text", "date", "number", "email", "url", "password", "hidden", "datetime", "time", "search", "tel"))  # fmt: skip


class _UseTemplatesError(Exception):
    """A value whose rendering the templates may do differently (numbers and dates are localised, callables
    called, safe strings kept): render with the templates."""


def _text(value: Any) -> str:
    """`{{ value }}` in a template, for text (a str or a lazy translation)."""
    if isinstance(value, str):
        return conditional_escape(value)
    if isinstance(value, Promise) and not callable(value):
        return conditional_escape(str(value))
    raise _UseTemplatesError


def _formatted(value: Any) -> str:
    """`{{ value|stringformat:'s' }}`."""
    if isinstance(value, SafeData | tuple) or callable(value):
        raise _UseTemplatesError
    return escape(str(value))  # what "%s" % value gives, tuples aside


def _attrs(attrs: dict[str, Any]) -> str:
    """django/forms/widgets/attrs.html."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        out.append(f" {_text(name)}" if value is True else f' {_text(name)}="{_formatted(value)}"')
    return "".join(out)


def render_select(widget: dict[str, Any]) -> str:
    """django/forms/widgets/select.html with select_option.html, as the renderer returns it (stripped)."""
    out = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            out.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in group_choices:
            if option["template_name"] != OPTION:
                raise _UseTemplatesError
            out.append(f'\n  <option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>'
                       f"{_text(option['label'])}</option>\n")  # fmt: skip
        if group_name:
            out.append("\n  </optgroup>")
    out.append("\n</select>")
    return "".join(out)


def render_input(widget: dict[str, Any]) -> str:
    """django/forms/widgets/input.html, as the renderer returns it."""
    value = widget["value"]
    shown = "" if value is None else f' value="{_formatted(value)}"'
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{shown}{_attrs(widget["attrs"])}>'


class Renderer(DjangoTemplates):
    def render(self, template_name: str, context: dict[str, Any], request: HttpRequest | None = None) -> str:
        if request is None and (template_name == SELECT or template_name in INPUTS):
            try:
                return render_select(context["widget"]) if template_name == SELECT else render_input(context["widget"])
            except _UseTemplatesError:
                pass
        return str(super().render(template_name, context, request))
