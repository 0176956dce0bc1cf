"""phare.core.renderers writes a select in Python: the same bytes as Django's own templates, or the templates."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.conf import settings
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.http import QueryDict
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from phare.cases import forms as cf
from phare.core import renderers
from phare.core.renderers import Renderer

STOCK = DjangoTemplates()
FAST = Renderer()


def both(field: forms.BoundField) -> tuple[str, str]:
    widget = field.field.widget
    attrs = field.build_widget_attrs({"id": field.auto_id} if field.auto_id else {})
    value = field.value()
    return (str(widget.render(field.html_name, value, attrs, renderer=STOCK)),
            str(widget.render(field.html_name, value, attrs, renderer=FAST)))  # fmt: skip


def selects(form: forms.Form) -> list[forms.BoundField]:
    found = [f for f in form if isinstance(f.field.widget, forms.Select)]
    assert found
    return found


def test_the_project_renders_forms_with_it() -> None:
    assert settings.FORM_RENDERER == "phare.core.renderers.Renderer"
    assert isinstance(get_default_renderer(), Renderer)


OWNERS = [("7", "Amina <Okafor>"), ("8", 'Jo "JJ" O\'Neil & co'), ("9", "أمينة"), ("10", "Zoë")]


@pytest.mark.parametrize("lang", ["en", "fr", "ar", "ru"])
@pytest.mark.parametrize("query", ["", "status=Active&owner=8&sort=-updated", "status=bogus&owner=nobody&exploitation=x"])
def test_the_case_filters_come_out_byte_for_byte(lang: str, query: str, monkeypatch: Any) -> None:
    calls: list[str] = []
    real = renderers.render_select
    monkeypatch.setattr(renderers, "render_select", lambda w: calls.append(w["name"]) or real(w))
    with translation.override(lang):
        form = cf.CaseFilterForm(QueryDict(query) if query else None, owners=OWNERS)
        for field in selects(form):
            stock, fast = both(field)
            assert fast == stock
    assert calls  # the Python path ran, rather than falling back to the templates every time


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "ar"])
def test_the_htcds_forms_come_out_byte_for_byte(lang: str) -> None:
    # Country and language lists, multiple choices, choices with an empty first option.
    with translation.override(lang):
        for form in (cf.PersonForm(), cf.VictimForm(), cf.PerpetratorForm(), cf.ConsentForm(), cf.CloseForm(),
                     cf.PersonForm({"prs_Gender": "Female", "prs_Citizenship": "NG"}),
                     cf.VictimForm({"vic_TypeOfExploitation": ["SexualExploitation", "ForcedLabour"]})):  # fmt: skip
            for field in (f for f in form if isinstance(f.field.widget, forms.Select)):
                stock, fast = both(field)
                assert fast == stock, field.name


class Edge(forms.Form):
    grouped = forms.ChoiceField(choices=[("", "---"), ("Group <1>", [("a", "A & B"), ("b", "B")]), ("c", "C")])
    numbers = forms.TypedChoiceField(choices=[(1, "one"), (2, "two"), (0, "zero")], coerce=int)
    lazy = forms.ChoiceField(choices=[("x", gettext_lazy("Any")), ("y", gettext_lazy("Me"))])
    several = forms.MultipleChoiceField(choices=[("a", "a"), ("b", "b"), ("c", "c")])
    yes_no = forms.NullBooleanField()
    attrs = forms.ChoiceField(
        choices=[("a", "a")],
        widget=forms.Select(attrs={"class": 'x"y', "data-n": 0, "hidden": True, "gone": False, "aria-label": "<a>"}),
    )
    disabled = forms.ChoiceField(choices=[("a", "a"), ("b", "b")], disabled=True)


@pytest.mark.parametrize("data", [None, {"grouped": "a", "numbers": "2", "lazy": "y", "several": ["a", "c"], "yes_no": "true",
                                         "attrs": "a", "disabled": "b"}])  # fmt: skip
def test_edge_cases_come_out_byte_for_byte(data: Any) -> None:
    for field in Edge(data):
        stock, fast = both(field)
        assert fast == stock, field.name


def test_what_the_templates_would_render_differently_goes_to_them(monkeypatch: Any) -> None:
    # A number label is localised, a safe value stays unescaped through stringformat: the templates decide.
    class Odd(forms.Form):
        number = forms.ChoiceField(choices=[("a", 1234567)])
        safe_value = forms.ChoiceField(choices=[(mark_safe("<v>"), "v")])
        callable_value = forms.ChoiceField(choices=[(len, "v")])

    for field in Odd():
        with pytest.raises(renderers._UseTemplatesError):
            renderers.render_select(field.field.widget.get_context(field.html_name, field.value(), {})["widget"])
        stock, fast = both(field)
        assert fast == stock


def test_a_safe_label_is_kept_as_the_templates_keep_it() -> None:
    class F(forms.Form):
        safe = forms.ChoiceField(choices=[("a", mark_safe("<b>bold</b>")), ("b", "<b>escaped</b>")])

    stock, fast = both(F()["safe"])
    assert fast == stock
    assert "<b>bold</b>" in fast and "&lt;b&gt;escaped" in fast


def test_a_custom_option_template_goes_to_the_templates() -> None:
    class Custom(forms.Select):
        option_template_name = "django/forms/widgets/radio_option.html"

    class F(forms.Form):
        x = forms.ChoiceField(choices=[("a", "a")], widget=Custom)

    field = F()["x"]
    with pytest.raises(renderers._UseTemplatesError):
        renderers.render_select(field.field.widget.get_context("x", None, {})["widget"])
    stock, fast = both(field)
    assert fast == stock
