"""The audit log: append-only, keyed hash chains (one per organisation, one for the instance) with MACed heads;
tampering is always detected, in logs written as one chain before chains per organisation too."""

from __future__ import annotations

import io
import json
import random
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phare.accounts.models import Organisation, Role, User
from phare.audit.log import INSTANCE, LEGACY, chain_of, record, verify
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


def _legacy_log(n: int, org: Organisation | None = None) -> list[AuditEvent]:
    """A log as written before chains per organisation: one chain across the instance (each event naming the one
    before it in id order, organisations' events numbered inside it) and its head, `global`."""
    from phare.audit.log import GENESIS, _content, _digest, _head_mac

    prev, events, seq = GENESIS, [], 0
    for i in range(n):
        e = AuditEvent(organisation=org if i % 2 else None, action="case.update", target_type="cases.case",
                       target_id=f"old-{i}", at=timezone.now(), detail={"i": i}, prev_hash=prev)  # fmt: skip
        if e.organisation_id:
            seq += 1
            e.org_seq, e.org_prev_hash = seq, (events[-2].hash if seq > 1 else GENESIS)
        e.hash = _digest(prev, _content(e))
        e.save()
        events.append(e)
        prev = e.hash
    AuditHead.objects.create(chain=LEGACY, last_id=events[-1].pk, last_hash=prev, count=n,
                             mac=_head_mac(events[-1].pk, prev, n))  # fmt: skip
    return events


def test_it_verifies_an_intact_chain_and_refuses_records_outside_a_transaction() -> None:
    events = _chain(5)
    v = verify()
    assert v.ok and v.checked == 6  # and the instance chain's note that the organisation's chain started
    head = AuditHead.objects.get(chain=chain_of(events[0].organisation_id))
    assert head.count == 5 and head.last_id == AuditEvent.objects.order_by("-id").first().id  # type: ignore[union-attr]
    assert head.organisation_id == events[0].organisation_id
    assert [e.org_seq for e in events] == [1, 2, 3, 4, 5] and all(e.prev_hash == e.org_prev_hash for e in events)
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
    chain = chain_of(events[0].organisation_id)
    _unlock()
    AuditEvent.objects.filter(pk=events[-1].pk).delete()
    v = verify()
    assert v.ok is False and v.reason == f"the chain {chain} is shorter or longer than its head records (truncated)"
    AuditHead.objects.filter(chain=chain).update(last_id=events[-2].pk, last_hash=events[-2].hash, count=5)
    v = verify()
    assert v.ok is False and v.reason == "the chain head was altered" and v.broken_at == events[-2].pk
    # A head deleted with events left: as broken as one altered.
    AuditHead.objects.filter(chain=chain).delete()
    v = verify()
    assert (v.ok, v.checked, v.reason) == (False, 6, f"the head of the chain {chain} is missing")
    AuditHead.objects.all().delete()
    assert verify().reason == f"the head of the chain {INSTANCE} is missing"


def test_it_reports_the_first_broken_link_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    events = _chain(8)
    call_command("audit", "verify")
    assert "intact: 9 events" in capsys.readouterr().out
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
    older_head = AuditHead.objects.values("last_id", "last_hash", "count", "mac").get(chain=INSTANCE)
    with transaction.atomic():
        events.append(record("case.update", target_type="cases.case", target_id="late"))
    anchors = tmp_path / "anchors.jsonl"
    call_command("audit", "anchor", "--file", str(anchors), stdout=io.StringIO())
    # The rollback: the last event and the head go back to what the older copy held.
    _unlock()
    AuditEvent.objects.filter(pk=events[-1].pk).delete()
    AuditHead.objects.filter(chain=INSTANCE).update(**older_head)
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
    seqs = [(e.organisation_id, e.org_seq) for e in AuditEvent.objects.exclude(organisation=None).order_by("id")]
    assert seqs == [(org.pk, 1), (other_org.pk, 1), (org.pk, 2), (org.pk, 3), (other_org.pk, 2)]
    first_b = AuditEvent.objects.filter(organisation=other_org).order_by("id").first()
    assert first_b is not None and first_b.org_prev_hash == "0" * 64
    started = AuditEvent.objects.filter(organisation=None, action="audit.chain_started").order_by("id")
    assert [(e.target_id, e.org_seq) for e in started] == [(str(org.pk), 1), (str(other_org.pk), 2)]
    assert verify().ok
    # A writer that numbered an organisation's events wrongly (even with the key: re-MACed here) is caught.
    from phare.audit.log import _content, _digest

    _unlock()
    events = list(AuditEvent.objects.filter(organisation=org).order_by("id"))
    e = events[1]
    e.org_seq = 5
    AuditEvent.objects.filter(pk=e.pk).update(org_seq=5, hash=_digest(e.prev_hash, _content(e)))
    v = verify()
    assert not v.ok and v.reason == f"the chain org:{org.pk} is broken: event 5 follows its event 1"
    assert v.broken_at == e.pk


