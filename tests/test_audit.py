"""The audit log: append-only, keyed hash chain with a MACed head; tampering is always detected."""

from __future__ import annotations

import io
import json
import random
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phare.accounts.models import Organisation, Role, User
from phare.audit.log import record, verify
from phare.audit.models import AuditEvent, AuditHead

pytestmark = pytest.mark.django_db

CHAIN = 12


def _chain(n: int = CHAIN) -> list[AuditEvent]:
    org = Organisation.objects.create(slug="audited", org_Name="Audited")
    user = User.objects.create(username="auditee", organisation=org)
    events = []
    with transaction.atomic():
        for i in range(n):
            events.append(
                record(random.choice(["case.view", "person.view", "case.update", "export"]), actor=user,
                       target_type="cases.case", target_id=str(i), detail={"i": i, "note": "x" * (i % 5)})
            )  # fmt: skip
    return events


def _unlock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT set_config('phare.audit_unlock', 'on', true)")


def test_it_verifies_an_intact_chain_and_refuses_records_outside_a_transaction() -> None:
    _chain(5)
    v = verify()
    assert v.ok and v.checked == 5
    head = AuditHead.objects.get(pk=1)
    assert head.count == 5 and head.last_id == AuditEvent.objects.order_by("-id").first().id  # type: ignore[union-attr]
    # outside a transaction (autocommit) record refuses to write
    with pytest.raises(RuntimeError):
        transaction.get_connection().in_atomic_block = False
        try:
            record("x")
        finally:
            transaction.get_connection().in_atomic_block = True


def _tamper(kind: str, events: list[AuditEvent], i: int, j: int, field: str, rnd: random.Random) -> None:
    e = events[i]
    qs = AuditEvent.objects.filter(pk=e.pk)
    if kind == "edit":
        value: Any = {
            "action": e.action + "!", "actor_name": "mallory", "target_id": e.target_id + "0", "ip": "10.6.6.6",
            "detail": {**e.detail, "i": -1}, "at": e.at.replace(microsecond=(e.at.microsecond + 1) % 1000000),
            "organisation_id": None, "actor_id": None, "target_type": "cases.person",
            "hash": "f" * 64, "prev_hash": "e" * 64,
        }[field]  # fmt: skip
        qs.update(**{field: value})
    elif kind == "delete":
        qs.delete()
    elif kind == "reorder":  # swap the contents of two rows (ids stay in place)
        a, b = events[i], events[j]
        cols = ["action", "actor_name", "target_type", "target_id", "ip", "at", "detail", "prev_hash"]
        AuditEvent.objects.filter(pk=a.pk).update(hash="tmp" + "0" * 61)
        AuditEvent.objects.filter(pk=b.pk).update(**{c: getattr(a, c) for c in cols}, hash=a.hash)
        AuditEvent.objects.filter(pk=a.pk).update(**{c: getattr(b, c) for c in cols}, hash=b.hash)
    elif kind == "insert":  # a forged event between two real ones, copying a neighbour's link
        AuditEvent.objects.create(
            action="forged", at=e.at, prev_hash=e.hash, hash=f"{rnd.getrandbits(256):064x}", detail={}
        )


