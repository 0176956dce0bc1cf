"""Browser tests: Debian's Chromium driven by Playwright's Python client against pytest-django's live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread; the tests' own ORM calls are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM = os.getenv("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip


MISSING = f"no Chromium at {CHROMIUM}: apt-get install -y chromium, then make test (CI sets PHARE_REQUIRE_BROWSER=1)"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Without Chromium the browser tests are skipped, with one line saying how to run them; where they are
    required (CI: PHARE_REQUIRE_BROWSER=1) they run and fail."""
    if Path(CHROMIUM).exists() or os.getenv("PHARE_REQUIRE_BROWSER"):
        return
    skip = pytest.mark.skip(reason=MISSING)
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if MISSING in str(r.longrepr)]
    if skipped:
        terminalreporter.write_line(f"{len(skipped)} browser tests skipped: {MISSING}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(MISSING)
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


def sign_in(page: Any, base_url: str, username: str, password: str) -> None:
    """The one place that knows how to sign in (password, then the second factor when the account has one)."""
    from phare.accounts import mfa
    from phare.accounts.models import User

    user = User.objects.get(username=username)
    if user.needs_mfa:
        enrol_authenticator(user)  # enrolment itself (with its one-time code) is tested in tests/test_signin_mfa.py
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    go(page, "main button[type=submit]")
    if "/accounts/mfa" in page.url:
        device = mfa.confirmed_device(user)
        assert device is not None, "enrol the test user's authenticator first (enrol_authenticator)"
        page.fill("input[name=code]", mfa.current_token(device))
        go(page, "main button[type=submit]")


def enrol_authenticator(user: Any) -> None:
    """Give a test user a confirmed TOTP device so that sign_in can pass the second step."""
    from phare.accounts import mfa

    if mfa.confirmed_device(user) is None:
        device = mfa.new_device(user)
        device.confirmed = True
        device.save(update_fields=["confirmed"])


def go(page: Any, target: Any) -> None:
    """Click what loads a new page, and return once that page has loaded. Playwright no longer waits after a
    click, so reading the page straight after one could see the old page or an empty document half-way."""
    with page.expect_navigation():
        if isinstance(target, str):
            page.click(target)
        else:
            target.click()
    page.wait_for_load_state()
