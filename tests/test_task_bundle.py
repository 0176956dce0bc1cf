"""Tasks travel in the case bundle under the extension key `x_phare_tasks` (issue 18): the JSON export writes
them, an import reads them back (assigned to someone who may work the new case), the API's bundle carries them
for a token that may read tasks, and the bundle still validates, against the validator and the JSON Schema."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.core.management import call_command
from django.test import Client

from htcds.schema import bundle_schema
from htcds.validation import validate_bundle
from phare.accounts.models import Organisation, Role, User
from phare.cases.models import Case
from phare.work.actions import tasks as task_actions
from phare.work.models import Task
from tests.test_api import V1, bearer, token_for
from tests.work_helpers import team, today, yesterday

pytestmark = pytest.mark.django_db


def _tasks(t: dict[str, Any]) -> tuple[Task, Task]:
    worker, case = t[Role.CASE_WORKER], t["case"]
    first = task_actions.create_task(worker, case, title="Call the embassy", assignee=worker, due=yesterday(),
                                     notes="Ask for Ms Obi")  # fmt: skip
    second = task_actions.create_task(t[Role.SUPERVISOR], case, title="Book an interpreter", assignee=t[Role.SUPERVISOR],
                                      due=today())  # fmt: skip
    task_actions.complete_task(t[Role.SUPERVISOR], second)
    return first, second


def _export(slug: str, out: Path) -> list[dict[str, Any]]:
    call_command("export", "json", "--org", slug, "--out", str(out), stdout=io.StringIO())
    return list(json.loads(out.read_text("utf-8"))["bundles"])


def test_it_exports_the_tasks_in_the_bundle_and_the_bundle_stays_valid(tmp_path: Path) -> None:
    t = team()
    first, second = _tasks(t)
    bundles = {b["case"]["id"]: b for b in _export("alpha", tmp_path / "out.json")}
    tasks = bundles[t["case"].number]["x_phare_tasks"]
    assert tasks == [
        {"id": str(first.uid), "title": "Call the embassy", "notes": "Ask for Ms Obi", "due": yesterday().isoformat(),
         "assignee": t[Role.CASE_WORKER].username},
        {"id": str(second.uid), "title": "Book an interpreter", "due": today().isoformat(),
         "assignee": t[Role.SUPERVISOR].username, "done": today().isoformat()},
    ]  # fmt: skip
    assert "x_phare_tasks" not in bundles[t["other_case"].number]
    for bundle in bundles.values():
        assert validate_bundle(bundle) == []
        jsonschema.Draft202012Validator(bundle_schema()).validate(bundle)


def test_it_refuses_a_task_without_its_due_date_or_with_a_field_it_does_not_know() -> None:
    bundle = {"case": {"cas_Status": "Active"}, "x_phare_tasks": [{"title": "x", "due": "2024-13-01", "colour": "red"},
                                                                   {"title": "y"}]}  # fmt: skip
    codes = sorted((p.code, p.path) for p in validate_bundle(bundle))
    assert codes == [("invalid-date", "x_phare_tasks[0].due"), ("missing-required", "x_phare_tasks[1].due"),
                     ("unknown-field", "x_phare_tasks[0].colour")]  # fmt: skip


def test_it_imports_the_tasks_of_an_export_for_someone_who_may_work_the_case(tmp_path: Path) -> None:
    t = team()
    _tasks(t)
    path = tmp_path / "out.json"
    _export("alpha", path)
    other = Organisation.objects.create(org_Name="Second NGO", slug="second-ngo")
    User.objects.create_user("admin2", password="x-long-password-2", organisation=other, role=Role.ADMIN)
    out = io.StringIO()
    call_command("import", str(path), "--org", "second-ngo", "--json", stdout=out)
    assert json.loads(out.getvalue())["created"] == 2
    tasks = list(Task.objects.filter(organisation=other).select_related("case", "assignee").order_by("due"))
    assert [(x.title, x.notes or "", x.due, x.done_at is not None) for x in tasks] == [
        ("Call the embassy", "Ask for Ms Obi", yesterday(), False), ("Book an interpreter", "", today(), True)]
    # The usernames belong to the first organisation: here the work goes to each case's owner.
    for x in tasks:
        assert x.assignee == x.case.cas_CaseOwner and x.assignee.organisation_id == other.pk
    assert Case.objects.filter(organisation=other).count() == 2
    # Exported again, the tasks come back the same (ids and users are each organisation's own).
    again = _export("second-ngo", tmp_path / "again.json")
    titles = [(x["title"], x["due"], "done" in x) for b in again for x in b.get("x_phare_tasks", [])]
    assert titles == [("Call the embassy", yesterday().isoformat(), False), ("Book an interpreter", today().isoformat(), True)]


def test_it_serves_the_tasks_in_the_api_bundle_only_with_the_tasks_scope() -> None:
    t = team()
    first, _second = _tasks(t)
    worker, case = t[Role.CASE_WORKER], t["case"]
    api = Client()
    url = f"{V1}/cases/{case.uid}/bundle"
    plain = api.get(url, **bearer(token_for(worker, ["cases:read", "persons:read"]))).json()
    assert "x_phare_tasks" not in plain
    body = api.get(url, **bearer(token_for(worker, ["cases:read", "persons:read", "tasks:read"]))).json()
    assert [x["title"] for x in body["x_phare_tasks"]] == ["Call the embassy", "Book an interpreter"]
    assert body["x_phare_tasks"][0]["id"] == str(first.uid)
    jsonschema.Draft202012Validator(bundle_schema()).validate(body)