def test_it_detects_1000_random_tamperings() -> None:
    events = _chain()
    assert verify().ok
    detected = tried = 0

    @settings(max_examples=1000, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(
        kind=st.sampled_from(["edit", "edit", "delete", "reorder", "insert"]),
        i=st.integers(0, CHAIN - 1),
        j=st.integers(0, CHAIN - 1),
        field=st.sampled_from(["action", "actor_name", "target_id", "ip", "detail", "at", "organisation_id",
                               "actor_id", "target_type", "hash", "prev_hash"]),
        seed=st.integers(0, 2**32),
    )  # fmt: skip
    def attempt(kind: str, i: int, j: int, field: str, seed: int) -> None:
        nonlocal detected, tried
        if kind == "reorder" and i == j:
            j = (i + 1) % CHAIN
        sid = transaction.savepoint()
        try:
            _unlock()
            _tamper(kind, events, i, j, field, random.Random(seed))
            tried += 1
            detected += not verify().ok
        finally:
            transaction.savepoint_rollback(sid)

    attempt()
    assert tried >= 1000
    assert detected == tried  # 100 %
    assert verify().ok  # and every tampering was rolled back


def test_it_detects_truncating_the_tail_and_a_forged_head() -> None:
    events = _chain(6)
    _unlock()
    AuditEvent.objects.filter(pk=events[-1].pk).delete()
    v = verify()
    assert v.ok is False and "truncated" in v.reason
    AuditHead.objects.filter(pk=1).update(last_id=events[-2].pk, last_hash=events[-2].hash, count=5)
    v = verify()
    assert v.ok is False and v.reason == "the chain head was altered" and v.broken_at == events[-2].pk
    # A head deleted with events left: as broken as one altered.
    AuditHead.objects.all().delete()
    v = verify()
    assert (v.ok, v.checked, v.reason) == (False, 5, "the chain head is missing")


def test_it_reports_the_first_broken_link_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    events = _chain(8)
    call_command("audit", "verify")
    assert "intact: 8 events" in capsys.readouterr().out
    _unlock()
    AuditEvent.objects.filter(pk=events[3].pk).update(actor_name="someone else")
    AuditEvent.objects.filter(pk=events[6].pk).update(action="edited too")
    with pytest.raises(CommandError) as exc:
        call_command("audit", "verify")
    assert exc.value.returncode == 1
    err = capsys.readouterr().err
    assert f"event {events[3].pk}" in err and "edited row" in err


def test_it_cannot_be_recomputed_without_the_key() -> None:
    """An attacker with only the database recomputes plain SHA-256 hashes: still detected (keyed HMAC)."""
    import hashlib
    import json

    from phare.audit.log import GENESIS, _content

    _chain(4)
    _unlock()
    prev = GENESIS
    for e in AuditEvent.objects.order_by("id"):
        e.actor_name = "rewritten"
        payload = json.dumps(_content(e), sort_keys=True, separators=(",", ":"), default=str)
        h = hashlib.sha256((prev + payload).encode()).hexdigest()
        AuditEvent.objects.filter(pk=e.pk).update(actor_name="rewritten", prev_hash=prev, hash=h)
        prev = h
    assert not verify().ok


def test_it_refuses_update_and_delete_on_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    from django.db import DatabaseError

    events = _chain(2)
    for op in (lambda: AuditEvent.objects.filter(pk=events[0].pk).update(action="x"),
               lambda: AuditEvent.objects.filter(pk=events[0].pk).delete()):  # fmt: skip
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            op()


def test_it_records_sign_in_failures_and_role_changes(client: Any, make_user: Any, org: Any) -> None:
    admin = make_user(Role.ADMIN, org)
    worker = make_user(Role.CASE_WORKER, org)
    client.post("/accounts/login/", {"username": worker.username, "password": "wrong password!!"})
    assert AuditEvent.objects.filter(action="signin.failed", detail__username=worker.username).exists()
    client.force_login(admin)
    client.post(
        f"/accounts/users/{worker.pk}/", {"role": Role.SUPERVISOR, "is_active": "on", "username": worker.username}
    )
    e = AuditEvent.objects.get(action="user.permissions_changed")
    assert e.actor_id == admin.pk and e.target_id == str(worker.pk)
    assert e.detail == {"before": {"role": "case_worker", "is_active": True},
                        "after": {"role": "supervisor", "is_active": True}, "password_reset": False}  # fmt: skip
    assert verify().ok


def test_it_lets_only_auditors_and_admins_search_and_shows_who_viewed_a_person(
    make_user: Any, org: Any, other_org: Any, client_for: Any
) -> None:
    auditor = make_user(Role.AUDITOR, org)
    worker = make_user(Role.CASE_WORKER, org)
    stranger = make_user(Role.CASE_WORKER, other_org)
    with transaction.atomic():
        record("person.view", actor=worker, target_type="cases.person", target_id="p-123")
        record("person.view", actor=stranger, target_type="cases.person", target_id="p-123")
        record("case.update", actor=worker, target_type="cases.case", target_id="c-1")
    assert client_for(worker).get("/accounts/audit/").status_code == 403
    assert client_for(make_user(Role.ANALYST, org)).get("/accounts/audit/").status_code == 403
    r = client_for(auditor).get("/accounts/audit/", {"target": "p-123", "viewed_only": "on"})
    assert r.status_code == 200
    body = r.content.decode()
    assert worker.username in body and stranger.username not in body and "case.update" not in body
    assert AuditEvent.objects.filter(action="audit.search", actor=auditor).exists()
    r = client_for(auditor).get("/accounts/audit/", {"user": worker.username, "action": "case.", "since": "2000-01-01"})
    assert "c-1" in r.content.decode()


def test_it_catches_a_rollback_to_an_older_copy_with_an_anchor_kept_outside(tmp_path: Any) -> None:
    """A database restored from an older copy (or rewritten with the key) has a consistent chain of its own:
    only an anchor kept outside the database shows that events were lost."""
    events = _chain(4)
    older_head = AuditHead.objects.values("last_id", "last_hash", "count", "mac").get(pk=1)
    with transaction.atomic():
        events.append(record("case.update", target_type="cases.case", target_id="late"))
    anchors = tmp_path / "anchors.jsonl"
    call_command("audit", "anchor", "--file", str(anchors), stdout=io.StringIO())
    # The rollback: the last event and the head go back to what the older copy held.
    _unlock()
    AuditEvent.objects.filter(pk=events[-1].pk).delete()
    AuditHead.objects.filter(pk=1).update(**older_head)
    assert verify().ok  # negative control: the chain alone cannot tell
    with pytest.raises(CommandError):
        call_command("audit", "verify", "--anchors", str(anchors))
    from phare.audit.log import verify_anchors

    assert "rolled back" in verify_anchors([json.loads(anchors.read_text("utf-8"))]).reason


def test_it_calls_a_wiped_log_broken_when_the_database_holds_records(make_user: Any, org: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from phare.audit import log
    from phare.cases import actions

    actions.open_case(make_user(Role.SUPERVISOR, org), person_data={"prs_FirstName": "Ama"})
    assert verify().ok
    _unlock()
    AuditEvent.objects.all().delete()
    AuditHead.objects.all().delete()
    v = verify()
    held = f"{Organisation.objects.count()} organisations, {User.objects.count()} users, 1 cases"
    assert v.ok is False and v.reason == f"the log is empty, but the database holds {held}: the log was wiped"
    with pytest.raises(CommandError):
        call_command("audit", "verify", stdout=io.StringIO(), stderr=io.StringIO())
    monkeypatch.setattr(log, "_held_records", lambda: "")  # negative control: without the check, "intact"
    assert verify().ok


def test_it_calls_an_organisation_with_cases_but_no_events_broken(make_user: Any, org: Any, other_org: Any) -> None:
    from datetime import date

    from phare.cases import actions
    from phare.cases.models import Case

    actions.open_case(make_user(Role.SUPERVISOR, org), person_data={"prs_FirstName": "Ama"})
    assert verify().ok
    # A case id unlike any organisation's id: the check must compare organisations, not rows.
    Case.objects.create(pk=other_org.pk + 1000, organisation=other_org, number="2024-000001", seq=1,
                        cas_OpenedDate=date(2024, 1, 1))  # fmt: skip
    v = verify()
    assert v.ok is False and v.reason == f"organisations [{other_org.pk}] hold cases but have no audit event"


def test_it_checks_each_organisations_own_chain(org: Any, other_org: Any, make_user: Any) -> None:
    a, b = make_user(Role.SUPERVISOR, org), make_user(Role.SUPERVISOR, other_org)
    with transaction.atomic():
        for actor in (a, b, a, a, b):
            record("case.update", actor=actor, target_type="cases.case", target_id="x")
    seqs = [(e.organisation_id, e.org_seq) for e in AuditEvent.objects.order_by("id")]
    assert seqs == [(org.pk, 1), (other_org.pk, 1), (org.pk, 2), (org.pk, 3), (other_org.pk, 2)]
    first_b = AuditEvent.objects.filter(organisation=other_org).order_by("id").first()
    assert first_b is not None and first_b.org_prev_hash == "0" * 64
    assert verify().ok
    # A writer that numbered an organisation's events wrongly (even with the key: re-MACed here) is caught.
    from phare.audit.log import _content, _digest, _head_mac

    _unlock()
    events = list(AuditEvent.objects.order_by("id"))
    prev = "0" * 64
    for e in events:
        if e.pk == events[3].pk:
            e.org_seq = 5
        e.prev_hash = prev
        e.hash = _digest(prev, _content(e))
        AuditEvent.objects.filter(pk=e.pk).update(org_seq=e.org_seq, prev_hash=e.prev_hash, hash=e.hash)
        prev = e.hash
    AuditHead.objects.filter(pk=1).update(last_hash=prev, mac=_head_mac(events[-1].pk, prev, len(events)))
    v = verify()
    assert not v.ok and "own chain" in v.reason and v.broken_at == events[3].pk


def test_it_binds_each_event_to_the_previous_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Swap two events and re-link every prev_hash, without the key: the MAC covers the previous hash, so the
    swapped events no longer verify. (If the MAC left the previous hash out, the re-linked chain would pass.)"""
    with transaction.atomic():  # events of no organisation: only the instance chain binds them
        events = [record("case.update", target_type="cases.case", target_id=str(i), detail={"i": i}) for i in range(4)]
    assert {e.org_seq for e in events} == {0}
    _unlock()
    fields = ("organisation_id", "actor_id", "actor_name", "action", "target_type", "target_id", "ip", "at",
              "detail", "hash", "org_seq", "org_prev_hash")  # fmt: skip
    rows = [AuditEvent.objects.values(*fields).get(pk=e.pk) for e in events]
    rows[1], rows[2] = rows[2], rows[1]
    prev = "0" * 64
    for e, row in zip(events, rows, strict=True):  # each row keeps its own MAC: the attacker has no key
        AuditEvent.objects.filter(pk=e.pk).update(**{**row, "hash": f"tmp{e.pk}"})
    for e, row in zip(events, rows, strict=True):
        AuditEvent.objects.filter(pk=e.pk).update(hash=row["hash"], prev_hash=prev)
        prev = row["hash"]
    v = verify()
    assert not v.ok and v.broken_at == events[1].pk


def test_it_calls_an_empty_instance_intact() -> None:
    assert not Organisation.objects.exists()
    v = verify()
    assert v.ok and v.checked == 0


def test_it_checks_anchors_against_an_intact_log_and_names_each_kind_of_loss() -> None:
    from phare.audit.log import GENESIS, anchor, verify_anchors

    empty = anchor()
    assert sorted(empty) == ["at", "count", "last_hash", "last_id"]
    assert (empty["last_id"], empty["last_hash"], empty["count"]) == (0, GENESIS, 0)
    events = _chain(4)
    first = anchor()
    head = AuditHead.objects.get(pk=1)
    assert (first["last_id"], first["last_hash"], first["count"]) == (head.last_id, head.last_hash, head.count)
    assert (first["last_id"], first["last_hash"], first["count"]) == (events[-1].id, events[-1].hash, 4)
    with transaction.atomic():
        record("case.update", target_type="cases.case", target_id="late")
    later = anchor()
    # An intact log holds every anchor taken (an anchor of the empty log says nothing and is passed over).
    v = verify_anchors([empty, first, later])
    assert v.ok is True and v.checked == 5 and v.broken_at is None
    # The anchored event is there but with another hash: the chain was rewritten by someone with the key.
    rewritten = {**first, "last_hash": "f" * 64}
    v = verify_anchors([empty, rewritten, later])
    assert (v.ok, v.checked, v.broken_at) == (False, 5, first["last_id"])
    assert v.reason == f"the log no longer holds the head anchored at {first['at']} (rolled back or rewritten)"
    # The anchored event and hash are there, but the log holds fewer events than when it was anchored.
    v = verify_anchors([{**later, "count": later["count"] + 1}])
    assert (v.ok, v.broken_at) == (False, later["last_id"])


def test_it_verifies_a_detail_whose_keys_come_back_in_another_order() -> None:
    """PostgreSQL's jsonb returns an object's keys in its own order: the hash must not depend on it."""
    with transaction.atomic():
        event = record("case.update", target_type="cases.case", target_id="1", detail={"z": 1, "a": {"y": 2, "b": 3}})
    _unlock()
    AuditEvent.objects.filter(pk=event.pk).update(detail={"a": {"b": 3, "y": 2}, "z": 1})
    assert verify().ok is True
    AuditEvent.objects.filter(pk=event.pk).update(detail={"a": {"b": 3, "y": 2}, "z": 2})
    assert verify().ok is False  # negative control: a changed value is still caught


def test_it_records_the_client_address(org: Any) -> None:
    from django.test import RequestFactory

    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.7")
    with transaction.atomic():
        event = record("org.update", organisation=org, request=request)
    assert AuditEvent.objects.get(pk=event.pk).ip == "203.0.113.7" and event.organisation_id == org.pk
    assert verify().ok is True
