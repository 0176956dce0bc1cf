from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pycanon.anonymity as pycanon  # independent checker
import pytest
from django.core.management import call_command

from phare.accounts.models import Organisation, User
from phare.audit.models import AuditEvent
from phare.cases.models import Case, CaseParticipant, Consent, Person, TraffickingEvent
from phare.sharing import releases
from phare.sharing.models import PrivacyBudget, PrivacySpend, Release

pytestmark = pytest.mark.django_db
COUNTRIES = ["NG", "GH", "UA", "MD", "PH", "VN", "RO", "BG"]


def make_cases(org: Organisation, n: int, research_every: int = 1) -> None:
    """Bulk-built victims (no personal names needed for a de-identified release)."""
    cases, persons = [], []
    for i in range(n):
        cases.append(Case(organisation=org, number=f"T-{i}", seq=i + 1, cas_Status="Active",
                          cas_OpenedDate=date(2015 + i % 6, 1 + i % 12, 1)))  # fmt: skip
        persons.append(Person(organisation=org, prs_Gender=["Feminine", "Masculine"][i % 3 == 0],
                              prs_Birthdate=date(1980 + i % 25, 1, 1), prs_Citizenship=[COUNTRIES[i % 8]]))  # fmt: skip
    Case.objects.bulk_create(cases)
    Person.objects.bulk_create(persons)
    parts, events, consents = [], [], []
    for i, (case, person) in enumerate(zip(cases, persons, strict=True)):
        status = "ActualVictimOfTrafficking" if i % 10 else "NotAVictimOfTrafficking"
        parts.append(CaseParticipant(organisation=org, case=case, person=person, role="Victim", vic_TraffickingStatus=status,
                                     vic_TypeOfExploitation=[["ForcedLabour", "SexualExploitation"][i % 2]],
                                     vic_MethodsOfControl=["DebtBondage"] if i % 4 else []))  # fmt: skip
        events.append(TraffickingEvent(organisation=org, case=case, person=person, hte_Type="Exploitation",
                                       hte_Country=COUNTRIES[(i * 3) % 8]))  # fmt: skip
        purpose = ["CaseManagement", "Research"] if i % research_every == 0 else ["CaseManagement"]
        consents.append(Consent(organisation=org, case=case, person=person, con_Consent=True, con_Purpose=purpose))
    CaseParticipant.objects.bulk_create(parts)
    TraffickingEvent.objects.bulk_create(events)
    Consent.objects.bulk_create(consents)


@pytest.fixture
def org() -> Organisation:
    return Organisation.objects.create(slug="hub", org_Name="Hub")


@pytest.fixture
def analyst(org: Organisation) -> User:
    return User.objects.create_user("analyst", password="x" * 16, organisation=org, role="analyst")


@pytest.fixture
def admin(org: Organisation) -> User:
    return User.objects.create_user("admin", password="x" * 16, organisation=org, role="admin")


def test_it_releases_only_consenting_victims_k_anonymised(org: Organisation, analyst: User, tmp_path: Path) -> None:
    make_cases(org, 600, research_every=2)
    out, rep = tmp_path / "ctdc.csv", tmp_path / "report.json"
    outcome = releases.release_ctdc(analyst, org, 11, out, rep, accept_withheld=True)
    report = json.loads(rep.read_text())
    assert report["filters"]["excluded_no_research_consent"] == 300
    assert report["filters"]["excluded_not_a_victim"] == 60  # every 10th case is even, so all consented
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == outcome.release.records > 0
    after = report["risk_after"]
    assert after["k_threshold"] == 11 and after["min_class_size"] >= 11 and after["is_k_anonymous"] is True
    assert after["n_records"] == len(rows) and after["records_at_risk"] == 0
    import pandas as pd

    frame = pd.DataFrame(rows)
    qis = [c for members in report["anonymisation"]["quasi_identifiers"].values() for c in members]
    assert len(qis) == len(rows[0]) and pycanon.k_anonymity(frame, qis) >= 11
    assert AuditEvent.objects.filter(action="export.ctdc").count() == 1
    assert "prs_" not in out.read_text()


