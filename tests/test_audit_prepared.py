"""phare.audit.log appends to a chain with SQL built once: the statements, rows and chain `save()` and `update()`
gave."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.sql import InsertQuery, UpdateQuery
from django.test.utils import CaptureQueriesContext

from phare.audit import log
from phare.audit.models import AuditEvent, AuditHead
from tests.test_cases_helpers import make_org, make_user

pytestmark = pytest.mark.django_db


def _plain(params: Any) -> list[Any]:
    """Parameters compared by value (psycopg's JSON wrapper compares by identity)."""
    return [getattr(p, "obj", p) for p in params]


def _row(e: AuditEvent) -> dict[str, Any]:
    return {f.attname: getattr(e, f.attname) for f in AuditEvent._meta.concrete_fields}


def test_it_writes_the_event_and_moves_the_head_as_the_orm_would() -> None:
    org = make_org("alpha")
    user = make_user(org)
    details: list[dict[str, Any]] = [{"cases": ["2026-000001"], "page": 1, "search": False},
                                     {"persons": [], "names_shown": True, "note": "d'é \"x\" \x01"}, {}]  # fmt: skip
    for detail in details * 2:  # the second round reuses the SQL the first built
        with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
            event = log.record("case.viewed", actor=user, target_type="cases.case", target_id="x", detail=detail)
        # The INSERT is what the ORM builds for this event, with the same values.
        reference = InsertQuery(AuditEvent)
        reference.insert_values(log._EVENT_INSERT.fields, [event])
        compiler = reference.get_compiler(connection=connection)
        compiler.returning_fields = AuditEvent._meta.db_returning_fields
        [(sql, params)] = compiler.as_sql()
        # (An organisation's first event also starts its chain: the instance chain records that first.)
        insert = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('INSERT INTO "audit_auditevent"')]
        assert insert[-1].split(" VALUES ")[0] == sql.split(" VALUES ")[0]
        ours = [f.get_db_prep_save(f.pre_save(event, True), connection) for f in log._EVENT_INSERT.fields]
        assert sql == log._EVENT_INSERT.sql() and _plain(ours) == _plain(params)
        stored = AuditEvent.objects.get(pk=event.pk)
        assert _row(stored) == _row(event) and stored.detail == detail and not event._state.adding
        head = AuditHead.objects.get(chain=log.chain_of(org.pk))
        assert (head.last_id, head.last_hash, head.count) == (event.pk, event.hash, event.org_seq)
        assert head.mac == log._head_mac(event.pk, event.hash, event.org_seq, None, log.chain_of(org.pk))
        # The UPDATE is the one `AuditHead.objects.filter(pk=...).update(...)` builds.
        update = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('UPDATE "audit_audithead"')]
        moves = {"last_id": head.last_id, "last_hash": head.last_hash, "count": head.count, "mac": head.mac}
        query = UpdateQuery(AuditHead)
        query.add_update_values(moves)
        query.add_q(Q(pk=head.pk))
        expected = query.get_compiler(connection=connection).as_sql()
        ours_update = log._HEAD_MOVE.sql(head.pk, *moves.values())
        assert ours_update == (expected[0], list(expected[1]))
        assert head.mac in update[-1] and f"= {head.pk}" in update[-1]
    assert log.verify().ok and AuditEvent.objects.filter(action="case.viewed").count() == 6


def test_it_moves_a_head_with_the_statement_the_orms_update_runs() -> None:
    with transaction.atomic():
        with CaptureQueriesContext(connection) as ours:
            log._move_head(987654, 1, "h'x", 2, "m")
        with CaptureQueriesContext(connection) as orm:
            AuditHead.objects.filter(pk=987654).update(last_id=1, last_hash="h'x", count=2, mac="m")
    assert [q["sql"] for q in ours.captured_queries] == [q["sql"] for q in orm.captured_queries]


def test_it_refuses_an_update_whose_values_the_sql_does_not_carry_as_given() -> None:
    from phare.core.prepared import PreparedUpdate

    # A JSON value is wrapped on its way into the SQL: the statement built once could not tell where it goes.
    with pytest.raises(ValueError):
        PreparedUpdate(AuditEvent, ("detail",), (str,)).sql(1, "{}")
