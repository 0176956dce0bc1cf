"""Django's database sessions, read with a query built once (phare.core.prepared): every request reads its session."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from phare.core.prepared import Prepared

# The row by its key; whether it has expired is decided here, as Django's query decides it (expire_date > now).
_SESSION = Prepared(lambda key: Session.objects.filter(session_key=key).values_list("session_data", "expire_date"), str)


class SessionStore(DatabaseStore):
    def _get_session_from_db(self) -> Any:
        key = self.session_key
        if not isinstance(key, str):
            return super()._get_session_from_db()  # type: ignore[misc]  # not in django-stubs
        found = _SESSION.rows(key)
        if found and found[0][1] > timezone.now():
            return Session(session_key=key, session_data=found[0][0], expire_date=found[0][1])
        self._session_key = None
        return None