def test_it_keeps_the_chains_of_two_organisations_apart_and_catches_one_removed_whole(
    org: Any, other_org: Any, make_user: Any
) -> None:
    from phare.audit import log

    a, b = make_user(Role.SUPERVISOR, org), make_user(Role.SUPERVISOR, other_org)
    with transaction.atomic():
        for actor in (a, b, a):
            record("case.update", actor=actor, target_type="cases.case", target_id="x")
    # Each organisation's events name only its own: b's first event starts from nothing, not from a's.
    a1, b1, a2 = AuditEvent.objects.exclude(organisation=None).order_by("id")
    assert (b1.prev_hash, a2.prev_hash) == (log.GENESIS, a1.hash)
    assert verify().ok
    # Organisation b's whole chain and its head taken out (b holds no case): each remaining chain is whole, but
    # the instance chain says b's chain was started.
    _unlock()
    AuditEvent.objects.filter(organisation=other_org).delete()
    AuditHead.objects.filter(chain=chain_of(other_org.pk)).delete()
    v = verify()
    assert not v.ok and v.reason == f"the instance chain does not name exactly the organisations' chains " \
                                    f"['org:{other_org.pk}']"  # fmt: skip
    # Negative control: each organisation's chain, checked on its own, is whole (b's is simply not there).
    assert log.verify_organisation(org.pk).ok and log.verify_organisation(other_org.pk).ok


def test_it_verifies_a_log_begun_as_one_chain_and_continued_per_organisation(org: Any, make_user: Any) -> None:
    old = _legacy_log(7, org)  # the organisation's events numbered 1 to 3 inside the single chain
    assert verify().ok
    worker = make_user(Role.SUPERVISOR, org)
    with transaction.atomic():
        new = [record("case.update", actor=worker, target_type="cases.case", target_id=str(i)) for i in range(3)]
        new.append(record("signin.failed", target_type="accounts.user", target_id="nobody"))
    # The organisation's chain goes on from the number the single chain gave it; the instance's starts anew (its
    # first event says the organisation's chain goes on outside the single chain).
    assert [e.org_seq for e in new] == [4, 5, 6, 2] and new[0].org_prev_hash == old[-2].hash
    assert verify().ok and verify().checked == 7 + 1 + 4
    # The single chain's last event (of no organisation) taken out: only that chain's head, kept as it was, shows it.
    _unlock()
    AuditEvent.objects.filter(pk=old[-1].pk).delete()
    assert verify().reason == "the chain is shorter or longer than its head records (truncated)"
    # One taken out of its middle: the next event names it.
    AuditEvent.objects.filter(pk=old[-3].pk).delete()
    v = verify()
    assert (v.reason, v.broken_at) == ("link to the previous event is broken (deleted, inserted or reordered rows)",
                                       old[-2].pk)  # fmt: skip


def test_it_binds_each_event_to_the_previous_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Swap two events and re-link every prev_hash, without the key: the MAC covers the previous hash, so the
    swapped events no longer verify. (If the MAC left the previous hash out, the re-linked chain would pass.)"""
    events = _legacy_log(4)  # events of no organisation in a log written as one chain: only the link binds them
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
    from phare.audit.log import anchor, verify_anchors

    empty = anchor()
    assert sorted(empty) == ["at", "heads"] and empty["heads"] == {}
    events = _chain(4)
    chain = chain_of(events[0].organisation_id)
    first = anchor()
    head = AuditHead.objects.get(chain=chain)
    assert first["heads"][chain] == {"last_id": head.last_id, "last_hash": head.last_hash, "count": head.count}
    assert first["heads"][chain] == {"last_id": events[-1].id, "last_hash": events[-1].hash, "count": 4}
    assert sorted(first["heads"]) == sorted([INSTANCE, chain])
    with transaction.atomic():
        record("case.update", target_type="cases.case", target_id="late")
    later = anchor()
    # An intact log holds every anchor taken (an anchor of the empty log says nothing and is passed over).
    v = verify_anchors([empty, first, later])
    assert v.ok is True and v.checked == 6 and v.broken_at is None
    # The anchored event is there but with another hash: the chain was rewritten by someone with the key.
    rewritten = {**first, "heads": {**first["heads"], chain: {**first["heads"][chain], "last_hash": "f" * 64}}}
    v = verify_anchors([empty, rewritten, later])
    assert (v.ok, v.checked, v.broken_at) == (False, 6, events[-1].id)
    assert (
        v.reason == f"the log no longer holds the head of {chain} anchored at {first['at']} (rolled back or rewritten)"
    )
    # The anchored event and hash are there, but the chain holds fewer events than when it was anchored.
    longer = {**later, "heads": {**later["heads"], chain: {**later["heads"][chain], "count": 5}}}
    v = verify_anchors([longer])
    assert (v.ok, v.broken_at) == (False, events[-1].id)


def test_it_checks_an_anchor_taken_of_a_log_written_as_one_chain() -> None:
    from phare.audit.log import verify_anchors

    events = _legacy_log(4)
    old = {"at": "2026-01-01T00:00:00+00:00", "last_id": events[-1].pk, "last_hash": events[-1].hash, "count": 4}
    assert verify_anchors([old]).ok
    assert not verify_anchors([{**old, "count": 5}]).ok


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
