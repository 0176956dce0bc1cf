"""Model fields for personal data. At the database level each is a TextField holding a token, so that
switching the cipher or the key never needs a schema migration.

First version: values pass through unencrypted. The trust layer replaces the bodies of `_seal`/`_open`
with AES-GCM bound to row and field; models and their migrations do not change.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import models


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """Personal free text or identifier. Cannot be filtered or sorted on in SQL: use a blind index."""

    def _seal(self, value: str) -> str:
        return value

    def _open(self, token: str) -> str:
        return token

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else self._open(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return None if value is None or value == "" else self._seal(str(value))


class EncryptedDateField(EncryptedTextField):
    """A personal date (a birth date), stored encrypted as ISO text and returned as a `date`."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        text = super().from_db_value(value, expression, connection)
        return date.fromisoformat(text) if text else None

    def to_python(self, value: Any) -> Any:
        if value is None or isinstance(value, date) or value == "":
            return value or None
        return date.fromisoformat(str(value))

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, date):
            value = value.isoformat()
        return super().get_prep_value(value)

    def formfield(self, **kwargs: Any) -> Any:
        from django import forms

        return forms.DateField(**{"required": not self.blank, **kwargs})
