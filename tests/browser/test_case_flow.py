from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from phare.accounts.models import Role
from phare.cases.models import Case, CaseParticipant
from tests.browser.conftest import enrol_authenticator, go, sign_in
from tests.test_cases_helpers import PASSWORD, make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _check(page: Any, name: str, values: list[str]) -> None:
    for v in values:
        page.check(f"input[name={name}][value={v}]")


def test_it_runs_a_case_from_opening_to_closing(live_server: Any, browser: Any, shots: Path) -> None:
    org = make_org("lumen")
    worker = make_user(org, Role.CASE_WORKER, "worker")
    enrol_authenticator(worker)
    ctx = browser.new_context(viewport=DESKTOP)
    page = ctx.new_page()
    base = live_server.url
    sign_in(page, base, "worker", PASSWORD)
    page.screenshot(path=str(shots / "home-desktop.png"), full_page=True)

    # Open a case: look for matches first, then register the person with the victim context.
    page.goto(f"{base}/cases/new/")
    page.fill("#id_prs_FirstName", "Ozari")
    page.fill("#id_prs_SecondName", "Tembuli")
    go(page, "#probe button[type=submit]")
    assert "No one matches" in page.content()
    page.fill("#id_p-prs_FirstName", "Ozari")
    page.fill("#id_p-prs_SecondName", "Tembuli")
    page.select_option("#id_p-prs_Gender", "Feminine")
    page.fill("#id_p-prs_Birthdate", "2001-03-04")
    page.select_option("#id_v-vic_TraffickingStatus", "PossibleVictimOfTrafficking")
    _check(page, "v-vic_TypeOfExploitation", ["ForcedLabour", "ForcedBegging"])
    page.locator("#create details.more > summary", has_text="Exploitation").click()  # folded in the short intake
    _check(page, "v-vic_MethodsOfControl", ["DebtBondage", "WithholdsDocuments"])
    page.screenshot(path=str(shots / "new-case-desktop.png"), full_page=True)
    go(page, "#create button[type=submit]")
    case = Case.objects.get(organisation=org)
    assert page.url.endswith(f"/cases/{case.number}/")

    # A perpetrator.
    go(page, "text=+ Perpetrator")
    page.fill("#id_p-prs_FirstName", "Vakrim")
    _check(page, "v-per_RoleInProcess", ["RecruiterOrIntermediary"])
    go(page, "main form.card button[type=submit]")
    # A comment, a support plan, a trafficking event.
    go(page, "text=+ Comment")
    page.fill("#id_cco_CaseComment", "First interview at the shelter.")
    go(page, "main form.card button[type=submit]")
    go(page, "text=+ Support plan")
    page.select_option("#id_spl_Type", "Health")
    page.fill("#id_spl_Objectives", "Medical follow-up")
    page.fill("#id_spl_StartDate", "2024-01-10")
    page.fill("#id_spl_PlannedEndDate", "2024-06-10")
    go(page, "main form.card button[type=submit]")
    go(page, "text=+ Event")
    page.select_option("#id_hte_Type", "Exploitation")
    page.select_option("#id_hte_Country", "GH")
    page.fill("#id_hte_City", "Kumasi")
    go(page, "main form.card button[type=submit]")
    html = page.content()
    for text in (
        "Ozari Tembuli",
        "Vakrim",
        "Debt bondage",
        "First interview at the shelter.",
        "Medical follow-up",
        "Kumasi",
    ):
        assert text in html, text
    page.screenshot(path=str(shots / "case-desktop.png"), full_page=True)

    # Closing needs a reason.
    go(page, "text=Close the case")
    go(page, "main form.card button[type=submit]")
    assert "error" in page.content()
    page.fill("#id_cas_ReasonForCaseClosure", "Returned to her family; no further support wanted.")
    go(page, "main form.card button[type=submit]")
    case.refresh_from_db()
    assert case.cas_Status == "Closed"
    assert CaseParticipant.objects.filter(case=case).count() == 2

    # Find it again by name (blind index), on a phone.
    phone = browser.new_context(viewport=PHONE, storage_state=ctx.storage_state())
    ppage = phone.new_page()
    ppage.goto(f"{base}/cases/?q=tembuli&status=Closed")
    assert case.number in ppage.content()
    ppage.screenshot(path=str(shots / "list-phone.png"), full_page=True)
    ppage.goto(f"{base}/cases/{case.number}/")
    ppage.screenshot(path=str(shots / "case-phone.png"), full_page=True)
    page.goto(f"{base}/cases/")
    page.screenshot(path=str(shots / "list-desktop.png"), full_page=True)
    ctx.close()
    phone.close()
