"""Right to left: in Arabic, what reads left to right (case numbers, phone numbers, e-mails, names typed in Latin
script) keeps its order, isolated from the Arabic text around it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from phare.accounts.models import User
from tests.test_cases_helpers import make_case, make_org, make_user

pytestmark = pytest.mark.django_db


def _arabic_reader() -> User:
    worker = make_user(make_org("rtl"))
    worker.language = "ar"
    worker.save(update_fields=["language"])
    return worker


def test_it_isolates_case_numbers_phones_and_typed_values_on_the_arabic_case_page_and_list(
    client_for: Callable[[Any], Client],
) -> None:
    worker = _arabic_reader()
    case = make_case(worker, first="Amaka", person={"prs_MobilePhone": "+2348031234567",
                                                    "prs_Email": "amaka@example.org"})  # fmt: skip
    c = client_for(worker)
    page = c.get(f"/cases/{case.number}/").content.decode()
    assert 'dir="rtl"' in page and 'lang="ar"' in page
    assert f"<bdi>{case.number}</bdi>" in page
    # A number that starts with "+" would show as "2348031234567+" without its own direction.
    assert '<bdi dir="ltr">+2348031234567</bdi>' in page
    # Every value typed by a person takes the direction of its own text.
    values = re.findall(r"<dd([^>]*)>[^<]*amaka@example.org", page)
    assert values and all('dir="auto"' in attrs for attrs in values)
    listing = c.get("/cases/").content.decode()
    assert f"<bdi>{case.number}</bdi>" in listing
    assert f">{case.number}<" not in listing.replace(f"<bdi>{case.number}</bdi>", "")
