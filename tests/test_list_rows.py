"""phare.cases.rows writes the case list's rows in Python: the same bytes as the template loop it replaced."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.template import Context, engines
from django.utils import translation
from django.utils.translation import gettext_lazy

from phare.cases.models import Case
from phare.cases.rows import list_rows
from phare.cases.views import STATUS_LABELS, Row

# The loop of cases/_list_rows.html before phare.cases.rows, with the labels it was given.
REFERENCE = (
    '{% load i18n dates %}{% translate "Case number" as l_number %}{% translate "Person" as l_person %}'
    '{% translate "Status" as l_status %}{% translate "Date opened" as l_opened %}'
    '{% translate "Type of Exploitation" as l_types %}{% translate "Case Owner" as l_owner %}'
    '{% translate "Next due" as l_due %}{% translate "Last activity" as l_activity %}'
    '{% translate "Restricted" as l_restricted %}{% translate "Overdue" as l_overdue %}'
    """{% for r in rows %}<tr>
<td data-label="{{ l_number }}"><a href="{% url 'cases:case' r.case.number %}"><bdi>{{ r.case.number }}</bdi></a>{% if r.case.restricted %} <span class="tag">{{ l_restricted }}</span>{% endif %}{% for f in r.flags %} <span class="tag flag">{{ f }}</span>{% endfor %}</td>
<td data-label="{{ l_person }}">{{ r.name }}</td>
<td data-label="{{ l_status }}"><span class="status s-{{ r.case.cas_Status }}">{{ r.status }}</span></td>
<td data-label="{{ l_opened }}">{{ r.case.cas_OpenedDate|day }}</td>
<td data-label="{{ l_types }}">{{ r.types }}</td>
<td data-label="{{ l_owner }}">{{ r.owner }}</td>
<td data-label="{{ l_due }}">{% if r.next_due %}{% if r.next_due < today %}<span class="overdue">{{ l_overdue }}</span> {% endif %}{{ r.next_due|day }}{% else %}—{% endif %}</td>
<td data-label="{{ l_activity }}">{{ r.case.updated|day }}</td>
</tr>{% endfor %}"""
)

TODAY = date(2026, 3, 4)


def rows() -> list[Row]:
    def case(number: str, status: str, restricted: bool, opened: date | None, updated: datetime) -> Case:
        return Case(number=number, cas_Status=status, restricted=restricted, cas_OpenedDate=opened, updated=updated)

    late = datetime(2026, 3, 3, 23, 30, tzinfo=UTC)  # a later day east of UTC
    return [
        Row(case("2026-000001", "Active", False, date(2026, 1, 2), late), "Ama Owusu", "Forced labour",
            TODAY - timedelta(days=1), ["Safety concern", gettext_lazy("Restricted")], STATUS_LABELS["Active"], "Kofi Mensah"),
        Row(case("2026-000002", "Closed", True, None, late), "<b>O'Brien & \"Sons\"</b>", "", None, None,
            STATUS_LABELS["Closed"], ""),
        Row(case("2026-000003", "Active", False, date(2025, 12, 31), late), "Person 7f3a (pseudonymised)",
            "Sexual exploitation, Forced labour", TODAY, [], gettext_lazy("Active"), "<script>"),
        # An address that must be quoted, and a due moment that does not compare with a day (no error: not overdue).
        Row(case("2026 é&<1>", "x\"y", False, date(2026, 3, 4), late), "", "", late, ["a<b"], "x\"y", "k"),
    ]  # fmt: skip


@pytest.mark.parametrize("language", ["en", "fr", "ar", "ru"])
@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo"])
def test_the_rows_are_the_bytes_the_template_drew(language: str, zone: str, settings: Any) -> None:
    settings.TIME_ZONE = zone
    reference = engines["django"].engine.from_string(REFERENCE)
    with translation.override(language):
        expected = reference.render(Context({"rows": rows(), "today": TODAY}))
        got = list_rows(rows(), TODAY)
    assert "<tr>" in got and "&lt;b&gt;O&#x27;Brien" in got and "/cases/2026%20%C3%A9&amp;%3C1%3E/" in got
    assert got == expected


def test_no_rows_is_nothing() -> None:
    assert list_rows([], TODAY) == ""
