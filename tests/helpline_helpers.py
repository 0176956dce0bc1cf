"""Factories for the helpline tests (plain functions, no tests here)."""

from __future__ import annotations

from typing import Any

from phare.helplines import actions
from phare.helplines.models import Contact

PHONE = "+44 7700 900123"


def call(operator: Any, **data: Any) -> Contact:
    base: dict[str, Any] = {"channel": "call", "caller_type": "possible_victim", "caller_name": "Efua Mensah",
                            "caller_phone": PHONE, "summary": "Works 16 hours a day, passport taken.",
                            "indicators": ["WithholdsDocuments"], "risk": "high"}  # fmt: skip
    return actions.record_contact(operator, {**base, **data})
