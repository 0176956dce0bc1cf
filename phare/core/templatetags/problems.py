"""{{ problem|problem_message }}: a problem (or its report dict) in the reader's language (phare.core.problems)."""

from __future__ import annotations

from typing import Any

from django import template

from phare.core.problems import message_of

register = template.Library()


@register.filter
def problem_message(problem: Any) -> str:
    return message_of(problem)