def test_it_is_k_anonymous_over_every_codebook_quasi_identifier(org: Organisation, analyst: User,
                                                                 tmp_path: Path) -> None:  # fmt: skip
    # Three victims controlled with drugs: k over five chosen columns leaves them unique on that flag (k = 1 over
    # what is published); over every codebook column they are suppressed or the family generalised.
    make_cases(org, 400)
    drugged = CaseParticipant.objects.filter(organisation=org, vic_TraffickingStatus="ActualVictimOfTrafficking")[:3]
    CaseParticipant.objects.filter(pk__in=[p.pk for p in drugged]).update(vic_MethodsOfControl=["PsychoactiveSubstance"])
    outcome = releases.release_ctdc(analyst, org, 11, tmp_path / "c.csv", tmp_path / "r.json", accept_withheld=True)
    import pandas as pd

    frame = pd.DataFrame(list(csv.DictReader((tmp_path / "c.csv").open())))
    assert pycanon.k_anonymity(frame, list(frame.columns)) >= 11
    named = json.loads((tmp_path / "r.json").read_text())["anonymisation"]["quasi_identifiers"]
    assert "meansOfControlPsychoactiveSubstances" in named["meansOfControl"] and "isSexualExploit" in named["typeOfExploitation"]
    assert outcome.report["risk_after"]["min_class_size"] >= 11


def test_it_says_what_k_costs_before_withholding_a_column_and_offers_the_trade_offs(org: Organisation, analyst: User,
                                                                                   tmp_path: Path) -> None:  # fmt: skip
    # 60 victims, every one different: k = 11 over every quasi-identifier would empty whole families. That is
    # refused with the choices; dropping families or accepting the withholding are explicit.
    make_cases(org, 67)
    with pytest.raises(releases.ReleaseRefusedError, match=r"withholds .* for every record. Drop a family") as refused:
        releases.release_ctdc(analyst, org, 11, tmp_path / "c.csv")
    assert "Leave out of the file: " in str(refused.value) or "Keep only" in str(refused.value)  # trade-offs in words
    assert not Release.objects.exists() and not (tmp_path / "c.csv").exists()
    preview = releases.preview_risk(org)
    assert preview["trade_offs"] and {"change", "family", "records_at_risk"} <= set(preview["trade_offs"][0])
    outcome = releases.release_ctdc(analyst, org, 11, tmp_path / "c.csv", accept_withheld=True)
    assert outcome.report["anonymisation"]["withheld_families"]
    dropped = releases.release_ctdc(analyst, org, 11, tmp_path / "d.csv", drop=("meansOfControl",), accept_withheld=True)
    assert not any(c.startswith("meansOfControl") for c in dropped.rows[0])


def test_it_refuses_k_below_the_threshold_unless_an_admin_writes_a_reason(org: Organisation, analyst: User,
                                                                          admin: User, tmp_path: Path) -> None:  # fmt: skip
    make_cases(org, 200)
    with pytest.raises(releases.ReleaseRefusedError, match="below this organisation's threshold"):
        releases.release_ctdc(analyst, org, 5, tmp_path / "a.csv")
    with pytest.raises(releases.ReleaseRefusedError, match="Only an organisation admin"):
        releases.release_ctdc(analyst, org, 5, tmp_path / "a.csv", override_reason="pilot")
    outcome = releases.release_ctdc(admin, org, 5, tmp_path / "a.csv", override_reason="Ministry pilot, signed DPA",
                                    accept_withheld=True)  # fmt: skip
    assert outcome.release.override_reason == "Ministry pilot, signed DPA"
    event = AuditEvent.objects.get(action="export.ctdc")
    assert event.detail["override_reason"] == "Ministry pilot, signed DPA"


def test_it_refuses_a_case_worker_and_another_organisations_analyst(org: Organisation, tmp_path: Path) -> None:
    worker = User.objects.create_user("w", password="x" * 16, organisation=org, role="case_worker")
    other = User.objects.create_user("o", password="x" * 16, role="analyst",
                                     organisation=Organisation.objects.create(slug="other", org_Name="Other"))  # fmt: skip
    make_cases(org, 50)
    for user in (worker, other):
        with pytest.raises(releases.ReleaseRefusedError):
            releases.release_ctdc(user, org, 11, tmp_path / "x.csv")
    assert not Release.objects.exists()


