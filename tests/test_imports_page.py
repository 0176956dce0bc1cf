"""The import pages: upload → dry run in the worker → read the check → confirm → import in the worker; rejected
rows to download; the mapping page; and who may do any of it."""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from phare import access
from phare.accounts.models import Role
from phare.jobs import (
    handlers,  # noqa: F401  (registers the job kinds, as the worker does)
    queue,
)
from tests.fixtures.sources import big_template_rows, write_csv

pytestmark = pytest.mark.django_db


def _csv(tmp_path: Path, n: int, bad_row: int | None = None) -> SimpleUploadedFile:
    rows = list(big_template_rows(n))
    if bad_row is not None:
        rows[bad_row + 2][rows[0].index("prs_Gender")] = "Femnine!"
    path = write_csv(tmp_path / "cases.csv", rows)
    return SimpleUploadedFile("cases.csv", path.read_bytes(), content_type="text/csv")


def _upload(client: Any, file: Any, **data: Any) -> int:
    r = client.post("/data/import/", {"file": file, **data})
    assert r.status_code == 302, r.content[:500]
    return int(r["Location"].rstrip("/").rsplit("/", 1)[1])


def test_it_checks_a_file_before_importing_it_and_shows_progress_until_done(org: Any, make_user: Any,
                                                                              client_for: Any, tmp_path: Path) -> None:  # fmt: skip
    from phare.audit.models import AuditEvent
    from phare.cases.models import Case

    client = client_for(make_user(Role.SUPERVISOR, org))
    pk = _upload(client, _csv(tmp_path, 6))
    page = client.get(f"/data/import/{pk}/")
    assert b'hx-trigger="every 2s"' in page.content and b"http-equiv=\"refresh\"" in page.content  # polls, with or without JS
    assert queue.drain() == 1
    assert Case.objects.filter(organisation=org).count() == 0  # a check writes nothing
    page = client.get(f"/data/import/{pk}/", headers={"HX-Request": "true"})
    assert b"every 2s" not in page.content and b"Import now" in page.content
    assert b"<td>6</td>" in page.content  # six new cases would be created
    r = client.post(f"/data/import/{pk}/confirm/")
    real = int(r["Location"].rstrip("/").rsplit("/", 1)[1])
    assert queue.drain() == 1
    assert Case.objects.filter(organisation=org).count() == 6
    assert b"What the import did" in client.get(f"/data/import/{real}/").content
    assert {"import.upload", "import.confirm", "import.run"} <= set(AuditEvent.objects.values_list("action", flat=True))
    from phare.imports.actions import file_of
    from phare.jobs.models import Job

    assert not file_of(Job.objects.get(pk=real)).exists()  # the clear-text upload is deleted once imported


