"""{% for line in events|described %}: audit events in words (phare.audit.words.describe) wherever a page lists a
few of them, as the audit page does: who by name, what happened as a phrase, records by case number."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from phare.audit.models import AuditEvent
from phare.audit.words import Line, describe

register = template.Library()


@register.filter
def described(events: Iterable[AuditEvent]) -> list[Line]:
    return describe(events)
