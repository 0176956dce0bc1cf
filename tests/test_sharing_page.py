from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from phare.sharing.models import Release
from tests.page_helpers import shown
from tests.test_sharing import make_cases

pytestmark = pytest.mark.django_db


def test_it_shows_the_risk_report_before_anything_leaves(org: Any, make_user: Callable[..., Any],
                                                         client_for: Callable[[Any], Client]) -> None:  # fmt: skip
    make_cases(org, 120)
    client = client_for(make_user("analyst", org))
    page = client.get("/sharing/")
    assert page.status_code == 200
    html = shown(page.content)
    assert "Release k-anonymised microdata" in html
    # a verdict in words first, then each figure with its label; never the report's own keys
    verdict = html.split('id="verdict"', 1)[1].split("</p>", 1)[0]
    assert "Not safe to share as it is:" in verdict and "records are unique on these columns; at k = 11," in verdict
    assert html.index('id="verdict"') < html.index("Records in groups smaller than k")
    assert "Left out: not a possible or actual victim" in html
    assert "Relation to the recruiter" in html and "Leave out of the file" in html
    for key in ("excluded_not_a_victim", "sample_uniques", "records_at_risk", "is_k_anonymous", ">drop<",
                ">recruiterRelation<", "{'", "True", "False"):  # fmt: skip
        assert key not in html, key


def test_it_gives_the_verdict_in_the_readers_language(org: Any, make_user: Callable[..., Any],
                                                       client_for: Callable[[Any], Client]) -> None:  # fmt: skip
    make_cases(org, 120)
    analyst = make_user("analyst", org, language="fr")
    html = client_for(analyst).get("/sharing/", {"k": "2"}).content.decode()
    verdict = html.split('id="verdict"', 1)[1].split("</p>", 1)[0]
    # figures in the French way (24,4 %): the words follow from the .po files
    assert "k = 2" in verdict and re.search(r"\(\d+,\d", verdict), verdict


def test_it_says_safe_when_every_group_reaches_k() -> None:
    from phare.sharing.words import verdict

    risk = {"n_records": 1200, "k_threshold": 5, "records_at_risk": 0, "sample_uniques": 0, "min_class_size": 12,
            "n_classes": 40, "share_at_risk": 0.0, "is_k_anonymous": True, "quasi_identifiers": ["gender", "age"],
            "riskiest_quasi_identifier": None}  # fmt: skip
    v = verdict(risk)
    assert v.safe and v.text == "Safe to share at k = 5: every record looks like at least 11 others on these columns."
    assert ("Groups of records that look alike", "40") in v.figures
    assert ("Columns an outsider may know (quasi-identifiers)", "Gender and Age") in v.figures
    with translation.override("ar"):
        label = translation.gettext("Columns an outsider may know (quasi-identifiers)")
        assert label != "Columns an outsider may know (quasi-identifiers)"  # the Arabic label, not the English one
        assert dict(verdict(risk).figures)[label].count(" و") == 1
    unsafe = verdict({**risk, "is_k_anonymous": False, "min_class_size": 1, "sample_uniques": 176, "n_records": 176,
                      "records_at_risk": 176, "share_at_risk": 1.0, "k_threshold": 11})  # fmt: skip
    assert not unsafe.safe and unsafe.text.startswith("Not safe to share as it is: 176 of 176 records are unique")
    assert "176 records (100.0%) are in groups smaller than k" in unsafe.text


def test_it_releases_and_serves_the_file_only_to_its_organisation(org: Any, other_org: Any, make_user: Callable[..., Any],
                                                                 client_for: Callable[[Any], Client]) -> None:  # fmt: skip
    make_cases(org, 200)
    client = client_for(make_user("analyst", org))
    response = client.post("/sharing/release/ctdc/", {"k": "11", "accept_withheld": "on", "confirm": "yes"})
    assert response.status_code == 302
    rel = Release.objects.get()
    download = client.get(f"/sharing/releases/{rel.pk}.csv")
    assert download.status_code == 200
    assert b"gender" in b"".join(download.streaming_content)  # type: ignore[attr-defined]
    stranger = client_for(make_user("analyst", other_org))
    assert stranger.get(f"/sharing/releases/{rel.pk}.csv").status_code == 404


def test_it_refuses_a_low_k_with_a_message_and_writes_nothing(org: Any, make_user: Callable[..., Any],
                                                              client_for: Callable[[Any], Client]) -> None:  # fmt: skip
    make_cases(org, 50)
    client = client_for(make_user("analyst", org))
    page = client.post("/sharing/release/ctdc/", {"k": "3", "confirm": "yes"}, follow=True)
    assert "below this organisation" in page.content.decode()
    assert not Release.objects.exists()


def test_it_is_closed_to_case_workers(
    org: Any, make_user: Callable[..., Any], client_for: Callable[[Any], Client]
) -> None:
    client = client_for(make_user("case_worker", org))
    assert client.get("/sharing/").status_code == 403