def test_it_sets_rejected_rows_aside_for_download(org: Any, make_user: Any, client_for: Any, tmp_path: Path) -> None:
    import csv
    import io

    from django.utils import translation

    from htcds.validation import CODES
    from phare.audit.models import AuditEvent
    from phare.jobs.models import Job

    client = client_for(make_user(Role.SUPERVISOR, org))
    pk = _upload(client, _csv(tmp_path, 4, bad_row=1), mode="skip-bad")
    queue.drain()
    assert not AuditEvent.objects.filter(action="import.viewed").exists()
    assert b"Femnine!" in client.get(f"/data/import/{pk}/").content  # the row, the value and the fix are shown
    # The report shows values typed about people: reading it is recorded, as reading a case is.
    assert AuditEvent.objects.filter(action="import.viewed", target_id=str(pk)).count() == 1
    real = int(client.post(f"/data/import/{pk}/confirm/")["Location"].rstrip("/").rsplit("/", 1)[1])
    queue.drain()
    body = b"".join(client.get(f"/data/import/{real}/rejected-rows.csv").streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(body)))
    # The file's own header rows and the rejected row as typed, with where it came from and what is wrong with it.
    head = list(big_template_rows(0))
    assert rows[0] == [*head[0], "phare_row", "phare_problems"] and rows[1][: len(head[1])] == head[1]
    (bad,) = rows[2:]
    assert bad[head[0].index("prs_Gender")] == "Femnine!" and bad[-2] == "4"
    assert "(prs_Gender)" in bad[-1] and "is not one of the value names" in bad[-1] and "(fix: Feminine)" in bad[-1]
    client.post("/language/", {"language": "es"})
    response = client.get(f"/data/import/{real}/rejected-rows.csv")
    translation.activate("en")  # the server may stream the rows after the request's language is gone
    spanish = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    with translation.override("es"):
        sentence, fix = translation.gettext(CODES["invalid-choice"]), translation.gettext("fix")
    assert sentence != CODES["invalid-choice"] and f"{sentence} ({fix}: Feminine)" in spanish
    assert "is not one of" not in spanish and next(csv.reader(io.StringIO(spanish))) == rows[0]
    # Its values come from the people in the file: each download is a read in the audit log.
    assert AuditEvent.objects.filter(action="import.rejected_rows_read", target_id=str(real)).count() == 2
    # Corrected, the same file goes back in: the row is imported and the added columns raise no warning.
    bad[head[0].index("prs_Gender")] = "Feminine"
    fixed = io.StringIO()
    csv.writer(fixed).writerows([rows[0], rows[1], bad])
    again = _upload(client, SimpleUploadedFile("fixed.csv", fixed.getvalue().encode(), content_type="text/csv"))
    queue.drain()
    from phare.imports.actions import result_of

    result = result_of(Job.objects.get(pk=again))
    errors = [p for p in result["file_problems"] if p["severity"] == "error"]
    assert (result["created"], result["rejected"], errors) == (1, 0, [])


def test_it_refuses_to_import_an_all_or_nothing_file_with_rejected_rows(org: Any, make_user: Any, client_for: Any,
                                                                        tmp_path: Path) -> None:  # fmt: skip
    from phare.jobs.models import Job

    client = client_for(make_user(Role.SUPERVISOR, org))
    pk = _upload(client, _csv(tmp_path, 3, bad_row=0))
    queue.drain()
    r = client.post(f"/data/import/{pk}/confirm/", follow=True)
    assert b"all-or-nothing" in r.content and Job.objects.filter(kind="import.file").count() == 1
    client.post("/language/", {"language": "fr"})
    r = client.post(f"/data/import/{pk}/confirm/", follow=True)  # the refusal in the reader's language
    assert "cet import est « tout ou rien »" in r.content.decode() and b"all-or-nothing" not in r.content