def test_it_spends_the_privacy_budget_and_refuses_to_overspend(org: Organisation, analyst: User, tmp_path: Path) -> None:
    make_cases(org, 300)
    PrivacyBudget.objects.create(organisation=org, total_epsilon=6.0, total_delta=1e-5)
    first = releases.release_synthetic(analyst, org, 4.0, tmp_path / "s1.csv", tmp_path / "r1.json")
    assert len(first.rows) > 0
    report = json.loads((tmp_path / "r1.json").read_text())
    # (4, 1e-6) restated at the budget's delta of 1e-5 is a smaller epsilon.
    assert 3.0 < report["budget"]["spent_epsilon"] <= 4.0
    assert report["unit_of_privacy"].startswith("one person")
    releases.release_synthetic(analyst, org, 1.0, tmp_path / "s2.csv")
    with pytest.raises(releases.ReleaseRefusedError, match="exceeds what is left"):
        releases.release_synthetic(analyst, org, 6.0, tmp_path / "s3.csv")
    assert PrivacySpend.objects.count() == 2
    assert not (tmp_path / "s3.csv").exists()


def test_it_draws_every_dp_release_of_the_same_people_from_one_budget(org: Organisation, analyst: User,
                                                                        tmp_path: Path) -> None:  # fmt: skip
    # With a budget per kind of release, synthetic data and aggregate tables would each spend a full total.
    make_cases(org, 300)
    PrivacyBudget.objects.create(organisation=org, total_epsilon=3.0, total_delta=1e-5)
    releases.release_synthetic(analyst, org, 2.0, tmp_path / "s.csv")
    releases.release_aggregate(analyst, org, ["gender", "ageBroad"], 0.5)
    with pytest.raises(releases.ReleaseRefusedError, match="exceeds what is left"):
        releases.release_aggregate(analyst, org, ["gender", "ageBroad"], 1.0)
    assert PrivacyBudget.objects.filter(organisation=org).count() == 1
    spends = list(PrivacySpend.objects.order_by("id"))
    assert [s.release.kind for s in spends if s.release] == ["synthetic", "aggregate"]
    assert AuditEvent.objects.filter(action="export.aggregate").get().detail["rho"] == pytest.approx(0.125)


def test_it_refuses_a_delta_over_the_budget_or_over_one_over_n(org: Organisation, analyst: User, tmp_path: Path) -> None:
    make_cases(org, 300)  # 270 victims, all consenting to research
    with pytest.raises(releases.ReleaseRefusedError, match="larger than the whole budget's delta"):
        releases.release_synthetic(analyst, org, 1.0, tmp_path / "s.csv", delta=1e-4)
    PrivacyBudget.objects.update_or_create(organisation=org, defaults={"total_delta": 0.01})
    with pytest.raises(releases.ReleaseRefusedError, match="larger than 1/n"):
        releases.release_synthetic(analyst, org, 1.0, tmp_path / "s.csv", delta=0.005)
    assert not PrivacySpend.objects.exists() and not Release.objects.exists()


def test_it_releases_one_row_per_person(org: Organisation, analyst: User, tmp_path: Path) -> None:
    # A person who is a victim in two cases weighs one row (their first registration), not two.
    make_cases(org, 100)
    person = Person.objects.filter(organisation=org).order_by("id")[1]  # a victim (the first is not)
    later = Case.objects.create(organisation=org, number="T-again", seq=1000, cas_Status="Active",
                                cas_OpenedDate=date(2024, 6, 1))  # fmt: skip
    CaseParticipant.objects.create(organisation=org, case=later, person=person, role="Victim",
                                   vic_TraffickingStatus="ActualVictimOfTrafficking",
                                   vic_TypeOfExploitation=["ForcedLabour"])  # fmt: skip
    Consent.objects.create(organisation=org, case=later, person=person, con_Consent=True, con_Purpose=["Research"])
    export = releases.ctdc_table(org)
    assert export.excluded_repeat_participation == 1
    assert len(export.rows) == 90
    assert "2024" not in {r["yearOfRegistration"] for r in export.rows}


