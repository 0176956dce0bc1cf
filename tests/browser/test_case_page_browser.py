"""The case page, the short intake with its error summary, a document upload and the printed case, in English,
French and Arabic, on a desktop and a phone (issue 19). Screenshots go to artifacts/screenshots."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from phare.accounts.models import Role
from phare.cases import actions
from phare.cases.models import Case
from tests.browser.conftest import enrol_authenticator, go, sign_in
from tests.test_cases_helpers import PASSWORD, make_case, make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _photo(path: Path) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (40, 90, 160)).save(out, "PNG")
    path.write_bytes(out.getvalue())
    return path


@pytest.mark.parametrize("lang", ["en", "fr", "ar"])
def test_it_shows_the_intake_the_error_summary_and_the_case_page(live_server: Any, browser: Any, shots: Path,
                                                                  tmp_path: Path, lang: str) -> None:  # fmt: skip
    org = make_org(f"lumen-{lang}")
    org.org_ShippingCountry = "GH"  # a local number is read with the organisation's country
    org.save()
    worker = make_user(org, Role.CASE_WORKER, f"worker-{lang}")
    worker.language = lang
    worker.save()
    enrol_authenticator(worker)
    case = make_case(worker, first="Ozari", second="Tembuli", person={"prs_Citizenship": ["GH"]})
    actions.add_comment(worker, case, "First interview at the shelter. " * 30)
    actions.add_event(worker, case, {"hte_Type": "Exploitation", "hte_Country": "GH", "hte_City": "Kumasi",
                                     "hte_Latitude": "6.69", "hte_Longitude": "-1.62"})  # fmt: skip
    actions.record_consent(worker, case, {"con_Consent": True, "con_Purpose": ["CaseManagement"]})
    actions.set_follow_up(worker, case, None)
    base = live_server.url
    first = browser.new_context(viewport=DESKTOP)
    sign_in(first.new_page(), base, worker.username, PASSWORD)
    state = first.storage_state()  # one sign-in: a second one in the same minute would replay the code
    first.close()
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        ctx = browser.new_context(viewport=viewport, storage_state=state)
        page = ctx.new_page()
        page.goto(f"{base}/cases/")
        assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")

        # The short intake: one screen of fields, the rest folded; an empty submit gets the error summary, focused.
        page.goto(f"{base}/cases/new/")
        assert not page.is_visible("#id_p-prs_MailingStreet")
        page.screenshot(path=str(shots / f"new-case-{name}-{lang}.png"), full_page=True)
        go(page, "#create button[type=submit]")
        assert page.is_visible("#error-summary")
        assert page.evaluate("document.activeElement.id") == "error-summary"
        page.screenshot(path=str(shots / f"new-case-errors-{name}-{lang}.png"))
        page.click("#error-summary a[href='#id_p-prs_FirstName']")
        assert page.evaluate("document.activeElement.id") == "id_p-prs_FirstName"
        # A country picked by typing in the filter, without Ctrl-click.
        page.fill("#id_p-prs_FirstName", "Ama")
        page.select_option("#id_p-prs_Gender", "Feminine")
        page.fill(".pick-filter", {"en": "Ghan", "fr": "Ghan", "ar": "غان"}[lang])
        page.check("input[name=p-prs_Citizenship][value=GH]")
        page.fill("#id_p-prs_MobilePhone", "024 123 4567")
        go(page, "#create button[type=submit]")
        assert "/cases/new/" not in page.url, page.content()[:3000]

        # The case page: header, tabs, timeline; a document; the printed case.
        page.goto(f"{base}/cases/{case.number}/")
        assert page.is_visible(".case-head") and page.is_visible(".case-tabs")
        page.screenshot(path=str(shots / f"case-{name}-{lang}.png"), full_page=True)
        if name == "desktop":
            page.goto(f"{base}/cases/{case.number}/documents/add/")
            page.set_input_files("#id_file", str(_photo(tmp_path / "photo.png")))
            page.select_option("#id_kind", "photo")
            page.fill("#id_title", "Photo at intake")
            go(page, "main form.card button[type=submit]")
            assert "Photo at intake" in page.content()
            page.locator("#documents").screenshot(path=str(shots / f"case-documents-{lang}.png"))
            with page.expect_download() as download:
                page.click(f"a[href='/cases/{case.number}/print.pdf']")
            pdf = Path(download.value.path()).read_bytes()
            assert pdf.startswith(b"%PDF")
            (shots / f"case-print-{lang}.pdf").write_bytes(pdf)
        ctx.close()
    assert Case.objects.filter(organisation=org).count() == 3
