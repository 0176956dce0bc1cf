"""The case list's rows, written in Python: the same bytes as the loop of `cases/_list_rows.html` drew.

Four requests in six of a case worker's day are list pages, and the template's loop over 25 rows (about fifteen
variable lookups, filters and escapes a row) was a third of such a page's CPU. tests/test_list_rows.py renders
the former loop beside this and compares the bytes."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import join as join_filter
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils.formats import localize
from django.utils.functional import Promise
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # not in django-stubs
from django.utils.translation import get_language, gettext

from phare.core.templatetags.dates import day_in

# Values of these characters (case numbers, uids) come out of `reverse` as they go in (no quoting, no escaping
# needed): a row's address is then the one reversed address with the value swapped, instead of a `reverse` per row.
PLAIN = re.compile(r"[A-Za-z0-9._~-]+")
SENTINEL = "PHARE-ROW-NUMBER"


def addresses(name: str) -> Callable[[Any], str]:
    """`lambda value: reverse(name, args=[value])` for the rows of a page, the URL reversed once: a value that
    `reverse` would not change is put in its place, any other is reversed for itself (quoted as reverse quotes it)."""
    before, after = reverse(name, args=[SENTINEL]).split(SENTINEL)

    def address(value: Any) -> str:
        if isinstance(value, str) and PLAIN.fullmatch(value):
            return before + value + after
        return reverse(name, args=[value])

    return address


def _text(value: Any) -> str:
    """What `{{ value }}` writes for a value of a row (strings, lazy strings, numbers)."""
    if isinstance(value, Promise):  # a translated label: conditional_escape would take its text the same way
        value = str(value)
    if type(value) is str:  # most values: Django's escape is this, behind a check for lazy arguments
        return html.escape(value)
    return str(conditional_escape(localize(value)))


def _day(value: Any, language: str | None) -> str:
    """`{{ value|day }}`: the filter is given the local time of a datetime, as the template engine does."""
    return str(day_in(template_localtime(value), language))


def _before(a: Any, b: date) -> bool:
    """`{% if a < b %}`: false, not an error, when the two do not compare."""
    try:
        return bool(a < b)
    except Exception:
        return False


def list_rows(rows: Sequence[Any], today: date) -> SafeString:
    """The <tr> elements of the case list for `rows` (`phare.cases.views.Row`), in the active language."""
    if not rows:
        return mark_safe("")
    esc = conditional_escape
    l_number, l_person, l_status = esc(gettext("Case number")), esc(gettext("Person")), esc(gettext("Status"))
    l_opened, l_types = esc(gettext("Date opened")), esc(gettext("Type of Exploitation"))
    l_owner = esc(gettext("Case Owner"))
    l_due, l_activity = esc(gettext("Next due")), esc(gettext("Last activity"))
    l_restricted, l_overdue = esc(gettext("Restricted")), esc(gettext("Overdue"))
    language = get_language()
    case_address = addresses("cases:case")
    out: list[str] = []
    add = out.append
    for r in rows:
        c = r.case
        number = c.number
        url = esc(case_address(number))
        add(f'<tr>\n<td data-label="{l_number}"><a href="{url}"><bdi>{_text(number)}</bdi></a>')
        if c.restricted:
            add(f' <span class="tag">{l_restricted}</span>')
        for f in r.flags or ():
            add(f' <span class="tag flag">{_text(f)}</span>')
        add(f'</td>\n<td data-label="{l_person}">{_text(r.name)}</td>\n'
            f'<td data-label="{l_status}"><span class="status s-{_text(c.cas_Status)}">{_text(r.status)}</span></td>\n'
            f'<td data-label="{l_opened}">{_day(c.cas_OpenedDate, language)}</td>\n'
            f'<td data-label="{l_types}">{_text(r.types)}</td>\n'
            f'<td data-label="{l_owner}">{_text(r.owner)}</td>\n<td data-label="{l_due}">')  # fmt: skip
        if r.next_due:
            if _before(r.next_due, today):
                add(f'<span class="overdue">{l_overdue}</span> ')
            add(_day(r.next_due, language))
        else:
            add("—")
        add(f'</td>\n<td data-label="{l_activity}">{_day(c.updated, language)}</td>\n</tr>')
    return mark_safe("".join(out))  # every value above went through conditional_escape


# --- the case page's loops ---------------------------------------------------------------------------------
# The same bytes as the template fragments they replaced (tests/test_list_rows.py renders those beside these):
# a case's timeline grows with every comment, and each record's fields went through an {% include %}.

DIGITS = "0123456789"


def _slice_in(value: Any, bits: slice, within: str) -> bool:
    """`value|slice:"a:b" in "..."` of a template: false, not an error, when either step fails."""
    try:
        return bool(value[bits] in within)
    except Exception:
        try:
            return bool(value in within)  # slice gives the value itself back when it cannot slice it
        except Exception:
            return False


def field_list(fields: Sequence[tuple[Any, Any]]) -> SafeString:
    """What `cases/_dl.html` drew: a record's (label, value) pairs; a value that starts like a signed number (a telephone
    number) is kept left to right. Ends with the newline that ended the template's file."""
    if not fields:
        return mark_safe("\n")
    out = ['<dl class="kv">']
    for label, value in fields:
        text = _text(value)
        if _slice_in(value, slice(None, 1), "-+") and _slice_in(value, slice(1, 2), DIGITS):
            text = f'<bdi dir="ltr">{text}</bdi>'
        out.append(f'<dt>{_text(label)}</dt><dd dir="auto">{text}</dd>')
    out.append("</dl>\n")
    return mark_safe("".join(out))  # every value above went through conditional_escape


