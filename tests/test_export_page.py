"""The export of the case list's cases (`/data/export/`, `phare.imports.views.export`)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from python_calamine import CalamineWorkbook

from phare.accounts.models import Role
from phare.audit.models import AuditEvent
from phare.cases import actions
from phare.cases.models import Case
from tests.test_cases_helpers import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def three(org: Any, make_user: Any) -> dict[str, Any]:
    """A supervisor's organisation with two open cases and a closed one."""
    sup = make_user(Role.SUPERVISOR, org)
    worker = make_user(Role.CASE_WORKER, org)
    a = make_case(worker, first="Amaka", opened=date(2024, 1, 10))
    b = make_case(worker, first="Bola", opened=date(2024, 3, 1), context={"vic_TypeOfExploitation": ["SexualExploitation"]})
    c = make_case(sup, first="Chidi", opened=date(2024, 5, 1))
    actions.close_case(sup, c, reason="Safe")
    return {"sup": sup, "worker": worker, "a": a, "b": b, "c": c}


def _export(client: Client, fmt: str, **filters: str) -> Any:
    return client.post("/data/export/", {"format": fmt, **filters})


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def _csv_names(body: bytes) -> list[str]:
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    first = rows[0].index("prs_FirstName")
    return sorted(r[first] for r in rows[2:])  # row 1 names the fields, row 2 their labels, as in the template


def test_it_exports_the_filtered_list_in_each_format(three: dict[str, Any], client_for: Any, tmp_path: Path,
                                                     settings: Any) -> None:  # fmt: skip
    from phare.imports.actions import exports_root

    settings.DATA_DIR = tmp_path / "data"
    client = client_for(three["sup"])
    closed = _export(client, "csv", status="Closed")
    assert closed.status_code == 200
    assert closed["Content-Disposition"].startswith("attachment;") and closed["Cache-Control"] == "no-store"
    assert _csv_names(_body(closed)) == ["Chidi"]
    assert _csv_names(_body(_export(client, "csv", status="open", exploitation="SexualExploitation"))) == ["Bola"]
    assert _csv_names(_body(_export(client, "csv"))) == ["Amaka", "Bola", "Chidi"]  # no filter: the whole list
    bundles = json.loads(_body(_export(client, "json", opened_to="2024-02-01")))["bundles"]
    assert [b["case"]["id"] for b in bundles] == [three["a"].number]
    xlsx = tmp_path / "open.xlsx"
    xlsx.write_bytes(_body(_export(client, "xlsx", status="open")))
    rows = CalamineWorkbook.from_path(str(xlsx)).get_sheet_by_name("Case Sheet").to_python()
    first = rows[0].index("prs_FirstName")
    assert sorted(r[first] for r in rows[2:]) == ["Amaka", "Bola"]
    assert exports_root().is_dir() and not any(exports_root().rglob("*.*"))  # the file only lived while it was sent


def test_it_exports_an_empty_file_of_a_search_that_finds_nobody(three: dict[str, Any], client_for: Any) -> None:
    client = client_for(three["sup"])
    found = _export(client, "csv", q="Zebedee")  # nobody is called that: the list holds no case
    assert found.status_code == 200 and _csv_names(_body(found)) == []
    assert json.loads(_body(_export(client, "json", q="Zebedee")))["bundles"] == []


def test_it_records_who_exported_what_without_the_name_searched(three: dict[str, Any], client_for: Any) -> None:
    client = client_for(three["sup"])
    _body(_export(client, "csv", status="Closed"))
    _body(_export(client, "json", q="Chidi"))
    first, second = AuditEvent.objects.filter(action="export.cases").order_by("id")
    assert first.actor_id == three["sup"].pk and first.target_id == "csv"
    assert first.detail["cases"] == 1 and first.detail["filters"] == {"status": "Closed"}
    assert second.detail["cases"] == 1 and second.detail["filters"] == {"q": "(search)"}
    assert "Chidi" not in json.dumps(second.detail)  # an auditor reads the log, and must not read names in it


@pytest.mark.parametrize("role", [Role.CASE_WORKER, Role.HELPLINE, Role.ANALYST, Role.AUDITOR])
def test_it_refuses_roles_that_may_not_export(role: str, three: dict[str, Any], org: Any, make_user: Any,
                                              client_for: Any) -> None:  # fmt: skip
    client = client_for(make_user(role, org))
    assert _export(client, "csv").status_code == 403
    assert not AuditEvent.objects.filter(action="export.cases").exists()
    if role in (Role.CASE_WORKER, Role.HELPLINE):
        assert b"/data/export/" not in client.get("/cases/").content  # nor is the button offered
    assert b"/data/export/" in client_for(three["sup"]).get("/cases/").content


def test_it_refuses_an_unreadable_filter_rather_than_export_everything(three: dict[str, Any], client_for: Any) -> None:
    client = client_for(three["sup"])
    for post in ({"format": "csv", "opened_from": "last spring"}, {"format": "pdf"}, {}):
        response = client.post("/data/export/", post, follow=True)
        assert response.redirect_chain[-1][0] == "/cases/"
        assert b"The export was not made" in response.content
    assert not AuditEvent.objects.filter(action="export.cases").exists()


def test_it_carries_the_list_filters_into_the_export_form(three: dict[str, Any], client_for: Any) -> None:
    page = client_for(three["sup"]).get("/cases/?status=Closed&page=1").content.decode()
    form = page.split('action="/data/export/"', 1)[1].split("</form>", 1)[0]
    assert '<input type="hidden" name="status" value="Closed">' in form and 'name="page"' not in form


