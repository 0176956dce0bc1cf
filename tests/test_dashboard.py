"""Dashboards: every figure on a small hand-built dataset, tenant scoping, access, suppression, downloads."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.http import Http404
from django.test import Client

from phare.accounts.models import Organisation, Role, User
from phare.cases import actions
from phare.cases.models import Case, CaseParticipant, ExternalOrganisation, Place
from phare.dashboards.figures import Figure, build, by_key
from phare.dashboards.models import ServicePartnership
from phare.dashboards.queries import Filters, counts
from tests.test_cases_helpers import make_case, make_org, make_user
from tests.work_helpers import today

pytestmark = pytest.mark.django_db



@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


def _client(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _seed(org: Organisation, tag: str = "") -> dict[str, object]:
    """Three cases with known counts (see the tests), plus a perpetrator who is never counted as a victim."""
    worker = make_user(org, Role.CASE_WORKER, username=f"{org.slug}-worker{tag}")
    boss = make_user(org, Role.SUPERVISOR, username=f"{org.slug}-boss{tag}")
    place_ng = Place.objects.create(organisation=org, name="Benin City", country="NG")
    farm = ExternalOrganisation.objects.create(organisation=org, org_Name="Farm", org_ShippingCountry="IT")
    c1 = make_case(worker, opened=date(2024, 1, 10), person={"prs_Gender": "Feminine", "prs_Citizenship": ["NG"],
                                                               "prs_Birthdate": date(2007, 5, 1)},
                   context={"vic_TraffickingStatus": "ActualVictimOfTrafficking",
                            "vic_TypeOfExploitation": ["ForcedLabour", "SexualExploitation"],
                            "vic_MethodsOfControl": ["DebtBondage", "PhysicalThreats"],
                            "vic_ForcedLabourIndustry": "F_Construction", "vic_AgeWhenTrafficked": 16,
                            "vic_RelationshipToTrafficker": "Familial", "vic_MethodOfRecruitment": ["AtWork"]})  # fmt: skip
    CaseParticipant.objects.filter(case=c1).update(vic_PlaceOfRecruitment=place_ng, vic_LocationOfExploitation=farm)
    actions.add_support_plan(worker, c1, {"spl_Type": "Health", "spl_StartDate": date(2024, 1, 20),
                                          "spl_PlannedEndDate": today() - timedelta(days=3)})  # fmt: skip
    actions.set_follow_up(worker, c1, today() - timedelta(days=1))
    c2 = make_case(worker, opened=date(2024, 2, 5), owner=boss,
                   person={"prs_Gender": "Masculine", "prs_Citizenship": ["NG", "GH"], "prs_Birthdate": date(1990, 2, 5)},
                   context={"vic_TraffickingStatus": "PossibleVictimOfTrafficking",
                            "vic_TypeOfExploitation": ["ForcedLabour"], "vic_MethodsOfControl": ["DebtBondage"],
                            "vic_AgeWhenTrafficked": 25})  # fmt: skip
    CaseParticipant.objects.filter(case=c2).update(vic_PlaceOfRecruitment=place_ng)
    actions.add_support_plan(worker, c2, {"spl_Type": "Health", "spl_StartDate": date(2024, 2, 5),
                                          "spl_PlannedEndDate": today() + timedelta(days=5)})  # fmt: skip
    actions.close_case(worker, c2, reason="Returned home", closed=date(2024, 3, 1))
    c3 = make_case(worker, opened=date(2024, 2, 20), role="PotentialVictim",
                   person={"prs_Gender": "Feminine", "prs_Citizenship": ["FR"]},
                   context={"vic_TraffickingStatus": "PossibleVictimOfTrafficking",
                            "vic_TypeOfExploitation": ["SexualExploitation"],
                            "vic_TypeOfSexExploitation": ["Prostitution"], "vic_AgeWhenTrafficked": 30})  # fmt: skip
    actions.add_participant(worker, c3, role="Perpetrator", person_data={"prs_FirstName": "Zed", "prs_Gender": "Masculine"})
    actions.send_referral(worker, c3, {"cas_OutgoingReferralDate": date(2024, 3, 3)})
    actions.receive_referral(worker, c3, {"cas_IncomingReferralDate": date(2024, 2, 20)})
    return {"worker": worker, "boss": boss, "cases": [c1, c2, c3]}


def _figs(user: User, filters: Filters | None = None, k: int | None = None) -> dict[str, Figure]:
    filters = filters or Filters()
    raw = counts(user, [user.organisation_id], filters, today())  # type: ignore[list-item]
    names = {str(u.pk): u.username for u in User.objects.all()}
    return by_key(build(raw, filters, k=k, owner_names=names))


def _values(fig: Figure, col: int = 0) -> dict[str, int | None]:
    return {r.code: r.cells[col].value for r in fig.rows}


@pytest.fixture
def alpha() -> dict[str, object]:
    org = make_org("alpha")
    data = _seed(org)
    data["analyst"] = make_user(org, Role.ANALYST)
    data["org"] = org
    return data


def test_it_counts_the_operations_figures(alpha: dict[str, object]) -> None:
    f = _figs(alpha["analyst"])  # type: ignore[arg-type]
    assert _values(f["case_status"]) == {"Active": 1, "FollowUp": 1, "Closed": 1, "ClosedReferred": 0}
    assert f["case_status"].totals[0].value == 3  # type: ignore[index]
    worker, boss = alpha["worker"], alpha["boss"]
    assert _values(f["open_by_owner"]) == {str(worker.pk): 2}  # type: ignore[attr-defined]
    # c2, the boss's case, is closed: the boss owns a case but no open one.
    c2 = Case.objects.get(pk=alpha["cases"][1].pk)  # type: ignore[index]
    assert c2.cas_CaseOwner_id == boss.pk and c2.cas_Status == "Closed"  # type: ignore[attr-defined]
    months = f["cases_per_month"]
    assert [r.code for r in months.rows] == ["2024-01", "2024-02", "2024-03"]
    assert _values(months, 0) == {"2024-01": 1, "2024-02": 2, "2024-03": 0}
    assert _values(months, 1) == {"2024-01": 0, "2024-02": 0, "2024-03": 1}
    refs = f["referrals_per_month"]
    assert _values(refs, 0) == {"2024-02": 1, "2024-03": 0}
    assert _values(refs, 1) == {"2024-02": 0, "2024-03": 1}
    assert _values(f["follow_ups"]) == {"overdue": 1, "due": 0, "later": 0}
    assert _values(f["plans_due"]) == {"overdue": 1, "due": 1, "later": 0, "undated": 0}
    plan = f["plan_days"]
    assert _values(plan) == {"0-7": 1, "8-30": 1, "31-90": 0, "91-180": 0, "181+": 0}
    assert dict(plan.summary)["Median"] == "0 days"
    assert dict(plan.summary)["90th percentile"] == "10 days"


def test_it_counts_days_to_a_case_s_first_plan_that_has_a_start(alpha: dict[str, object]) -> None:
    worker = alpha["worker"]
    later = make_case(worker, opened=date(2024, 1, 1))  # type: ignore[arg-type]
    for start in (date(2024, 2, 15), None, date(2024, 1, 4)):  # its first start: 3 days after opening
        actions.add_support_plan(worker, later, {"spl_Type": "Health", "spl_StartDate": start})  # type: ignore[arg-type]
    unstarted = make_case(worker, opened=date(2024, 1, 1))  # type: ignore[arg-type]
    actions.add_support_plan(worker, unstarted, {"spl_Type": "Health", "spl_StartDate": None})  # type: ignore[arg-type]
    plan = _figs(alpha["analyst"])["plan_days"]  # type: ignore[arg-type]
    # The seed's two cases (0 and 10 days) and this one; the plan without a start counts for nobody.
    assert _values(plan) == {"0-7": 2, "8-30": 1, "31-90": 0, "91-180": 0, "181+": 0}


def test_it_counts_the_profile_of_people_assisted(alpha: dict[str, object]) -> None:
    f = _figs(alpha["analyst"])  # type: ignore[arg-type]
    assert _values(f["status"]) == {"PossibleVictimOfTrafficking": 2, "ActualVictimOfTrafficking": 1,
                                    "NotAVictimOfTrafficking": 0}  # fmt: skip
    assert f["status"].totals[0].value == 3  # type: ignore[index]
    assert _values(f["exploitation"]) == {"ForcedLabour": 2, "SexualExploitation": 2}
    assert _values(f["industry"]) == {"F_Construction": 1, "": 2}
    assert _values(f["sex_exploitation"]) == {"Prostitution": 1}
    assert _values(f["control"]) == {"DebtBondage": 2, "PhysicalThreats": 1}
    assert _values(f["gender"])["Feminine"] == 2  # the perpetrator (Masculine) is not a victim
    assert _values(f["gender"])["Masculine"] == 1
    ages = _values(f["age_trafficked"])
    assert ages["9-17"] == 1 and ages["24-26"] == 1 and ages["30-38"] == 1 and ages["0-8"] == 0
    # At registration, from the (encrypted) birth date: 16 on 2024-01-10, 34 on 2024-02-05, 24 on 2024-02-20.
    at_registration = _values(f["age_registration"])
    assert at_registration["9-17"] == 1 and at_registration["30-38"] == 1 and at_registration["24-26"] == 1
    assert at_registration["0-8"] == 0 and "" not in at_registration
    assert _values(f["citizenship"]) == {"NG": 2, "GH": 1, "FR": 1}
    assert _values(f["country_recruitment"]) == {"NG": 2, "": 1}
    assert _values(f["country_exploitation"]) == {"IT": 1, "": 2}
    assert _values(f["recruitment"]) == {"AtWork": 1}
    assert _values(f["relationship"]) == {"Familial": 1, "Acquainted": 0, "Unaquainted": 0, "": 2}
    labels = {r.code: r.label for r in f["exploitation"].rows}
    assert labels["ForcedLabour"] == "Forced labour"


def test_it_applies_the_filters(alpha: dict[str, object]) -> None:
    user = alpha["analyst"]
    f = _figs(user, Filters(start=date(2024, 2, 1), end=date(2024, 2, 29)))  # type: ignore[arg-type]
    assert f["case_status"].totals[0].value == 2  # type: ignore[index]
    assert _values(f["exploitation"]) == {"ForcedLabour": 1, "SexualExploitation": 1}
    f = _figs(user, Filters(status="Closed"))  # type: ignore[arg-type]
    assert _values(f["case_status"])["Closed"] == 1 and f["case_status"].totals[0].value == 1  # type: ignore[index]
    f = _figs(user, Filters(status="open"))  # type: ignore[arg-type]
    assert f["status"].totals[0].value == 2  # type: ignore[index]
    f = _figs(user, Filters(owner=alpha["boss"].pk))  # type: ignore[arg-type, attr-defined]
    assert f["case_status"].totals[0].value == 1  # type: ignore[index]


def test_it_never_counts_another_organisations_cases(alpha: dict[str, object]) -> None:
    beta = make_org("beta")
    _seed(beta)
    _seed(beta, "2")
    f = _figs(alpha["analyst"])  # type: ignore[arg-type]
    assert f["case_status"].totals[0].value == 3  # type: ignore[index]
    assert f["status"].totals[0].value == 3  # type: ignore[index]
    assert sum(v or 0 for v in _values(f["referrals_per_month"], 0).values()) == 1
    html = _client(alpha["analyst"]).get("/dashboards/").content.decode()  # type: ignore[arg-type]
    assert "beta-worker" not in html


def test_it_lets_aggregate_readers_in_and_keeps_case_workers_out(alpha: dict[str, object]) -> None:
    r = _client(alpha["analyst"]).get("/dashboards/")  # type: ignore[arg-type]
    assert r.status_code == 200
    html = r.content.decode()
    assert "<svg" in html and "<caption>Type of exploitation</caption>" in html
    assert _client(alpha["worker"]).get("/dashboards/").status_code == 403  # type: ignore[arg-type]
    assert Client().get("/dashboards/").status_code == 302
    assert _client(alpha["analyst"]).get("/dashboards/?scope=partners").status_code == 200  # type: ignore[arg-type]


def test_it_shows_an_operator_its_partners_aggregated_with_small_cells_hidden() -> None:
    op = make_org("hub")
    p1, p2 = make_org("p1"), make_org("p2")
    for p in (p1, p2):
        ServicePartnership.objects.create(operator=op, partner=p)
    for i in range(4):
        _seed(p1, str(i))  # 12 cases, 12 people
    _seed(p2)  # 3 cases
    outsider = make_org("outsider")
    _seed(outsider)
    analyst = make_user(op, Role.ANALYST)
    r = _client(analyst).get("/dashboards/?scope=partners")
    assert r.status_code == 200
    html = r.content.decode()
    assert "&lt;11" in html
    f = by_key(build(counts(analyst, [p1.pk, p2.pk], Filters(), today()), Filters(), k=11,
                     org_names={str(p1.pk): "P1", str(p2.pk): "P2"}))  # fmt: skip
    assert f["status"].totals[0].value == 15
    # 15 people: Possible 10 (hidden), Actual 5 (hidden), Not 0.
    assert _values(f["status"]) == {"PossibleVictimOfTrafficking": None, "ActualVictimOfTrafficking": None,
                                    "NotAVictimOfTrafficking": 0}  # fmt: skip
    # Open by organisation: p1 8, p2 2 → total 10 < 11: all hidden with the total.
    assert f["open_by_owner"].totals[0].value is None
    # The outsider never counts, and the operator's own (empty) organisation is not the partners' view.
    assert f["case_status"].totals[0].value == 15
    assert "outsider" not in html


def test_it_refuses_the_partner_view_to_an_organisation_without_partners(alpha: dict[str, object]) -> None:
    from phare.dashboards.views import _scope

    with pytest.raises(Http404):
        _scope(alpha["analyst"], True)
    # The page offers no partner scope to such an organisation: asking for it shows its own figures only.
    r = _client(alpha["analyst"]).get("/dashboards/", {"scope": "partners"})  # type: ignore[arg-type]
    assert r.status_code == 200 and r.context["scope"].organisation_ids == [alpha["org"].pk]  # type: ignore[attr-defined]
    assert r.context["scope"].partners is False


def test_it_downloads_csv_and_png(alpha: dict[str, object]) -> None:
    cl = _client(alpha["analyst"])  # type: ignore[arg-type]
    r = cl.get("/dashboards/figures/exploitation.csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["Code", "Category", "People"]
    assert ["ForcedLabour", "Forced labour", "2"] in rows
    assert rows[-1] == ["", "Total", "3"]
    for key in ("exploitation", "cases_per_month", "citizenship", "plan_days"):
        r = cl.get(f"/dashboards/figures/{key}.png?start=2024-01-01")
        assert r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n", key
    assert cl.get("/dashboards/figures/nope.csv").status_code == 404
    assert cl.get("/dashboards/figures/exploitation.gif").status_code == 404


def test_it_renders_in_the_users_language_and_right_to_left_in_arabic(alpha: dict[str, object]) -> None:
    analyst: User = alpha["analyst"]  # type: ignore[assignment]
    analyst.language = "ar"
    analyst.save()
    html = _client(analyst).get("/dashboards/").content.decode()
    assert 'dir="rtl"' in html and 'lang="ar"' in html
    analyst.language = ""
    analyst.save()
    org: Organisation = alpha["org"]  # type: ignore[assignment]
    org.language = "fr"
    org.save()
    html = _client(analyst).get("/dashboards/").content.decode()
    assert 'lang="fr"' in html and 'dir="ltr"' in html


def test_it_caches_counts_per_organisation_and_filters(alpha: dict[str, object]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cl = _client(alpha["analyst"])  # type: ignore[arg-type]
    with CaptureQueriesContext(connection) as cold:
        assert cl.get("/dashboards/").status_code == 200
    with CaptureQueriesContext(connection) as warm:
        assert cl.get("/dashboards/").status_code == 200
    assert len(cold) - len(warm) >= 8  # the counting queries ran once
    with CaptureQueriesContext(connection) as other:
        assert cl.get("/dashboards/?status=open").status_code == 200
    assert len(other) - len(warm) >= 8  # other filters, other cache entry: counted again