def test_it_shows_the_one_ledger_with_each_releases_cost_and_lets_only_an_admin_set_it(
    org: Any, make_user: Callable[..., Any], client_for: Callable[[Any], Client]
) -> None:
    from phare.audit.models import AuditEvent
    from phare.sharing.models import PrivacyBudget

    make_cases(org, 200)
    analyst = client_for(make_user("analyst", org))
    assert (
        analyst.post(
            "/sharing/release/aggregate/", {"attributes": ["gender", "ageBroad"], "epsilon": "0.5", "confirm": "yes"}
        ).status_code
        == 302
    )
    html = analyst.get("/sharing/").content.decode()
    # its purpose in words, never the stored code; its cost: rho = 0.5^2 / 2
    assert "Aggregate table by Gender and Age" in html and "0.125" in html
    assert "genderxageBroad" not in html
    assert 'name="total_epsilon"' not in html
    analyst.post("/sharing/budget/", {"total_epsilon": "50", "total_delta": "1e-5"})
    assert PrivacyBudget.objects.get(organisation=org).total_epsilon == 10.0
    admin = client_for(make_user("admin", org))
    assert 'name="total_epsilon"' in admin.get("/sharing/").content.decode()
    admin.post("/sharing/budget/", {"total_epsilon": "4", "total_delta": "1e-6"})
    budget = PrivacyBudget.objects.get(organisation=org)
    assert (budget.total_epsilon, budget.total_delta) == (4.0, 1e-6)
    assert AuditEvent.objects.get(action="sharing.budget").detail["after"]["total_epsilon"] == 4.0


def test_it_compares_with_a_published_dataset_in_words(org: Any, make_user: Callable[..., Any],
                                                        client_for: Callable[[Any], Client]) -> None:  # fmt: skip
    from phare.sharing.models import ResearchDataset

    make_cases(org, 30)
    ResearchDataset.objects.create(organisation=org, name="CTDC 2024", source="ctdc.csv", records=5000,
                                   marginals={"gender": {"Female": 3000, "Male": 2000},
                                              "isSexualExploit": {"1": 2600, "0": 2400}})  # fmt: skip
    html = client_for(make_user("analyst", org)).get("/sharing/").content.decode()
    table = html.split("CTDC 2024", 1)[1].split("</table>", 1)[0]
    assert "<td>Sexual exploitation</td><td>Yes</td>" in table and "<td>Gender</td><td>Female</td>" in table
    assert "isSexualExploit" not in table and "<td>1</td>" not in table


def test_it_shows_what_would_leave_and_releases_only_once_confirmed(org: Any, make_user: Callable[..., Any],
                                                                    client_for: Callable[[Any], Client]) -> None:  # fmt: skip
    from phare.audit.models import AuditEvent
    from phare.sharing.models import PrivacySpend

    make_cases(org, 200)
    client = client_for(make_user("analyst", org))
    chosen = {"k": "11", "drop": ["meansOfControl", "typeOfLabour"], "accept_withheld": "on"}
    page = client.post("/sharing/release/ctdc/", chosen)
    html = page.content.decode()
    assert page.status_code == 200 and not Release.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="export.").exists()
    assert (
        "<code>gender</code>" in html
        and "meansOfControl" not in html.split('id="release-preview"')[1].split("<form")[0]
    )
    assert "Means of control, Type of labour" in html  # what is left out, in words
    # The confirmation carries the same choices back, and only then does the file leave.
    for name, value in (("k", "11"), ("drop", "meansOfControl"), ("drop", "typeOfLabour"), ("confirm", "yes")):
        assert f'name="{name}" value="{value}"' in html
    assert client.post("/sharing/release/ctdc/", {**chosen, "confirm": "yes"}).status_code == 302
    rel = Release.objects.get()
    header = b"".join(client.get(f"/sharing/releases/{rel.pk}.csv").streaming_content).split(b"\n")[0]  # type: ignore[attr-defined]
    assert b"gender" in header and b"meansOfControl" not in header

    # A differentially private release says what it costs of the budget before anything is spent.
    page = client.post("/sharing/release/aggregate/", {"attributes": ["gender", "ageBroad"], "epsilon": "0.5"})
    assert "spends ε = 0.500" in page.content.decode() and not PrivacySpend.objects.exists()
    done = client.post("/sharing/release/aggregate/", {"attributes": ["gender", "ageBroad"], "epsilon": "0.5", "confirm": "yes"},
                       follow=True)  # fmt: skip
    assert "Released" in done.content.decode()
    assert PrivacySpend.objects.count() == 1


def test_it_names_a_spends_purpose_in_the_readers_words() -> None:
    from django.utils import translation

    from phare.sharing import words

    # Columns are joined with "x", which "isSexualExploit" and "isOtherExploit" themselves contain.
    assert words.purpose("aggregate isSexualExploitxisOtherExploitxgender") == (
        "Aggregate table by Sexual exploitation, Other exploitation, and Gender"
    )
    assert words.purpose("synthetic microdata") == "Synthetic data"
    assert words.purpose("something else") == "something else"
    with translation.override("fr"):
        assert words.purpose("aggregate genderxageBroad") != "Aggregate table by Gender and Age"
