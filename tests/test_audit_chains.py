"""Audit chains per organisation on PostgreSQL: writers of one organisation take turns on its chain's head, and
writers of another organisation do not wait for them (docs/scale.md, step 2)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction

from phare.accounts.models import Organisation
from phare.audit.log import record, verify
from phare.audit.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(body: Any) -> threading.Thread:
    def run() -> None:
        try:
            body()
        finally:
            connection.close()  # each thread has its own connection

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_it_lets_two_organisations_write_at_once_and_one_organisations_writers_take_turns() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    a = Organisation.objects.create(slug="chain-a", org_Name="A")
    b = Organisation.objects.create(slug="chain-b", org_Name="B")
    for org in (a, b):
        with transaction.atomic():
            record("case.update", organisation=org, target_type="cases.case", target_id="first")
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with transaction.atomic():
            record("case.update", organisation=a, target_type="cases.case", target_id="held")
            held.set()
            release.wait(30)

    first = _in_thread(holder)
    assert held.wait(30)
    # Organisation b writes while a's chain is held (it would time out on one lock for the whole log).
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SET LOCAL lock_timeout = '3s'")
        record("case.update", organisation=b, target_type="cases.case", target_id="meanwhile")
    # A second writer of organisation a waits until the first commits, then follows it.
    done: dict[str, float] = {}

    def waiter() -> None:
        with transaction.atomic():
            record("case.update", organisation=a, target_type="cases.case", target_id="waited")
        done["at"] = time.monotonic()

    second = _in_thread(waiter)
    time.sleep(1.5)
    assert "at" not in done
    released = time.monotonic()
    release.set()
    first.join(30)
    second.join(30)
    assert done["at"] >= released
    events = AuditEvent.objects.filter(organisation=a).order_by("id")
    assert [(e.target_id, e.org_seq) for e in events] == [("first", 1), ("held", 2), ("waited", 3)]
    assert events[2].prev_hash == events[1].hash
    assert verify().ok
