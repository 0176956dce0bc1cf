"""Helpers for tests that read a rendered page (plain functions, no tests here)."""

from __future__ import annotations

import re

_TOKEN = re.compile(r'(name="csrfmiddlewaretoken" value=")[A-Za-z0-9]+(")')


def shown(html: str | bytes) -> str:
    """The page without its CSRF tokens' values. A token is 64 random letters and digits, masked anew on every
    page, so now and then it spells a short word a test says must not be on the page ("Ama", "False"): such a
    test reads the page through this to fail only on what the page shows."""
    text = html.decode() if isinstance(html, bytes) else html
    return _TOKEN.sub(r"\1\2", text)