def test_it_hides_other_organisations_imports_and_refuses_roles_without_import(
    org: Any, other_org: Any, make_user: Any, client_for: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = client_for(make_user(Role.SUPERVISOR, org))
    pk = _upload(mine, _csv(tmp_path, 2))
    queue.drain()
    theirs = client_for(make_user(Role.SUPERVISOR, other_org))
    assert theirs.get(f"/data/import/{pk}/").status_code == 404  # "not found", as for an id that does not exist
    assert theirs.get("/data/import/999999/").status_code == 404
    assert theirs.post(f"/data/import/{pk}/confirm/").status_code == 404
    assert b"cases.csv" not in theirs.get("/data/import/").content
    for role in (Role.CASE_WORKER, Role.ANALYST, Role.AUDITOR, Role.HELPLINE):
        assert client_for(make_user(role, org)).get("/data/import/").status_code == 403, role
    monkeypatch.setattr(access, "ENFORCE_TENANT_FILTER", False)
    assert theirs.get(f"/data/import/{pk}/").status_code == 200  # negative control: the access layer is what stops it


def test_it_proposes_a_mapping_saves_it_and_imports_with_it(org: Any, make_user: Any, client_for: Any,
                                                             tmp_path: Path) -> None:  # fmt: skip
    from phare.cases.models import Case
    from phare.imports.models import SavedMapping

    client = client_for(make_user(Role.SUPERVISOR, org))
    legacy = "Ref,Given name,Surname,Sex,Date of birth,Nationality\nA1,Amaka,Obi,female,03/02/1990,Nigeria\n" \
             "A2,Efosa,Ade,male,25/12/1985,Ghana\n"  # fmt: skip
    page = client.post("/data/import/mapping/", {"file": SimpleUploadedFile("legacy.csv", legacy.encode())})
    body = page.content.decode()
    assert 'value="prs_Gender"' in body and 'value="prs_Birthdate"' in body and 'value="id"' in body
    # The user corrects one proposal and keeps the rest, as the form posts them back.
    import re

    form = {"save": "1", "name": "Old shelter sheet", "header": re.findall(r'name="header" value="([^"]*)"', body)}
    for i, value in enumerate(re.findall(r'name="field-\d+" value="([^"]*)"', body)):
        form[f"field-{i}"] = value
    for i, value in enumerate(re.findall(r'name="proposal-\d+" value="([^"]*)"', body)):
        form[f"proposal-{i}"] = value.replace("&quot;", '"')
    form["field-5"] = "prs_Citizenship"
    r = client.post("/data/import/mapping/", form)
    assert r.status_code == 302, r.content[:2000]
    saved = SavedMapping.objects.get(organisation=org, name="Old shelter sheet")
    assert "prs_Citizenship" in saved.body and "id_column: Ref" in saved.body
    pk = _upload(client, SimpleUploadedFile("legacy.csv", legacy.encode()), mapping=saved.pk)
    queue.drain()
    client.post(f"/data/import/{pk}/confirm/")
    queue.drain()
    assert Case.objects.filter(organisation=org).count() == 2
    form["field-1"] = "prs_FirstNam"  # a typo: a clear message, nothing saved
    r = client.post("/data/import/mapping/", {**form, "name": "Typo"})
    assert r.status_code == 422 and b"prs_FirstName" in r.content
    assert not SavedMapping.objects.filter(name="Typo").exists()


def test_it_takes_a_lease_for_the_whole_file_before_an_all_or_nothing_import(org: Any, make_user: Any, client_for: Any,
                                                                             tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Inside one transaction, lease renewals are invisible to other workers: the lease is taken up front."""
    from datetime import timedelta

    from django.utils import timezone

    from phare.imports import jobs
    from phare.jobs.models import Job

    client = client_for(make_user(Role.SUPERVISOR, org))
    pk = _upload(client, _csv(tmp_path, 5))
    queue.drain()
    real = int(client.post(f"/data/import/{pk}/confirm/")["Location"].rstrip("/").rsplit("/", 1)[1])
    seen: dict[str, Any] = {}
    original = jobs.run_import

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen["lease"] = Job.objects.get(pk=real).lease_until
        return original(*args, **kwargs)

    monkeypatch.setattr(jobs, "run_import", spy)
    monkeypatch.setattr(jobs, "SECONDS_PER_ROW", timedelta(hours=1))  # 5 rows: 5 hours, unmistakable
    queue.drain()
    assert seen["lease"] > timezone.now() + timedelta(hours=4)


def test_it_deletes_uploads_nobody_imported_when_retention_runs(org: Any, make_user: Any, client_for: Any,
                                                                 tmp_path: Path, settings: Any) -> None:  # fmt: skip
    import os
    import time

    from phare.imports.actions import exports_root, file_of
    from phare.jobs.models import Job
    from phare.ops.actions import run_retention

    settings.DATA_DIR = tmp_path / "data"
    client = client_for(make_user(Role.SUPERVISOR, org))
    old = Job.objects.get(pk=_upload(client, _csv(tmp_path, 2)))
    fresh = Job.objects.get(pk=_upload(client, _csv(tmp_path, 2)))
    week_ago = time.time() - 8 * 86400
    os.utime(file_of(old).parent, (week_ago, week_ago))
    assert run_retention(org, dry_run=True)["due"] == 0 and file_of(old).exists()  # a dry run deletes nothing
    # An export file left by a crash between writing and sending it (sent ones are unlinked at once).
    left, recent = exports_root() / str(org.pk) / "crashed.csv", exports_root() / str(org.pk) / "sending.csv"
    left.parent.mkdir(parents=True)
    left.write_text("prs_FirstName\nAmaka\n")
    recent.write_text("prs_FirstName\nBola\n")
    os.utime(left, (time.time() - 7200, time.time() - 7200))
    summary = run_retention(org)
    assert summary["uploads_deleted"] == 2 and not file_of(old).exists() and file_of(fresh).exists()
    assert not left.exists() and recent.exists()


def test_it_deletes_a_discarded_upload_once_the_discard_is_recorded(org: Any, make_user: Any, client_for: Any,
                                                                    tmp_path: Path,
                                                                    django_capture_on_commit_callbacks: Any) -> None:  # fmt: skip
    from phare.audit.models import AuditEvent
    from phare.imports.actions import file_of
    from phare.jobs.models import Job

    client = client_for(make_user(Role.SUPERVISOR, org))
    job = Job.objects.get(pk=_upload(client, _csv(tmp_path, 2)))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/data/import/{job.pk}/discard/")
    assert not file_of(job).exists() and AuditEvent.objects.filter(action="import.discard").exists()


def test_it_shows_how_far_an_all_or_nothing_import_got(org: Any, make_user: Any, client_for: Any, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Its progress cannot go through the job's row (its own transaction hides it): it goes through a file, which
    the page reads while the import runs, out of the number of rows its check counted."""
    from phare.imports import actions, jobs, service
    from phare.jobs.models import Job

    client = client_for(make_user(Role.SUPERVISOR, org))
    pk = _upload(client, _csv(tmp_path, 250))
    queue.drain()
    real = int(client.post(f"/data/import/{pk}/confirm/")["Location"].rstrip("/").rsplit("/", 1)[1])
    seen: list[bytes] = []
    run_import = service.run_import

    def watched(*args: Any, **kwargs: Any) -> Any:
        def progress(n: int) -> None:
            kwargs_progress(n)
            if n == 200:  # mid-import, as the page sees it from another request
                seen.append(client.get(f"/data/import/{real}/", headers={"HX-Request": "true"}).content)

        kwargs_progress = kwargs["progress"]
        return run_import(*args, **{**kwargs, "progress": progress})

    monkeypatch.setattr(jobs, "run_import", watched)
    monkeypatch.setattr(jobs, "monotonic", itertools.count(0, 5).__next__)  # every call a new second
    assert queue.drain() == 1
    assert b"200 of 250 rows" in seen[0] and b'max="250" value="200"' in seen[0]
    assert not actions.progress_file_of(Job.objects.get(pk=real)).exists()  # gone with the import


def test_it_explains_rejected_values_in_the_users_language(org: Any, make_user: Any, client_for: Any,
                                                          tmp_path: Path) -> None:  # fmt: skip
    from django.utils import translation

    from htcds.validation import CODES

    user = make_user(Role.SUPERVISOR, org)
    user.language = "fr"
    user.save()
    client = client_for(user)
    pk = _upload(client, _csv(tmp_path, 3, bad_row=0))
    queue.drain()
    page = client.get(f"/data/import/{pk}/").content.decode()
    with translation.override("fr"):
        sentence = translation.gettext(CODES["invalid-choice"])
    assert sentence != CODES["invalid-choice"]  # there is a French sentence to show
    assert "Femnine!" in page and sentence in page  # the value as typed, and what is wrong with it, in French
    assert "is not one of" not in page  # not htcds's English message
    user.language = "en"
    user.save()
    assert "is not one of" in client.get(f"/data/import/{pk}/").content.decode()  # English keeps the detailed one


def test_it_keeps_a_mapping_problems_detail_beside_its_translated_sentence() -> None:
    from django.utils import translation

    from phare.core.problems import problem_message

    detail = "The mapping names column 'Sexe', which the file does not have."
    with translation.override("pt"):
        shown = problem_message("invalid-mapping", detail, detail=True)
        assert shown.startswith(translation.gettext("The mapping file is not valid.")) and detail in shown
        assert problem_message("no-such-code", detail) == detail  # a code without a sentence keeps its message
    with translation.override("en"):
        assert problem_message("invalid-mapping", detail, detail=True) == detail


def test_it_offers_the_blank_template_and_the_xlsform_to_collect_with(org: Any, make_user: Any, client_for: Any,
                                                                      tmp_path: Path) -> None:  # fmt: skip
    from python_calamine import CalamineWorkbook
    from pyxform.xls2xform import convert

    from htcds.sources.layout import TEMPLATE_FIELDS

    client = client_for(make_user(Role.SUPERVISOR, org))
    page = client.get("/data/import/").content.decode()
    assert 'href="/data/import/blank/template.xlsx"' in page and 'href="/data/import/blank/xlsform.xlsx?fields=all"' in page
    blank = client.get("/data/import/blank/template.xlsx")
    assert blank["Content-Disposition"] == 'attachment; filename="htcds-template.xlsx"'
    (tmp_path / "blank.xlsx").write_bytes(blank.content)
    assert tuple(CalamineWorkbook.from_path(str(tmp_path / "blank.xlsx")).get_sheet_by_name("Case Sheet").to_python()[0]) \
        == TEMPLATE_FIELDS  # fmt: skip
    for query, extended in (("", False), ("?fields=all", True)):
        form = tmp_path / f"form{len(query)}.xlsx"
        form.write_bytes(client.get(f"/data/import/blank/xlsform.xlsx{query}").content)
        warnings: list[str] = []
        xform = convert(xlsform=str(form), warnings=warnings).xform  # converts as KoBoToolbox and ODK would
        assert "/prs_FirstName" in xform and ("/prs_HighestLevelOfEducation" in xform) is extended and warnings == []
    assert client.get("/data/import/blank/other.xlsx").status_code == 404
    assert client_for(make_user(Role.ANALYST, org)).get("/data/import/blank/template.xlsx").status_code == 403


def test_it_links_each_possible_duplicate_to_the_cases_to_compare(org: Any, make_user: Any, client_for: Any,
                                                                  tmp_path: Path) -> None:  # fmt: skip
    import re

    from phare.cases.models import Case

    client = client_for(make_user(Role.SUPERVISOR, org))
    first = _upload(client, _csv(tmp_path, 2))
    queue.drain()
    client.post(f"/data/import/{first}/confirm/")
    queue.drain()
    earlier = sorted(Case.objects.filter(organisation=org).values_list("number", flat=True))
    # The same two people again, under ids of another system: new rows, people already recorded.
    rows = list(big_template_rows(2))
    rows = [r + (["id"] if i == 0 else [""] if i == 1 else [f"X{i}"]) for i, r in enumerate(rows)]
    again = SimpleUploadedFile("again.csv", write_csv(tmp_path / "again.csv", rows).read_bytes(), content_type="text/csv")
    dry = _upload(client, again)
    queue.drain()
    page = client.get(f"/data/import/{dry}/").content.decode()
    compared = re.findall(r"compare with ((?:<a href=\"/cases/[\d-]+/\">[\d-]+</a>(?:, )?)+)", page)
    assert len(compared) == 2 and sorted(re.findall(r">([\d-]+)</a>", "".join(compared))) == earlier
    real = int(client.post(f"/data/import/{dry}/confirm/")["Location"].rstrip("/").rsplit("/", 1)[1])
    queue.drain()
    page = client.get(f"/data/import/{real}/").content.decode()
    made = sorted(set(Case.objects.filter(organisation=org).values_list("number", flat=True)) - set(earlier))
    assert len(made) == 2 and all(f'<a href="/cases/{n}/">{n}</a>: ' in page for n in made)  # and the case it became


def test_it_lets_only_roles_that_import_download_the_rejected_rows(org: Any, make_user: Any, client_for: Any,
                                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    supervisor = client_for(make_user(Role.SUPERVISOR, org))
    pk = _upload(supervisor, _csv(tmp_path, 4, bad_row=1), mode="skip-bad")
    queue.drain()
    real = int(supervisor.post(f"/data/import/{pk}/confirm/")["Location"].rstrip("/").rsplit("/", 1)[1])
    queue.drain()
    url = f"/data/import/{real}/rejected-rows.csv"
    assert supervisor.get(url).status_code == 200
    colleagues = {role: client_for(make_user(role, org)) for role in (Role.CASE_WORKER, Role.HELPLINE, Role.ANALYST,
                                                                      Role.AUDITOR)}  # fmt: skip
    for role, client in colleagues.items():
        assert client.get(url).status_code == 403, role
    # Negative control: with the permission check answering yes to everyone, a case worker reads the file.
    from phare.accounts import permissions

    monkeypatch.setattr(permissions, "can", lambda user, perm: True)
    r = colleagues[Role.CASE_WORKER].get(url)
    assert r.status_code == 200 and b"Femnine!" in b"".join(r.streaming_content)  # type: ignore[attr-defined]


def test_it_answers_a_damaged_mapping_form_with_a_message_never_a_500(org: Any, make_user: Any,
                                                                       client_for: Any) -> None:  # fmt: skip
    """The mapping page's hidden fields come back as the page wrote them, or the form is refused whole."""
    from phare.imports.models import SavedMapping

    client = client_for(make_user(Role.SUPERVISOR, org))
    form = {"save": "1", "name": "Edited", "header": ["Ref", "Sex"], "field-0": "id", "field-1": "prs_Gender"}
    for proposal in ("{not json", "[1, 2]", '{"field": "prs_Gender", "values": "female"}', "[" * 100_000,
                     '{"field": 3}'):  # fmt: skip
        r = client.post("/data/import/mapping/", {**form, "proposal-0": "{}", "proposal-1": proposal})
        assert r.status_code == 400, (proposal[:20], r.status_code)
        assert b"came back damaged" in r.content
    assert not SavedMapping.objects.filter(name="Edited").exists()
    r = client.post("/data/import/mapping/", {**form, "proposal-0": "{}", "proposal-1": '{"field": "prs_Gender"}'})
    assert r.status_code == 302 and SavedMapping.objects.filter(name="Edited").exists()
    # A mapping chosen on upload by a number that is not one is "not found", not a crash.
    assert client.post("/data/import/", {"file": SimpleUploadedFile("a.csv", b"x\n1\n"), "mapping": "x'"}).status_code == 404


def test_it_refuses_a_csv_field_over_the_limit_with_a_clear_message_on_both_pages(org: Any, make_user: Any,
                                                                                  client_for: Any, tmp_path: Path) -> None:  # fmt: skip
    """A 300,000-character field: the mapping page says which limit, and the check of an upload reports it as the
    file's problem; neither answers 500 nor shows a traceback."""
    from phare.cases.models import Case

    client = client_for(make_user(Role.SUPERVISOR, org))
    body = ("Ref,Name,Notes\nA1,Ana," + "z" * 300_000 + "\n").encode()
    page = client.post("/data/import/mapping/", {"file": SimpleUploadedFile("legacy.csv", body)})
    assert page.status_code == 200
    assert b"PHARE_IMPORT_MAX_CELL_CHARS" in page.content and b"Traceback" not in page.content
    rows = list(big_template_rows(4_500))
    rows[4_002][rows[0].index("prs_SecondName")] = "y" * 300_000  # after thousands of good rows
    path = write_csv(tmp_path / "cases.csv", rows)
    pk = _upload(client, SimpleUploadedFile("cases.csv", path.read_bytes()))
    queue.drain()
    from phare.imports.actions import result_of
    from phare.jobs.models import Job

    assert result_of(Job.objects.get(pk=pk))["created"] > 0  # rows before the long cell were read
    page = client.get(f"/data/import/{pk}/")
    assert page.status_code == 200
    assert b"PHARE_IMPORT_MAX_CELL_CHARS" in page.content and b"Import now" not in page.content
    assert b"cannot be imported as it is" in page.content
    client.post(f"/data/import/{pk}/confirm/")  # the first row read well: still nothing may be imported
    assert queue.drain() == 0
    assert Case.objects.filter(organisation=org).count() == 0


def test_it_asks_once_per_organisation_the_directory_does_not_hold_and_imports_as_chosen(
        org: Any, make_user: Any, client_for: Any, other_org: Any, tmp_path: Path) -> None:  # fmt: skip
    """tests/fixtures/files/directory_names.csv names "Shelter for woman" (a slip for a directory entry), "border
    police" (the entry, in other letters), "Green Valley Farm" twice (new) and "Red Cross branch" (to leave out)."""
    import json

    from django.core.management import call_command

    from phare.audit.models import AuditEvent
    from phare.cases.models import ExternalOrganisation

    shelter = ExternalOrganisation.objects.create(organisation=org, org_Name="Shelter for women")
    ExternalOrganisation.objects.create(organisation=org, org_Name="Border Police")
    theirs = ExternalOrganisation.objects.create(organisation=other_org, org_Name="Other's partner")
    admin = make_user(Role.ADMIN, org)
    client = client_for(admin)
    data = (Path(__file__).resolve().parent / "fixtures" / "files" / "directory_names.csv").read_bytes()
    pk = _upload(client, SimpleUploadedFile("directory_names.csv", data, content_type="text/csv"))
    queue.drain()
    page = client.get(f"/data/import/{pk}/").content.decode()
    names = [n for n in ("Shelter for woman", "Green Valley Farm", "Red Cross branch", "border police")
             if f'name="organisation-name" value="{n}"' in page]  # fmt: skip
    assert names == ["Shelter for woman", "Green Valley Farm", "Red Cross branch"]  # once each; "border police" matched
    assert f'<option value="{shelter.pk}" selected>' in page  # the close entry is proposed
    assert "left empty." not in page  # the check's own wording is for the command line: the page asks instead
    assert "Other&#x27;s partner" not in page
    posted = {"organisation-name": names, "organisation-0": str(shelter.pk), "organisation-1": "add",
              "organisation-2": ""}  # fmt: skip
    refused = client.post(f"/data/import/{pk}/confirm/", {**posted, "organisation-2": str(theirs.pk)})
    assert refused["Location"].endswith(f"/data/import/{pk}/")
    assert not AuditEvent.objects.filter(action="import.confirm").exists()
    r = client.post(f"/data/import/{pk}/confirm/", posted)
    assert r.status_code == 302 and queue.drain() == 1
    out = tmp_path / "out.json"
    call_command("export", "json", "--org", org.slug, "--out", str(out), "--user", admin.username, stdout=io.StringIO())
    stored = {b["persons"][0]["prs_FirstName"]: b for b in json.loads(out.read_text("utf-8"))["bundles"]}
    refs = {name: {r["direction"]: r.get("cas_ReferringOrganisation") or r.get("cas_ReferredOrganisation")
                   for r in b.get("referrals", [])} for name, b in stored.items()}  # fmt: skip
    assert refs == {"Ada": {"Incoming": "Shelter for women"}, "Bola": {"Incoming": "Border Police", "Outgoing": None},
                    "Cyra": {"Incoming": "Shelter for women"}}  # fmt: skip
    places = {name: b["participants"][0].get("vic_LocationOfExploitation") for name, b in stored.items()}
    assert places == {"Ada": "Green Valley Farm", "Bola": None, "Cyra": "Green Valley Farm"}
    assert sorted(ExternalOrganisation.objects.filter(organisation=org).values_list("org_Name", flat=True)) == [
        "Border Police", "Green Valley Farm", "Shelter for women"]  # fmt: skip
    said = AuditEvent.objects.get(action="import.confirm").detail
    assert (said["organisations_added"], said["organisations_matched"]) == (1, 1)
