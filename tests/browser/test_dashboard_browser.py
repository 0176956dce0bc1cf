"""The dashboard in headless Chromium, in each of the six languages (screenshots in artifacts/screenshots/)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
# Playwright's sync API runs an event loop in this thread; the ORM calls below happen outside it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from django.conf import settings  # noqa: E402
from django.test import Client  # noqa: E402

from phare.accounts.models import Role  # noqa: E402
from tests.test_cases_helpers import PASSWORD, make_org, make_user  # noqa: E402
from tests.test_dashboard import _seed  # noqa: E402

SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_shows_the_dashboard_in_six_languages_and_arabic_right_to_left(live_server: Any) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    org = make_org("alpha")
    _seed(org)
    analyst = make_user(org, Role.ANALYST)
    try:  # the shared sign-in helper (password, then the second factor if any), when it is there
        from tests.browser.conftest import sign_in
    except ImportError:
        sign_in = None
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = context.new_page()
        if sign_in is not None:
            sign_in(page, live_server.url, analyst.username, PASSWORD)
        else:
            client = Client()
            client.force_login(analyst)
            session = client.cookies[settings.SESSION_COOKIE_NAME].value
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
        for code, _name in settings.LANGUAGES:
            analyst.language = code
            analyst.save(update_fields=["language"])
            resp = page.goto(live_server.url + "/dashboards/")
            assert resp is not None and resp.status == 200, code
            html = page.locator("html")
            assert html.get_attribute("lang") == code
            assert html.get_attribute("dir") == ("rtl" if code == "ar" else "ltr")
            # Charts are inline SVG, each with its table; the page needs no script.
            assert page.locator("section.dash-fig svg").count() >= 15
            assert page.locator("section.dash-fig table caption").count() >= 15
            assert page.locator("script").count() == 0
            assert page.locator("#fig-citizenship svg rect").count() > 150  # the tile map
            page.screenshot(path=str(SHOTS / f"dashboard-{code}.png"), full_page=False)
            page.locator("#fig-citizenship").screenshot(path=str(SHOTS / f"dashboard-map-{code}.png"))
        # A download link works from the browser too.
        r = page.request.get(live_server.url + "/dashboards/figures/exploitation.csv")
        assert r.status == 200 and b"ForcedLabour" in r.body()
        context.close()
        browser.close()
