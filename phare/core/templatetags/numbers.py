"""Counts as the reader groups them: {{ n|grouped }} gives "200,000", "200 000", "200٬000". A filter, not the global
USE_THOUSAND_SEPARATOR switch, which would also group years, case numbers' parts and the values of form inputs."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def grouped(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    return number_format(value, use_l10n=True, force_grouping=True)
