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


def inputs(form: forms.Form) -> list[forms.BoundField]:
    return [f for f in form if f.field.widget.template_name in renderers.INPUTS]


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "fr", "ar"])
def test_the_inputs_of_phares_forms_come_out_byte_for_byte(lang: str, monkeypatch: Any) -> None:
    calls: list[str] = []
    real = renderers.render_input
    monkeypatch.setattr(renderers, "render_input", lambda w: calls.append(w["name"]) or real(w))
    with translation.override(lang):
        forms_ = [cf.PersonForm(), cf.EventForm(), cf.SupportPlanForm(), cf.ConsentForm(), cf.IncomingReferralForm(),
                  cf.AssessmentForm(), cf.MatchProbeForm(), cf.CaseFilterForm(None, owners=OWNERS),
                  cf.CaseFilterForm(QueryDict("q=Ama%20%3Cb%3E&opened_from=2024-02-30&opened_to=2024-03-01"), owners=OWNERS),
                  cf.PersonForm({"prs_FirstName": 'O"Neil & <co>', "prs_Birthdate": "1999-04-02", "prs_MobilePhone": ""}),
                  cf.MatchProbeForm({"prs_FirstName": "x", "prs_Birthdate": "not a date"})]  # fmt: skip
        seen = 0
        for form in forms_:
            for field in inputs(form):
                stock, fast = both(field)
                assert fast == stock, field.name
                seen += 1
    assert seen > 20 and calls


class Inputs(forms.Form):
    text = forms.CharField(initial="", widget=forms.TextInput(attrs={"class": 'x"y', "data-n": 0, "hidden": True,
                                                                      "gone": False, "aria-label": "<a>"}))  # fmt: skip
    number = forms.IntegerField(initial=1234567)
    decimal = forms.DecimalField(initial="3.5")
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    hidden = forms.CharField(widget=forms.HiddenInput, initial="h&i")
    password = forms.CharField(widget=forms.PasswordInput(render_value=True), initial="p<w>")
    when = forms.DateTimeField(widget=forms.DateTimeInput)
    disabled = forms.CharField(disabled=True, initial="d")
    safe = forms.CharField(initial=mark_safe("<b>kept</b>"))


@pytest.mark.parametrize("data", [None, {"text": "", "number": "12", "decimal": "x", "email": "a@b", "hidden": "",
                                         "password": "secret", "when": "2024-01-02 10:00", "disabled": "other",
                                         "safe": "<i>"}])  # fmt: skip
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_input_edge_cases_come_out_byte_for_byte(data: Any, lang: str) -> None:
    with translation.override(lang):
        for field in Inputs(data):
            stock, fast = both(field)
            assert fast == stock, field.name


def test_an_input_the_templates_would_render_differently_goes_to_them() -> None:
    class Odd(forms.Form):
        safe = forms.CharField(initial=mark_safe("<b>x</b>"))
        called = forms.CharField(initial=lambda: "from a callable")

    for field in Odd():
        stock, fast = both(field)
        assert fast == stock
    with pytest.raises(renderers._UseTemplatesError):
        renderers.render_input({"type": "text", "name": "x", "value": mark_safe("<b>"), "attrs": {}})


def test_the_case_filters_kept_selects_are_the_ones_drawn_afresh() -> None:
    cf.RememberedSelect.memo.clear()
    others = [("7", "Amina <Okafor>"), ("11", "Kofi")]
    queries = ["", "status=Active&owner=8&sort=-updated", "status=bogus&owner=nobody&exploitation=x", "owner=7&owner=11",
               "attention=overdue&trafficking=Presumed"]  # fmt: skip
    for _round in range(2):  # the second round is drawn from what the first kept
        for lang in ("en", "fr"):
            for owners in (OWNERS, others, []):
                for query in queries:
                    with translation.override(lang):
                        form = cf.CaseFilterForm(QueryDict(query) if query else None, owners=owners)
                        afresh = cf.CaseFilterForm(QueryDict(query) if query else None, owners=owners, renderer=STOCK)
                        for field in selects(form):
                            assert isinstance(field.field.widget, cf.RememberedSelect)
                            assert str(field) == str(afresh[field.name]), (lang, owners, query, field.name)
    assert 0 < len(cf.RememberedSelect.memo) <= cf.RememberedSelect.MEMO_MAX
    with translation.override("fr"):
        owner = cf.CaseFilterForm(QueryDict("owner=7"), owners=others)["owner"]
        assert 'value="7" selected' in str(owner) and "Kofi" in str(owner) and "Zoë" not in str(owner)


def test_it_keeps_no_more_selects_than_its_bound(monkeypatch: Any) -> None:
    monkeypatch.setattr(cf.RememberedSelect, "MEMO_MAX", 3)
    cf.RememberedSelect.memo.clear()
    for i in range(10):
        str(cf.CaseFilterForm(QueryDict(f"owner={i}"), owners=OWNERS)["owner"])
    assert len(cf.RememberedSelect.memo) <= 3


def test_the_case_filters_choices_are_the_ones_django_would_normalise() -> None:
    from django.utils.choices import normalize_choices

    from htcds.catalogue import load

    form = cf.CaseFilterForm(QueryDict("owner=8&exploitation=ForcedLabour"), owners=OWNERS)
    expected = {
        "owner": [("", gettext_lazy("Anyone")), ("me", gettext_lazy("Me")), *OWNERS],
        "exploitation": [("", gettext_lazy("Any")), *((c.name, c.label) for c in load()["vic_TypeOfExploitation"].choices)],
        "trafficking": [("", gettext_lazy("Any")), *((c.name, c.label) for c in load()["vic_TraffickingStatus"].choices)],
    }  # fmt: skip
    for lang in ("en", "fr"):
        with translation.override(lang):
            for name, pairs in expected.items():
                field = form.fields[name]
                want = [(v, str(translation.gettext(str(label)))) for v, label in normalize_choices(pairs)]
                assert [(v, str(label)) for v, label in field.choices] == want
                assert [(v, str(label)) for v, label in field.widget.choices] == want
    assert form.is_valid() and form.cleaned_data["owner"] == "8" and form.cleaned_data["exploitation"] == "ForcedLabour"
    assert not cf.CaseFilterForm(QueryDict("owner=99"), owners=OWNERS).is_valid()
