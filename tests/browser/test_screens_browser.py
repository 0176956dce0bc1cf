"""Every main page readable in English, French and Arabic at desktop and phone width: screenshots of each in
artifacts/screenshots/, and axe-core (vendored in tests/browser/vendor, no CDN) finding no serious or critical
accessibility violation; the skip link and the focus style; dashboard charts legible on a phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from phare.accounts.models import Role
from phare.audit.log import record
from tests.browser.conftest import go, sign_in
from tests.test_cases_helpers import PASSWORD, make_case, make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
LANGS = ("en", "fr", "ar")
# The pages named in issue 20 and the everyday ones around them (the admin sees all of them).
PAGES = {
    "home": "/",
    "cases": "/cases/",
    "audit": "/accounts/audit/",
    "users": "/accounts/users/",
    "user-new": "/accounts/users/new/",
    "dashboards": "/dashboards/",
    "reports": "/dashboards/report/",
    "sharing": "/sharing/",
    "import": "/data/import/",
    "api-docs": "/api/v1/docs",
    "api-tokens": "/api/tokens/",
    "helpline-settings": "/helpline/settings/",
    "helpline-figures": "/helpline/figures/",
    "helpline-services": "/helpline/services/",
    "not-found": "/no/such/page/",
}
SERIOUS = {"serious", "critical"}


def _axe(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each (rule, impact, first targets)."""
    page.add_script_tag(content=AXE.read_text("utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}"
            for v in result["violations"] if v.get("impact") in SERIOUS]  # fmt: skip


def _world() -> Any:
    org = make_org("beacon")
    admin = make_user(org, Role.ADMIN, "amina")
    admin.first_name, admin.last_name = "أمينة", "Diallo"
    admin.save(update_fields=["first_name", "last_name"])
    worker = make_user(org, Role.CASE_WORKER, "jonas")
    case = make_case(worker)
    with transaction.atomic():
        record("case.viewed", actor=worker, target=case)
        record("user.permissions_changed", actor=admin, target=worker,
               detail={"before": {"role": "helpline"}, "after": {"role": "case_worker"}})  # fmt: skip
    return admin


@pytest.mark.parametrize("lang", LANGS)
def test_it_shows_every_main_page_accessibly_in_each_language(live_server: Any, browser: Any, shots: Path,
                                                               lang: str) -> None:  # fmt: skip
    admin = _world()
    admin.language = lang
    admin.save(update_fields=["language"])
    problems: dict[str, list[str]] = {}
    first = browser.new_context(viewport=DESKTOP, bypass_csp=True)  # bypass_csp to inject axe; pages keep their CSP
    page = first.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    problems.update({"login": found} if (found := _axe(page)) else {})
    for tag, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(shots / f"screens-login-{lang}-{tag}.png"), full_page=True)
    # One sign-in (a TOTP code works once), its session shared by both widths.
    sign_in(page, live_server.url, admin.username, PASSWORD)
    page.set_viewport_size(DESKTOP)
    for tag, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        ctx = browser.new_context(viewport=viewport, bypass_csp=True, storage_state=first.storage_state())
        page = ctx.new_page()
        for name, path in PAGES.items():
            response = page.goto(live_server.url + path)
            assert response is not None and response.status == (404 if name == "not-found" else 200), (name, lang)
            assert page.url == live_server.url + path, (name, page.url)
            html = page.locator("html")
            assert html.get_attribute("lang") == lang and html.get_attribute("dir") == (
                "rtl" if lang == "ar" else "ltr"
            )
            page.screenshot(path=str(shots / f"screens-{name}-{lang}-{tag}.png"), full_page=True)
            # Nothing wider than a phone: wide tables stack (table.stack), long menus scroll in their own line.
            if tag == "phone" and (wide := page.evaluate("document.documentElement.scrollWidth")) > PHONE["width"] + 1:
                problems[f"{name}-phone"] = [f"page {wide}px wide"]
            if tag == "desktop":  # the rules do not depend on the width; once per page is enough
                found = _axe(page)
                if found:
                    problems[name] = found
        ctx.close()
    first.close()
    assert problems == {}, problems


def test_it_offers_a_skip_link_and_moves_the_focus_where_it_helps(live_server: Any, browser: Any) -> None:
    admin = _world()
    page = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(page, live_server.url, admin.username, PASSWORD)
    page.goto(live_server.url + "/accounts/audit/")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    assert skip.evaluate("el => el === document.activeElement")
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0  # it comes into view when focused
    assert skip.evaluate("el => getComputedStyle(el).outlineStyle") != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # A refused submit puts the focus on the summary of what to fix.
    page.goto(live_server.url + "/accounts/users/new/")
    go(page, "main button[type=submit]")
    assert page.evaluate("document.activeElement.className") == "error-summary"


