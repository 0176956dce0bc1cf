"""The API documentation page renders the OpenAPI document's Markdown, HTML in it shown as text."""

from __future__ import annotations

from typing import Any

import pytest

from phare.api.views import _markdown

pytestmark = pytest.mark.django_db


def test_it_renders_the_markdown_of_the_api_description(make_user: Any, org: Any, client_for: Any) -> None:
    from phare.accounts.models import Role

    body = client_for(make_user(Role.CASE_WORKER, org)).get("/api/v1/docs").content.decode()
    assert "<code>Authorization: Bearer &lt;token&gt;</code>" in body
    assert "`Authorization" not in body  # no raw Markdown left
    assert "GET /api/v1/cases" in body


def test_it_shows_html_in_markdown_as_text() -> None:
    assert "<script>" not in _markdown("a <script>alert(1)</script> b")
