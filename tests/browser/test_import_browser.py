"""An import through the pages in headless Chromium: upload, read the check, import, and the mapping page."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from phare.accounts.models import Role
from phare.cases.models import Case
from phare.jobs import (
    handlers,  # noqa: F401  (registers the job kinds, as the worker does)
    queue,
)
from tests.browser.conftest import enrol_authenticator, go, sign_in
from tests.fixtures.sources import big_template_rows, write_csv
from tests.test_cases_helpers import PASSWORD, make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def test_it_imports_a_template_and_maps_a_legacy_sheet(live_server: Any, browser: Any, shots: Path,
                                                       tmp_path: Path) -> None:  # fmt: skip
    org = make_org("importers")
    boss = make_user(org, Role.SUPERVISOR, "boss")
    enrol_authenticator(boss)
    rows = list(big_template_rows(12))
    rows[5][rows[0].index("prs_Gender")] = "Femnine!"
    sheet = write_csv(tmp_path / "shelter-cases.csv", rows)
    page = browser.new_context(viewport=PHONE, accept_downloads=True).new_page()
    base = live_server.url
    sign_in(page, base, "boss", PASSWORD)
    go(page, "nav >> text=Import")
    page.set_input_files("#file", str(sheet))
    page.check("input[name=mode][value=skip-bad]")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "/data/import/" in page.url
    assert queue.drain() == 1  # the worker's turn
    page.reload()
    page.screenshot(path=str(shots / "import-check-phone.png"), full_page=True)
    assert "Femnine!" in page.content() and "Import now" in page.content()
    assert Case.objects.filter(organisation=org).count() == 0
    with page.expect_navigation():
        page.click("text=Import now")
    assert queue.drain() == 1
    page.reload()
    page.screenshot(path=str(shots / "import-done-phone.png"), full_page=True)
    assert Case.objects.filter(organisation=org).count() == 11
    # The rejected row comes back as typed: corrected in that file, the file goes in again.
    with page.expect_download() as download:
        page.click("text=Download the rejected rows")
    rejected = tmp_path / "rejected.csv"
    download.value.save_as(rejected)
    back = list(csv.reader(rejected.open(newline="", encoding="utf-8")))
    (bad,) = back[2:]
    assert bad[rows[0].index("prs_Gender")] == "Femnine!" and "(fix: Feminine)" in bad[-1]
    bad[rows[0].index("prs_Gender")] = "Feminine"
    with rejected.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(back)
    go(page, "nav >> text=Import")
    page.set_input_files("#file", str(rejected))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert queue.drain() == 1
    page.reload()
    with page.expect_navigation():
        page.click("text=Import now")
    assert queue.drain() == 1
    assert Case.objects.filter(organisation=org).count() == 12

    # The case list exports what it shows, without JavaScript needed: a form posted by a button.
    page.goto(f"{base}/cases/?status=open")
    page.screenshot(path=str(shots / "cases-export-phone.png"), full_page=False)
    with page.expect_download() as download:
        page.click("form.export button[value=csv]")
    exported = list(csv.reader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    statuses = {r[rows[0].index("cas_Status")] for r in exported[2:]}
    opened = Case.objects.filter(organisation=org, cas_Status__in=["Active", "FollowUp"]).count()
    assert len(exported) - 2 == opened > 0 and statuses <= {"Active", "FollowUp"}

    legacy = tmp_path / "old-register.csv"
    legacy.write_text("File no,First name,Last name,Gender,DOB,Country of origin\n"
                      "R-1,Amaka,Obi,F,03/02/1990,Nigeria\nR-2,Efosa,Ade,M,25/12/1985,Ghana\n", "utf-8")  # fmt: skip
    page.goto(f"{base}/data/import/mapping/")
    page.set_input_files("#file", str(legacy))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    page.screenshot(path=str(shots / "import-mapping-phone.png"), full_page=True)
    assert page.input_value("#field-3") == "prs_Gender"
    page.fill("#name", "Old register")
    go(page, "button:has-text('Save the mapping')")
    page.wait_for_url("**/data/import/")
    assert "Old register" in page.content()  # offered on the import form