def test_it_draws_dashboard_charts_legible_on_a_phone(live_server: Any, browser: Any, shots: Path) -> None:
    from tests.test_dashboard import _seed

    org = make_org("alpha")
    _seed(org)
    analyst = make_user(org, Role.ANALYST)
    page = browser.new_context(viewport=PHONE).new_page()
    sign_in(page, live_server.url, analyst.username, PASSWORD)
    for lang in ("en", "ar"):
        analyst.language = lang
        analyst.save(update_fields=["language"])
        page.goto(live_server.url + "/dashboards/")
        # The rendered size of every chart label (the map's country codes aside: the table beside names them).
        sizes = page.evaluate("""() => [...document.querySelectorAll('.dash-fig:not(.dash-map) .dash-chart svg')]
            .flatMap(svg => { const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
              return [...svg.querySelectorAll('text')].map(t =>
                parseFloat(t.getAttribute('font-size') || svg.getAttribute('font-size')) * scale); })""")
        assert sizes and min(sizes) >= 11, (lang, min(sizes))
        # The year labels under monthly charts never overlap.
        overlaps = page.evaluate("""() => [...document.querySelectorAll('.dash-months svg')].map(svg => {
              const boxes = [...svg.querySelectorAll('text[text-anchor=start][direction=ltr]')]
                .map(t => t.getBoundingClientRect()).sort((a, b) => a.left - b.left);
              return boxes.some((b, i) => i > 0 && b.left < boxes[i - 1].right); })""")
        assert overlaps and not any(overlaps)
        page.screenshot(path=str(shots / f"screens-dashboards-charts-{lang}-phone.png"), full_page=True)


# What a case worker's day shows dates on (issue 20: the reader's locale, never 2026-03-04).
CASE_PAGES = {"home": "/", "cases": "/cases/", "case": "/cases/{n}/", "case-new": "/cases/new/?prs_FirstName=Amaka"}
OPENED = {"en": "March 4, 2026", "fr": "4 mars 2026", "ar": "4 مارس، 2026"}


def test_it_shows_a_case_workers_dates_in_their_language(live_server: Any, browser: Any, shots: Path) -> None:
    from datetime import date

    org = make_org("lumen")
    worker = make_user(org, Role.CASE_WORKER, "jonas")
    case = make_case(worker, opened=date(2026, 3, 4))
    problems: dict[str, list[str]] = {}
    first = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    sign_in(first.new_page(), live_server.url, worker.username, PASSWORD)
    for lang in LANGS:
        worker.language = lang
        worker.save(update_fields=["language"])
        for tag, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            ctx = browser.new_context(viewport=viewport, bypass_csp=True, storage_state=first.storage_state())
            page = ctx.new_page()
            for name, path in CASE_PAGES.items():
                response = page.goto(live_server.url + path.format(n=case.number))
                assert response is not None and response.status == 200, (name, lang)
                text = page.locator("main").inner_text()
                if name != "case-new":
                    assert OPENED[lang] in text and "2026-03-04" not in text, (name, lang)
                if name == "home":  # "All my open cases →" points the way the page reads
                    turned = page.locator("main .arrow").first.evaluate("el => getComputedStyle(el).transform")
                    assert (turned != "none") == (lang == "ar"), (lang, turned)
                page.screenshot(path=str(shots / f"screens-dates-{name}-{lang}-{tag}.png"), full_page=True)
                if tag == "desktop" and (found := _axe(page)):
                    problems[f"{name}-{lang}"] = found
            ctx.close()
    first.close()
    assert problems == {}, problems


def test_it_gives_the_sharing_verdict_in_words_in_each_language(live_server: Any, browser: Any, shots: Path) -> None:
    from tests.test_sharing import make_cases

    org = make_org("harbour")
    make_cases(org, 120)
    analyst = make_user(org, Role.ANALYST, "nadia")
    problems: dict[str, list[str]] = {}
    first = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    sign_in(first.new_page(), live_server.url, analyst.username, PASSWORD)
    for lang in LANGS:
        analyst.language = lang
        analyst.save(update_fields=["language"])
        for tag, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            ctx = browser.new_context(viewport=viewport, bypass_csp=True, storage_state=first.storage_state())
            page = ctx.new_page()
            page.goto(live_server.url + "/sharing/")
            verdict = page.locator("#verdict")
            assert verdict.is_visible() and "k = 11" in verdict.inner_text(), lang
            text = page.locator("main").inner_text()
            assert "records_at_risk" not in text and "excluded_not_a_victim" not in text, lang
            page.screenshot(path=str(shots / f"screens-sharing-verdict-{lang}-{tag}.png"), full_page=True)
            if tag == "desktop" and (found := _axe(page)):
                problems[lang] = found
            ctx.close()
    first.close()
    assert problems == {}, problems
