"""Dates as the reader reads them (phare.core.locale): {{ value|day }} for a day, {{ value|moment }} for a time
stamp, each inside <time datetime="…"> so that machines and tests keep the ISO value. Inputs stay
<input type="date"> (ISO); files meant for re-import keep ISO too."""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Any

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from phare.core.locale import one_stop, shown_day

register = template.Library()


@register.filter(expects_localtime=True)
def day(value: Any) -> SafeString | str:
    """A date, or the local day of a datetime: "March 4, 2026", "4 mars 2026", "4 مارس، 2026"."""
    return day_in(value, get_language())


def day_in(value: Any, language: str | None) -> SafeString | str:
    """`day` in `language`, the active one, for a caller that writes many days at once."""
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        return ""
    return _day(value, language)


# A list page shows three days a row, mostly the same few: each formatted once per language. Formats come from
# settings and locale files, which only tests change at run time (`setting_changed` empties the memory).
@functools.lru_cache(maxsize=4096)
def _day(value: date, language: str | None) -> SafeString:
    return format_html('<time datetime="{}">{}</time>', value.isoformat(), shown_day(value))


@receiver(setting_changed)
def _formats_changed(**kwargs: Any) -> None:
    _day.cache_clear()


@register.filter(expects_localtime=True)
def moment(value: Any) -> SafeString | str:
    """A local date and time: "March 4, 2026, 9:05 a.m.", "4 mars 2026 09:05"."""
    if not isinstance(value, datetime):
        return ""
    return format_html('<time datetime="{}">{}</time>', value.isoformat(timespec="minutes"),
                       date_format(value, "DATETIME_FORMAT"))  # fmt: skip


@register.filter(is_safe=True)
def sentence(text: Any) -> str:
    """A rendered sentence with one full stop where a value ending in one ("9:05 a.m.") meets the sentence's."""
    out = one_stop(str(text))
    return mark_safe(out) if isinstance(text, SafeString) else out
