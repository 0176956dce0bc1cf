"""Large counts carry the reader's thousands separator ("200,000 cases", "200 000 dossiers") through the `grouped`
filter, while the global switch stays off so that years and input values are never grouped."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from phare.core.templatetags.numbers import grouped


def test_it_groups_a_count_in_the_readers_way() -> None:
    with translation.override("en"):
        assert grouped(200000) == "200,000" and grouped(999) == "999"
    with translation.override("fr"):
        assert grouped(200000).replace("\u202f", " ").replace("\xa0", " ") == "200 000"
    assert grouped(None) == "" and grouped("2010-000043") == "2010-000043" and grouped(True) == "True"


def test_it_groups_the_case_lists_total_but_not_years_elsewhere() -> None:
    assert not settings.USE_THOUSAND_SEPARATOR  # the filter, not the switch: "2026" must never read "2,026"
    with translation.override("en"):
        html = render_to_string("cases/_list_rows.html", {"total": 200000, "rows": []})
    assert "200,000 cases" in html and "200000" not in html
