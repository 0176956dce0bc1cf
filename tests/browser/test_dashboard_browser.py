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

from phare.accounts.models import Role  # noqa: E402
from tests.test_cases_helpers import PASSWORD, make_org, make_user  # noqa: E402
from tests.test_dashboard import _seed  # noqa: E402

SHOTS = ROOT / "artifacts" / "screenshots"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_shows_the_dashboard_in_six_languages_and_arabic_right_to_left(live_server: Any, browser: Any) -> None:
    from tests.browser.conftest import sign_in

    org = make_org("alpha")
    _seed(org)
    analyst = make_user(org, Role.ANALYST)
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    sign_in(page, live_server.url, analyst.username, PASSWORD)
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