@pytest.mark.parametrize("filter_on", [True, False])
def test_it_exports_no_other_organisations_case(filter_on: bool, three: dict[str, Any], other_org: Any, make_user: Any,
                                                client_for: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from phare import access

    stranger = make_user(Role.SUPERVISOR, other_org)
    make_case(stranger, first="Zainab")
    monkeypatch.setattr(access, "ENFORCE_TENANT_FILTER", filter_on)  # off: shows this test catches a leak
    names = _csv_names(_body(_export(client_for(three["sup"]), "csv")))
    assert ("Zainab" in names) is not filter_on


def test_it_reimports_an_export_into_an_empty_organisation(three: dict[str, Any], other_org: Any, make_user: Any,
                                                           client_for: Any, tmp_path: Path) -> None:  # fmt: skip
    from phare.cases.models import Case

    first = tmp_path / "first.xlsx"
    first.write_bytes(_body(_export(client_for(three["sup"]), "xlsx", status="open")))
    make_user(Role.ADMIN, other_org)
    out = io.StringIO()
    call_command("import", str(first), "--org", other_org.slug, "--json", stdout=out)
    assert json.loads(out.getvalue())["created"] == 2
    assert Case.objects.filter(organisation=other_org).count() == 2
    second = tmp_path / "second.xlsx"
    second.write_bytes(_body(_export(client_for(make_user(Role.SUPERVISOR, other_org)), "xlsx")))

    def rows(path: Path) -> list[list[Any]]:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Case Sheet").to_python()
        # The case owner and the id column are each organisation's own.
        skip = {sheet[0].index("cas_CaseOwner"), len(sheet[0]) - 1}
        return sorted([v for i, v in enumerate(r) if i not in skip] for r in sheet[2:])

    assert rows(first) == rows(second)


@pytest.mark.django_db(transaction=True)
def test_it_writes_the_file_without_holding_a_transaction_and_never_unrecorded(org: Any, make_user: Any,
                                                                             monkeypatch: pytest.MonkeyPatch,
                                                                             tmp_path: Path) -> None:  # fmt: skip
    from django.db import transaction

    from phare.audit import log
    from phare.imports import actions as export_actions

    sup = make_user(Role.SUPERVISOR, org)
    make_case(sup)
    seen: list[bool] = []
    write = export_actions.EXPORT_FORMATS["csv"]

    def watched(bundles: Any, path: Path) -> int:
        seen.append(transaction.get_connection().in_atomic_block)
        return write(bundles, path)

    monkeypatch.setitem(export_actions.EXPORT_FORMATS, "csv", watched)
    out = tmp_path / "cases.csv"
    assert export_actions.export_cases(sup, Case.objects.all(), "csv", out) == 1 and out.exists()
    assert seen == [False]  # on SQLite a transaction is the write lock: the whole organisation would wait

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(log, "record", broken)
    with pytest.raises(RuntimeError):
        export_actions.export_cases(sup, Case.objects.all(), "csv", out)
    assert not out.exists()  # an export whose event could not be written is not left behind


def test_it_hands_a_large_export_to_the_worker_for_its_requester_only(three: dict[str, Any], org: Any, make_user: Any,
                                                                    client_for: Any, monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path, settings: Any) -> None:  # fmt: skip
    import os
    import time

    from phare.imports import actions as export_actions
    from phare.jobs import (
        handlers,  # noqa: F401  (registers the job kinds, as the worker does)
        queue,
    )
    from phare.jobs.models import Job

    settings.DATA_DIR = tmp_path / "data"
    monkeypatch.setattr(export_actions, "EXPORT_INLINE", 2)
    client = client_for(three["sup"])
    assert _csv_names(_body(_export(client, "csv", status="open"))) == ["Amaka", "Bola"]  # two: written at once
    queued = _export(client, "csv")  # three: more than the page writes while the person waits
    assert queued.status_code == 302
    page = queued["Location"]
    assert b'hx-trigger="every 2s"' in client.get(page).content
    assert AuditEvent.objects.filter(action="export.cases").count() == 1  # recorded when the file is written
    requested = AuditEvent.objects.get(action="export.requested")  # and the request, with the job it queued
    assert requested.actor_id == three["sup"].pk and requested.detail == {"format": "csv", "filters": {}}
    assert queue.drain() == 1
    assert "Download the file (3 cases)" in client.get(page).content.decode()
    colleague = client_for(make_user(Role.SUPERVISOR, org))  # same organisation, same role: still not theirs
    assert colleague.get(page).status_code == 404 and colleague.get(page + "file").status_code == 404
    assert _csv_names(_body(client.get(page + "file"))) == ["Amaka", "Bola", "Chidi"]
    assert client.get(page + "file").status_code == 404  # once only
    assert "downloaded or has expired" in client.get(page).content.decode()
    event = AuditEvent.objects.filter(action="export.cases").latest("id")
    assert event.actor_id == three["sup"].pk and event.detail["cases"] == 3
    # A file nobody fetched within the hour is deleted when asked for, as by retention.
    client.post("/data/export/", {"format": "json"})
    queue.drain()
    stale = export_actions.export_file_of(Job.objects.filter(kind="export.cases").latest("id"))
    os.utime(stale.path, (time.time() - 7200, time.time() - 7200))
    assert client.get(f"/data/export/{Job.objects.filter(kind='export.cases').latest('id').pk}/file").status_code == 404
    assert not stale.exists()
