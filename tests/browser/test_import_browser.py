"""An import through the pages in headless Chromium: upload, read the check, import, and the mapping page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from phare.accounts.models import Role
from phare.cases.models import Case
from phare.jobs import (
    handlers,  # noqa: F401  (registers the job kinds, as the worker does)
    queue,
)
from tests.browser.conftest import enrol_authenticator, sign_in
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
    page = browser.new_context(viewport=PHONE).new_page()
    base = live_server.url
    sign_in(page, base, "boss", PASSWORD)
    page.click("nav >> text=Import")
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
    assert "Download the rejected rows" in page.content()

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
    page.click("button:has-text('Save the mapping')")
    page.wait_for_url("**/data/import/")
    assert "Old register" in page.content()  # offered on the import form