def test_it_never_shows_a_citizenship_held_by_one_victim(org: Organisation, analyst: User, tmp_path: Path) -> None:
    # One victim from Tuvalu among 300: categories read from the data would publish TV in the aggregate table
    # (as a row, even with every cell withheld) and in synthetic data; public domains never do.
    make_cases(org, 300)
    person = Person.objects.filter(organisation=org).order_by("id")[1]
    person.prs_Citizenship = ["TV"]
    person.save()
    PrivacyBudget.objects.create(organisation=org, total_epsilon=100.0, total_delta=1e-5)
    shown = 0
    for _ in range(4):
        table = releases.release_aggregate(analyst, org, ["gender", "citizenship"], 1.0)
        synthetic = releases.release_synthetic(analyst, org, 1.0, tmp_path / "s.csv")
        shown += any(c["citizenship"] == "TV" for c in table.rows) + any(r["citizenship"] == "TV" for r in synthetic.rows)
        assert "TV" not in json.dumps(table.report) + json.dumps(synthetic.report)
    assert shown == 0
    # The domains are the code lists, not what the data holds (every victim here is Female or Male).
    for report in (table.report, synthetic.report):
        assert report["domains"]["gender"] == "CTDC codebook: Female, Male, Transgender, Unknown, (missing)"


