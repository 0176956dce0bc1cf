"""phare.cases.rows writes the case page's timeline and each record's fields in Python: the same bytes as the
template fragments they replaced."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.template import Context, engines
from django.utils import translation
from django.utils.translation import gettext_lazy

from phare.accounts.models import User
from phare.cases.rows import field_list, timeline_items

# The timeline's loop of cases/case.html before phare.cases.rows.
TIMELINE = (
    "{% load i18n %}"
    """{% for t in timeline %}<li class="t-{{ t.kind }}"><div class="when"><time datetime="{{ t.at|date:'c' }}">{{ t.day|date:"DATE_FORMAT" }}</time> <span class="who">{{ t.who.get_full_name|default:t.who.username|default:"—" }}</span></div>
<div class="what"><strong>{{ t.what }}</strong>{% if t.text %}{% if t.fold %}<details class="fold"><summary>{{ t.head }}… <span class="more-link">{% translate "Read all" %}</span></summary><div class="text">{{ t.text|linebreaksbr }}</div></details>{% elif t.kind == "comment" %}<div class="text">{{ t.text|linebreaksbr }}</div>{% else %}: {{ t.text }}{% endif %}{% endif %}</div>
</li>{% empty %}<li class="muted">{% translate "Nothing yet." %}</li>{% endfor %}"""
)
# cases/_dl.html before phare.cases.rows (the file's last newline included).
FIELDS = (
    '{% if fields %}<dl class="kv">{% for label, value in fields %}<dt>{{ label }}</dt><dd dir="auto">'
    '{% if value|slice:":1" in "-+" and value|slice:"1:2" in "0123456789" %}<bdi dir="ltr">{{ value }}</bdi>'
    "{% else %}{{ value }}{% endif %}</dd>{% endfor %}</dl>{% endif %}\n"
)


def timeline() -> list[dict[str, Any]]:
    ama = User(username="ama", first_name="Ama", last_name="<Owusu>")
    plain = User(username="k&o")  # no name: the username
    nameless = User(username="")  # neither: a dash
    late = datetime(2026, 3, 3, 23, 30, tzinfo=UTC)  # a later day east of UTC
    long = "Line one & <two>\nline 'three'\r\n" + "x" * 500

    def item(kind: str, who: Any, what: Any, text: str, fold: bool = False, day: Any = date(2026, 3, 3)) -> dict[str, Any]:
        return {"at": late, "day": day, "kind": kind, "who": who, "what": what, "text": text, "fold": fold,
                "head": text[:300]}  # fmt: skip

    return [
        item("comment", ama, "Comment", long, fold=True),
        item("comment", plain, gettext_lazy("Comment"), "Called <the> shelter.\nNo answer."),
        item("comment", nameless, "Comment", ""),
        item("changed", plain, "Changed: case (Programme, \"x\")", "a note & more"),
        item("opened", ama, "Case opened", "", day=None),
        item("reassigned", plain, "<b>", "folded note", fold=True, day=late.date()),
    ]


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo"])
def test_it_writes_the_timeline_the_template_drew(language: str, zone: str, settings: Any) -> None:
    settings.TIME_ZONE = zone
    reference = engines["django"].engine.from_string(TIMELINE)
    with translation.override(language):
        for items in (timeline(), timeline()[:1], []):
            expected = reference.render(Context({"timeline": items}))
            got = timeline_items(items)
            assert got == expected
    assert "&lt;Owusu&gt;" in got or got.count("<li") == 1


def test_it_writes_a_dash_for_a_deleted_author() -> None:
    # The template failed on this one (a deleted user's comments and changes keep no author): a dash instead.
    gone = timeline()[3] | {"who": None}
    assert '<span class="who">—</span>' in timeline_items([gone])


def test_it_writes_a_records_fields_the_template_drew() -> None:
    reference = engines["django"].engine.from_string(FIELDS)
    cases: list[list[tuple[Any, Any]]] = [
        [],
        [("Telephone", "+2348031234567"), ("Balance", "-5"), ("Sign", "+"), ("Dash", "-x"), ("Plain", "Lagos")],
        [(gettext_lazy("Gender"), "Feminine"), ("<b>", "O'Brien & \"Sons\""), ("One", "7"), ("Lazy", gettext_lazy("Yes"))],
    ]  # fmt: skip
    for fields in cases:
        for language in ("en", "fr"):
            with translation.override(language):
                assert field_list(fields) == reference.render(Context({"fields": fields}))
    assert '<bdi dir="ltr">+2348031234567</bdi>' in field_list(cases[1])


# The filter fields' loop of cases/list.html before phare.cases.rows.
FILTERS = (
    '{% for field in form %}<div class="field"><label for="{{ field.id_for_label }}">{{ field.label }}</label>'
    '{{ field }}{% if field.errors %}<span class="error">{{ field.errors|join:" " }}</span>{% endif %}</div>'
    "{% endfor %}"
)


@pytest.mark.parametrize("language", ["en", "fr", "ar"])
def test_it_writes_the_case_filters_the_template_drew(language: str) -> None:
    from django.http import QueryDict

    from phare.cases.forms import CaseFilterForm
    from phare.cases.rows import filter_fields

    reference = engines["django"].engine.from_string(FILTERS)
    owners = [("7", "Amina <Okafor>"), ("8", 'Jo "JJ" O\'Neil & co')]
    queries = ["", "status=Active&owner=8&sort=-updated&q=Ama%20%3Cb%3E",
               "status=bogus&owner=nobody&opened_from=2024-02-30&opened_to=x&attention=never"]  # fmt: skip
    with translation.override(language):
        for query in queries:
            form = CaseFilterForm(QueryDict(query) if query else None, owners=owners)
            got = filter_fields(form)
            assert got == reference.render(Context({"form": form}))
    assert got.count('class="error"') >= 4 and "&lt;Okafor&gt;" in got
