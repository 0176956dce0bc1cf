"""The audit page in plain words: what happened with the record named as people know it, who by name, details
as labelled fields, filters by family of actions and by case number, fifty events a page, in the reader's language."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from phare.accounts.models import Role
from phare.audit.log import record
from phare.audit.words import ACTIONS, describe
from tests.test_cases_helpers import make_case

pytestmark = pytest.mark.django_db


def test_it_says_what_happened_to_which_case_and_who_did_it(make_user: Any, org: Any, client_for: Any) -> None:
    auditor = make_user(Role.AUDITOR, org)
    worker = make_user(Role.CASE_WORKER, org, first_name="Amina", last_name="Diallo")
    case = make_case(worker)
    with transaction.atomic():
        record("case.viewed", actor=worker, target=case)
    body = client_for(auditor).get("/accounts/audit/").content.decode()
    assert f"viewed case {case.number}" in body
    assert "Amina Diallo" in body and f"<bdi>{worker.username}</bdi>" in body
    assert str(case.uid) not in body.replace(f"?target={case.uid}", "")  # the uid only in the "this record" link
    assert "case.viewed" not in body  # no event codes


def test_it_shows_details_as_labelled_fields_and_roles_by_name(make_user: Any, org: Any, client_for: Any) -> None:
    admin = make_user(Role.ADMIN, org)
    worker = make_user(Role.CASE_WORKER, org)
    with transaction.atomic():
        record("user.permissions_changed", actor=admin, target=worker,
               detail={"before": {"role": "case_worker", "is_active": True},
                       "after": {"role": "supervisor", "is_active": True}, "password_reset": False})  # fmt: skip
    body = client_for(admin).get("/accounts/audit/").content.decode()
    assert f"changed the account of user {worker.username}" in body
    assert "<dt>Role</dt><dd><bdi>Case worker → Supervisor</bdi></dd>" in body
    assert "<dt>Password reset</dt><dd><bdi>no</bdi></dd>" in body
    assert "{&#x27;" not in body and "{'" not in body  # never a Python dict


def test_it_finds_a_cases_events_by_its_number_including_records_inside_it(make_user: Any, org: Any,
                                                                           client_for: Any) -> None:  # fmt: skip
    auditor = make_user(Role.AUDITOR, org)
    worker = make_user(Role.CASE_WORKER, org)
    case, other = make_case(worker), make_case(worker, first="Lina")
    with transaction.atomic():
        record("case.viewed", actor=worker, target=case)
        record("case.viewed", actor=worker, target=other)
        record("case.referral.viewed", actor=worker, target_type="cases.referral", target_id="r-1",
               detail={"case": case.number})  # fmt: skip
    r = client_for(auditor).get("/accounts/audit/", {"target": case.number})
    lines = r.context["lines"]
    assert {line.what for line in lines} >= {f"viewed case {case.number}", f"viewed a referral in case {case.number}"}
    assert all(other.number not in line.what for line in lines)


def test_it_filters_by_family_of_actions(make_user: Any, org: Any, client_for: Any) -> None:
    auditor = make_user(Role.AUDITOR, org)
    with transaction.atomic():
        record("signin", actor=auditor)
        record("user.language_set", actor=auditor, target=auditor)
    r = client_for(auditor).get("/accounts/audit/", {"action": "user."})
    assert [e.action for e in r.context["events"]] == ["user.language_set"]
    assert b'<option value="user." selected>User accounts</option>' in r.content


def test_it_pages_fifty_events_at_a_time_and_keeps_the_search(make_user: Any, org: Any, client_for: Any) -> None:
    auditor = make_user(Role.AUDITOR, org)
    with transaction.atomic():
        for _ in range(60):
            record("case.list_viewed", actor=auditor)
    client = client_for(auditor)
    first = client.get("/accounts/audit/", {"action": "case."})
    assert len(first.context["events"]) == 50 and b"action=case.&amp;page=2" in first.content
    second = client.get("/accounts/audit/", {"action": "case.", "page": 2})
    assert len(second.context["events"]) == 10
    assert not set(e.pk for e in first.context["events"]) & set(e.pk for e in second.context["events"])


def test_it_speaks_the_readers_language(make_user: Any, org: Any, client_for: Any) -> None:
    auditor = make_user(Role.AUDITOR, org, language="fr")
    worker = make_user(Role.CASE_WORKER, org)
    case = make_case(worker)
    with transaction.atomic():
        record("case.viewed", actor=worker, target=case)
    body = client_for(auditor).get("/accounts/audit/").content.decode()
    assert f"a consulté le dossier {case.number}" in body and "Journal d\u2019audit" in body


def test_it_shows_an_unknown_action_by_its_code_rather_than_hiding_it(make_user: Any, org: Any) -> None:
    worker = make_user(Role.CASE_WORKER, org)
    with transaction.atomic():
        event = record("something.new", actor=worker, target_type="x.y", target_id="7")
    assert describe([event])[0].what == "something.new (x.y 7)"


def test_it_has_words_for_every_action_the_code_records() -> None:
    """Each literal action passed to the audit log has a phrase (dynamic ones fall back to their code)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "phare"
    pattern = re.compile(r'\b(?:record|_audit|_read|_mfa_passed)\(\s*(?:request,\s*\w+,\s*)?"([a-z_]+(?:\.[a-z_]+)*)"')
    found = {m.group(1) for p in root.rglob("*.py") for m in pattern.finditer(p.read_text("utf-8"))}
    found -= {"cases.case", "cases.person"}  # target types passed positionally to _read
    assert len(found) > 60
    assert sorted(found - ACTIONS.keys()) == []


def test_it_has_a_label_for_every_detail_the_code_records() -> None:
    """Each key of a literal `detail={...}` passed to the audit log has a label, so that the page never shows
    "Names shown" in English to an Arabic reader (a key without a label falls back to its own words)."""
    import re
    from pathlib import Path

    from phare.audit.words import DETAIL_LABELS

    root = Path(__file__).resolve().parents[1] / "phare"
    keys = {k for p in root.rglob("*.py") for m in re.finditer(r"detail=\{(.*?)\}\)", p.read_text("utf-8"), re.S)
            for k in re.findall(r'"(\w+)":', m.group(1))}  # fmt: skip
    assert len(keys) > 40 and "names_shown" in keys
    assert sorted(keys - DETAIL_LABELS.keys()) == []
