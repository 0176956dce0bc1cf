from __future__ import annotations

from django import forms

from phare.cases.actions import Invalid


def apply_problems(form: forms.Form, exc: Invalid) -> None:
    """An action's refusal shown on the form, next to its field (or above the form)."""
    for field, msgs in exc.problems.items():
        for msg in msgs:
            form.add_error(field if field in form.fields else None, msg)
