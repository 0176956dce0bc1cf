"""`phare ctdc load`: a published CTDC file becomes counts in an aggregate-only research dataset, never cases."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from phare.audit.models import AuditEvent
from phare.cases.models import Case, Person
from phare.sharing.models import ResearchDataset
from tests.fixtures.ctdc_layout import ctdc_file
from tests.test_sharing import make_cases

pytestmark = pytest.mark.django_db


def test_it_counts_a_ctdc_file_into_a_research_dataset_and_creates_no_case(org: Any, make_user: Callable[..., Any],
                                                                          tmp_path: Path) -> None:  # fmt: skip
    make_user("analyst", org)
    src = ctdc_file(tmp_path / "ctdc2021.csv", 400, layout="2021")
    out = io.StringIO()
    call_command("ctdc", "load", str(src), "--org", org.slug, "--name", "CTDC 2021", stdout=out)
    assert "400 CTDC records" in out.getvalue()
    dataset = ResearchDataset.objects.get(organisation=org)
    assert dataset.records == 400 and dataset.name == "CTDC 2021"
    assert sum(dataset.marginals["gender"].values()) == 400
    assert "-99" not in dataset.marginals["ageBroad"] and "00" not in dataset.marginals["citizenship"]
    assert sum(n for *_, n in dataset.pairs["citizenship x CountryOfExploitation"]) == 400
    assert dataset.reading["banner_columns"]
    assert not Case.objects.exists() and not Person.objects.exists()
    assert AuditEvent.objects.get(action="sharing.research_dataset").detail["records"] == 400


def test_it_refuses_a_file_without_ctdc_columns_and_a_role_that_may_not_count(org: Any, make_user: Callable[..., Any],
                                                                             tmp_path: Path) -> None:  # fmt: skip
    worker = make_user("case_worker", org)
    src = ctdc_file(tmp_path / "c.csv", 20)
    with pytest.raises(CommandError, match="your role may not load"):
        call_command("ctdc", "load", str(src), "--org", org.slug, "--user", worker.username)
    make_user("analyst", org)
    other = tmp_path / "other.csv"
    other.write_text("name,age\nA,3\n")
    with pytest.raises(CommandError, match="no CTDC column"):
        call_command("ctdc", "load", str(other), "--org", org.slug)
    assert not ResearchDataset.objects.exists()


def test_it_shows_the_organisations_figures_beside_ctdcs_to_its_own_analysts_only(
    org: Any, other_org: Any, make_user: Callable[..., Any], client_for: Callable[[Any], Client], tmp_path: Path
) -> None:
    make_cases(org, 100)
    make_user("analyst", org)
    call_command("ctdc", "load", str(ctdc_file(tmp_path / "c.csv", 300)), "--org", org.slug, "--name", "CTDC 2020",
                 stdout=io.StringIO())  # fmt: skip
    html = client_for(make_user("analyst", org)).get("/sharing/").content.decode()
    assert "CTDC 2020" in html and "Female" in html
    stranger = client_for(make_user("analyst", other_org)).get("/sharing/").content.decode()
    assert "CTDC 2020" not in stranger