def _who(user: Any) -> str:
    """`{{ who.get_full_name|default:who.username|default:"—" }}`."""
    if user is None:
        return "—"
    name = user.get_full_name() or user.username or "—"
    return _text(name)


def _date(value: Any, fmt: str) -> str:
    """`{{ value|date:fmt }}` (an aware datetime in the current time zone, as the template engine passes it)."""
    return _text(date_filter(template_localtime(value), fmt))


def timeline_items(timeline: Sequence[dict[str, Any]]) -> SafeString:
    """The <li> elements of the case page's timeline (`phare.cases.views._timeline`), newest first."""
    if not timeline:
        return mark_safe(f'<li class="muted">{conditional_escape(gettext("Nothing yet."))}</li>')
    read_all = conditional_escape(gettext("Read all"))
    out: list[str] = []
    add = out.append
    for t in timeline:
        add(f'<li class="t-{_text(t["kind"])}"><div class="when"><time datetime="{_date(t["at"], "c")}">'
            f'{_date(t["day"], "DATE_FORMAT")}</time> <span class="who">{_who(t["who"])}</span></div>\n'
            f'<div class="what"><strong>{_text(t["what"])}</strong>')  # fmt: skip
        text = t["text"]
        if text:
            if t["fold"]:
                add(f'<details class="fold"><summary>{_text(t["head"])}… <span class="more-link">{read_all}</span>'
                    f'</summary><div class="text">{linebreaksbr(text, autoescape=True)}</div></details>')  # fmt: skip
            elif t["kind"] == "comment":
                add(f'<div class="text">{linebreaksbr(text, autoescape=True)}</div>')
            else:
                add(f": {_text(text)}")
        add("</div>\n</li>")
    return mark_safe("".join(out))  # every value above went through conditional_escape


def filter_fields(form: Any) -> SafeString:
    """The case list's filter fields, each with its label and errors: what the loop of `cases/list.html` drew."""
    out: list[str] = []
    for field in form:
        errors = field.errors
        shown = f'<span class="error">{join_filter(errors, " ", autoescape=True)}</span>' if errors else ""
        out.append(f'<div class="field"><label for="{_text(field.id_for_label)}">{_text(field.label)}</label>'
                   f"{conditional_escape(field)}{shown}</div>")  # fmt: skip
    return mark_safe("".join(out))  # every value above went through conditional_escape