def test_it_cannot_be_replayed_even_with_numpy_pinned(org: Organisation, analyst: User, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    # No release takes a seed; the noise is OpenDP's (the operating system's generator), so pinning numpy's
    # generator does not make two releases of the same data alike.
    import inspect

    import numpy as np

    for verb in (releases.release_synthetic, releases.release_aggregate):
        assert "seed" not in inspect.signature(verb).parameters
    make_cases(org, 300)
    PrivacyBudget.objects.create(organisation=org, total_epsilon=100.0, total_delta=1e-5)
    pinned = np.random.default_rng
    monkeypatch.setattr(np.random, "default_rng", lambda *a: pinned(0))
    tables = [[c["count"] for c in releases.release_aggregate(analyst, org, ["gender", "ageBroad"], 0.2).rows]
              for _ in range(2)]  # fmt: skip
    assert tables[0] != tables[1]
    runs = [releases.release_synthetic(analyst, org, 0.5, tmp_path / "s.csv").rows for _ in range(2)]
    assert runs[0] != runs[1]


def test_it_keeps_exact_figures_out_of_the_outgoing_report(org: Organisation, analyst: User, tmp_path: Path) -> None:
    # 300 cases, 150 with research consent of whom 120 victims: none of these exact counts, nor utility measured
    # on the raw data, may go out with a DP release; they are in the internal report.
    make_cases(org, 300, research_every=2)
    out, rep, internal = tmp_path / "s.csv", tmp_path / "r.json", tmp_path / "internal.json"
    outcome = releases.release_synthetic(analyst, org, 1.0, out, rep, internal_report_path=internal)
    table = releases.release_aggregate(analyst, org, ["gender", "ageBroad"], 1.0)

    def keys(value: Any) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {k for v in value.values() for k in keys(v)}
        return {k for v in value for k in keys(v)} if isinstance(value, list) else set()

    exact = {"filters", "records_in", "records_out", "excluded_no_research_consent", "excluded_not_a_victim",
             "utility", "tvd", "rare_combinations", "values_outside_domain", "seconds"}  # fmt: skip
    for report in (json.loads(rep.read_text()), table.report, outcome.release.report):
        assert not keys(report) & exact
    kept = json.loads(internal.read_text())
    assert kept["filters"]["records_out"] == 120 and "tvd" in json.dumps(kept["utility"])
    assert Release.objects.get(kind="aggregate").internal_report["filters"]["records_out"] == 120


def test_it_reports_risk_and_anonymises_any_csv_from_the_command_line(tmp_path: Path) -> None:
    src = tmp_path / "any.csv"
    with src.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["age", "district", "outcome"])
        for i in range(400):
            w.writerow([18 + i % 50, f"D{i % 7}" if i % 40 else f"Rare{i}", ["a", "b"][i % 2]])
    run = [sys.executable, "-m", "phare.cli"]
    risk = subprocess.run([*run, "risk", str(src), "--qi", "age,district", "--sensitive", "outcome", "--k", "11", "--json"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    before = json.loads(risk.stdout)
    assert before["sample_uniques"] > 0 if "sample_uniques" in before else before
    out = tmp_path / "anon.csv"
    subprocess.run([*run, "anonymize", str(src), "--qi", "age,district", "--k", "11", "--out", str(out),
                    "--report", str(tmp_path / "r.json")], capture_output=True, text=True, check=True)  # fmt: skip
    import pandas as pd

    frame = pd.read_csv(out, dtype=str)
    assert pycanon.k_anonymity(frame, ["age", "district"]) >= 11
    after = subprocess.run([*run, "risk", str(out), "--qi", "age,district", "--k", "11", "--json"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert json.loads(after.stdout) != before


def test_it_explains_a_missing_column(tmp_path: Path, capsys: Any) -> None:
    src = tmp_path / "x.csv"
    src.write_text("a,b\n1,2\n")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no column age"):
        call_command("risk", str(src), "--qi", "age")


def test_it_releases_from_the_export_command(org: Organisation, analyst: User, tmp_path: Path) -> None:
    make_cases(org, 200)
    call_command("export", "ctdc", "--org", "hub", "--k", "11", "--out", str(tmp_path / "c.csv"),
                 "--report", str(tmp_path / "c.json"), "--accept-withheld", "--drop", "meansOfControl")  # fmt: skip
    assert "meansOfControlDebtBondage" not in (tmp_path / "c.csv").read_text().splitlines()[0]
    assert json.loads((tmp_path / "c.json").read_text())["anonymisation"]["k"] == 11
    call_command("export", "synthetic", "--org", "hub", "--epsilon", "2", "--out", str(tmp_path / "s.csv"))
    assert len((tmp_path / "s.csv").read_text().splitlines()) > 100
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="below this organisation's threshold"):
        call_command("export", "ctdc", "--org", "hub", "--k", "3", "--out", str(tmp_path / "low.csv"))


def test_it_releases_dp_aggregates_with_small_cells_suppressed(org: Organisation, analyst: User) -> None:
    make_cases(org, 300)
    outcome = releases.release_aggregate(analyst, org, ["gender", "CountryOfExploitation"], 1.0)
    cells = outcome.rows
    inner = [c for c in cells if "Total" not in (c["gender"], c["CountryOfExploitation"])]
    # No published inner cell is small; whatever is withheld is marked with why.
    assert all(int(str(c["count"])) >= 11 for c in inner if c["count"] is not None)
    assert all(c["suppressed"] in ("primary", "secondary") for c in cells if c["count"] is None)
    # 300 victims over 8 countries x 2 genders: some cells are small, so something is suppressed.
    assert any(c["suppressed"] == "primary" for c in inner)
    assert outcome.report["threshold"] == 11
    assert PrivacySpend.objects.get().epsilon == 1.0
    # Over the public list of 250-odd countries, only lines with something published are listed (a country
    # nobody holds shows only when noise alone lifts its total over k, about once in ten tables).
    assert len({c["CountryOfExploitation"] for c in cells} - {*COUNTRIES, "Total"}) <= 3
    with pytest.raises(releases.ReleaseRefusedError, match="two or three"):
        releases.release_aggregate(analyst, org, ["gender"], 1.0)


def test_it_reads_real_ctdc_layouts_from_the_command_line(tmp_path: Path) -> None:
    # -99 and 0/00 for unknown, the 2021 banner line and column, and every codebook column a quasi-identifier.
    from django.core.management.base import CommandError

    from tests.fixtures.ctdc_layout import ctdc_file

    src = ctdc_file(tmp_path / "ctdc2021.csv", 3000, layout="2021")
    out = io.StringIO()
    call_command("risk", str(src), "--sensitive", "isSexualExploit", "--json", stdout=out)
    before = json.loads(out.getvalue())
    assert before["file"]["banner_columns"] and before["file"]["problems"] == 0
    assert "meansOfControl" in before["quasi_identifier_columns"] and "t_closeness" in before
    anon = tmp_path / "anon.csv"
    call_command("anonymize", str(src), "--k", "11", "--accept-withheld", "--out", str(anon), stdout=io.StringIO())
    import pandas as pd

    frame = pd.read_csv(anon, dtype=str, keep_default_na=False)
    assert pycanon.k_anonymity(frame, list(frame.columns)) >= 11
    with (tmp_path / "bad.csv").open("w") as fh:
        fh.write(src.read_text().replace("\n,2016,", "\n,2016.5,", 1))
    with pytest.raises(CommandError, match=r"(?s)not-a-year.*--problems-as-missing"):
        call_command("anonymize", str(tmp_path / "bad.csv"), "--k", "11", "--out", str(anon))
