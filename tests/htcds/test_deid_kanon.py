"""k-anonymisation, hierarchies and the risk report, checked against hand counts and pycanon."""

from __future__ import annotations

import pandas as pd
import pycanon.anonymity as pycanon
import pytest

from htcds.deid.hierarchies import (
    age_band,
    age_band_hierarchy,
    age_hierarchy,
    categorical_hierarchy,
    country_hierarchy,
    ctdc_hierarchies,
    flat_hierarchy,
    interval_hierarchy,
    m49_table,
    year_hierarchy,
)
from htcds.deid.kanon import k_anonymise
from htcds.deid.risk import risk_report
from htcds.deid.sample import ctdc_like_table

QIS = ("yearOfRegistration", "gender", "ageBroad", "citizenship", "CountryOfExploitation", "Datasource")


def test_it_bands_ages_the_ctdc_way() -> None:
    assert [age_band(a) for a in (0, 8, 9, 17, 18, 20, 21, 29, 30, 38, 39, 47, 48, 90)] == [
        "0--8", "0--8", "9--17", "9--17", "18--20", "18--20", "21--23", "27--29",
        "30--38", "30--38", "39--47", "39--47", "48+", "48+",
    ]  # fmt: skip
    h = age_hierarchy()
    assert [h(16, level) for level in range(4)] == ["16", "9--17", "Minor", "*"]
    assert [h(None, level) for level in range(4)] == ["(missing)"] * 3 + ["*"]
    assert age_band_hierarchy()("48+", 1) == "Adult"
    with pytest.raises(ValueError):
        age_band(-1)


def test_it_maps_every_iso_country_to_an_m49_region() -> None:
    import pycountry

    table = m49_table()
    assert {c.alpha_2 for c in pycountry.countries} <= set(table)
    h = country_hierarchy()
    assert [h("PH", level) for level in range(4)] == ["PH", "South-eastern Asia", "Asia", "*"]
    assert country_hierarchy(intermediate=True)("GH", 1) == "Western Africa"
    assert country_hierarchy(intermediate=True)("GH", 2) == "Sub-Saharan Africa"
    with pytest.raises(ValueError):
        h("ZZ", 1)


def test_it_builds_nested_years_intervals_and_categories() -> None:
    y = year_hierarchy()
    assert [y(2016, level) for level in range(4)] == ["2016", "2015--2019", "2010--2019", "*"]
    i = interval_hierarchy((10, 50), integer=False, name="amount")
    assert i(12.5, 1) == "[10, 20)" and i(12.5, 2) == "[0, 50)"
    with pytest.raises(ValueError):
        interval_hierarchy((10, 15))
    c = categorical_hierarchy(["a"] * 20 + ["b"] * 5 + ["c"], thresholds=(2, 10))
    assert [c("b", level) for level in range(4)] == ["b", "b", "Other", "*"]
    assert c("c", 1) == "Other"
    maps, labels = c.level_maps(["a", "b", "c", "(missing)"])
    assert labels[2] == ["a", "Other", "(missing)"] and maps[2].tolist() == [0, 1, 1, 2]


def test_it_refuses_a_hierarchy_that_is_not_nested() -> None:
    from htcds.deid.hierarchies import Hierarchy

    bad = Hierarchy("bad", ("v", "odd", "half", "*"), lambda v, lv: str(int(str(v)) % (2 if lv == 1 else 3)))
    with pytest.raises(ValueError, match="not nested"):
        bad.level_maps([1, 2, 3, 4, 5, 6])


def _check_with_pycanon(columns: dict[str, list[object]], qis: list[str], k: int) -> int:
    frame = pd.DataFrame({name: [str(v) for v in columns[name]] for name in columns})
    achieved = int(pycanon.k_anonymity(frame, qis))
    assert achieved >= k
    return achieved


def test_it_k_anonymises_and_pycanon_agrees() -> None:
    table = ctdc_like_table(5000, seed=3)
    hierarchies = ctdc_hierarchies()
    result = k_anonymise(table, {q: hierarchies[q] for q in QIS}, k=11, keep_columns=["isSexualExploit"])
    assert result.suppressed_share <= 0.05
    assert len(result.columns["gender"]) == 5000 - result.suppressed
    achieved = _check_with_pycanon(result.columns, list(QIS), 11)
    assert achieved == result.min_class_size
    l_div = int(pycanon.l_diversity(pd.DataFrame(result.columns), list(QIS), ["isSexualExploit"]))
    report = risk_report(result.columns, QIS, k=11, sensitive=["isSexualExploit"])
    assert report.l_diversity["isSexualExploit"] == l_div
    frame = pd.DataFrame({c: [str(v) for v in result.columns[c]] for c in [*QIS, "isSexualExploit"]})
    t = pycanon.t_closeness(frame, list(QIS), ["isSexualExploit"])
    assert report.t_closeness["isSexualExploit"] == pytest.approx(t)
    assert report.min_class_size == achieved and report.records_at_risk == 0
    assert 0 < result.precision_loss < 1
    assert result.to_json()["suppression"] == "remove"


def test_it_keeps_starred_records_as_a_class_of_at_least_k() -> None:
    table = ctdc_like_table(3000, seed=5)
    hierarchies = ctdc_hierarchies()
    qis = ["gender", "ageBroad", "citizenship", "CountryOfExploitation"]
    result = k_anonymise(table, {q: hierarchies[q] for q in qis}, k=5, suppression="star")
    assert len(result.columns["gender"]) == 3000
    starred = sum(1 for v in result.columns["citizenship"] if v == "*")
    assert starred == result.suppressed and (starred == 0 or starred >= 5)
    _check_with_pycanon(result.columns, qis, 5)


def test_it_tops_the_starred_class_up_to_k_from_a_class_that_can_spare_records() -> None:
    # One outlier (age 50) is starred at the exact-age level; a starred class of one would be unique, so two
    # more records are starred from the class of five, which keeps three (still k).
    table = [{"age": 30, "n": i} for i in range(5)] + [{"age": 50, "n": 5}]
    result = k_anonymise(table, {"age": age_hierarchy()}, k=3, suppression_budget=0.2, suppression="star")
    assert result.levels == {"age": 0}
    assert result.columns["age"] == ["*", "*", "30", "30", "30", "*"]
    assert result.suppressed == 3 and result.min_class_size == 3 and result.n_classes == 2
    assert result.notes == ["2 records starred to bring the starred class up to k"]
    assert result.columns["n"] == list(range(6))  # starred records stay, with their other columns


def test_it_reports_information_loss_on_a_hand_built_table() -> None:
    # Ages 20, 21, 22 fall in two bands; at k=2 with no suppression the search must reach majority
    # status (level 2 of 3), so Prec loss = 2/3 and DM = 3^2 = 9.
    table = [{"age": 20}, {"age": 21}, {"age": 22}]
    result = k_anonymise(table, {"age": age_hierarchy()}, k=2, suppression_budget=0)
    assert result.levels == {"age": 2}
    assert result.columns["age"] == ["Adult"] * 3
    assert result.discernibility == 9
    assert result.precision_loss == pytest.approx(2 / 3)
    # With one record of budget, the band level is enough: 21 and 22 stay, 20 goes.
    result = k_anonymise(table, {"age": age_hierarchy()}, k=2, suppression_budget=0.34)
    assert result.levels == {"age": 1} and result.suppressed == 1
    assert result.columns["age"] == ["21--23", "21--23"]
    assert result.discernibility == 4 + 1 * 3
    assert result.precision_loss == pytest.approx((2 * (1 / 3) + 1) / 3)


def test_it_picks_the_cheapest_of_several_minimal_nodes() -> None:
    # Either generalising sex or age alone would do; age costs 1/3 per record, sex 1/1, so age wins.
    table = {"sex": ["F", "M", "F", "M"], "age": [21, 21, 22, 22]}
    qis = {"sex": flat_hierarchy("sex"), "age": age_hierarchy()}
    result = k_anonymise(table, qis, k=2, suppression_budget=0)
    assert result.levels == {"sex": 0, "age": 1}


def test_it_computes_the_risk_report_by_hand() -> None:
    rows = [
        {"sex": "F", "age": "18--20", "nat": "PH", "exp": "1"},
        {"sex": "F", "age": "18--20", "nat": "PH", "exp": "0"},
        {"sex": "F", "age": "18--20", "nat": "PH", "exp": "1"},
        {"sex": "F", "age": "21--23", "nat": "PH", "exp": "1"},
        {"sex": "M", "age": "21--23", "nat": "UA", "exp": "1"},
        {"sex": "M", "age": "21--23", "nat": "UA", "exp": "1"},
        {"sex": "M", "age": "21--23", "nat": "MD", "exp": "0"},
        {"sex": "M", "age": None, "nat": "MD", "exp": "0"},
    ]
    # Classes: F/18-20/PH x3, F/21-23/PH x1, M/21-23/UA x2, M/21-23/MD x1, M/missing/MD x1.
    report = risk_report(rows, ["sex", "age", "nat"], k=2, sensitive=["exp"])
    assert report.n_classes == 5
    assert report.min_class_size == 1
    assert report.sample_uniques == 3
    assert report.records_at_risk == 3 and report.share_at_risk == pytest.approx(3 / 8)
    assert report.l_diversity == {"exp": 1}
    by_qi = {c.quasi_identifier: c for c in report.contributions}
    # Without age: F/PH x4, M/UA x2, M/MD x2 -> nobody at risk.
    assert by_qi["age"].records_at_risk_without == 0 and by_qi["age"].min_class_size_without == 2
    # Without nat: F/18-20 x3, F/21-23 x1, M/21-23 x3, M/missing x1 -> 2 at risk.
    assert by_qi["nat"].records_at_risk_without == 2
    # Without sex: 18-20/PH x3, 21-23/PH x1, 21-23/UA x2, 21-23/MD x1, missing/MD x1 -> 3 at risk.
    assert by_qi["sex"].records_at_risk_removed == 0
    assert report.riskiest_quasi_identifier == "age"
    assert report.to_json()["is_k_anonymous"] is False


def test_it_takes_column_arrays_as_well_as_rows() -> None:
    import numpy as np

    report = risk_report({"a": np.array([1, 1, 2, 2, 2]), "b": ["x", "x", "y", "y", ""]}, ["a", "b"], k=2)
    assert report.min_class_size == 1 and report.records_at_risk == 1


def test_it_refuses_a_table_of_columns_of_different_lengths() -> None:
    ragged = {"age": [20, 21, 22, 23], "gender": ["Female", "Male", "Female"]}
    with pytest.raises(ValueError, match="columns have different lengths"):
        k_anonymise(ragged, {"age": age_hierarchy()}, k=2)


def test_it_names_each_ctdc_hierarchy_and_level_after_its_column() -> None:
    # The k-anonymity report and the ARX-style tables name columns and levels with these names.
    hierarchies = ctdc_hierarchies()
    flags = {"majorityStatus", "majorityStatusAtExploit", "majorityEntry", "isForcedLabour", "isSexualExploit",
             "isOtherExploit", "isAbduction"}  # fmt: skip
    assert set(hierarchies) == set(QIS) | flags
    shared = {"yearOfRegistration": "year", "citizenship": "country", "CountryOfExploitation": "country"}
    assert all(h.name == shared.get(column, column) for column, h in hierarchies.items())
    assert hierarchies["ageBroad"].level_names == ("ageBroad", "majorityStatus", "*")
    assert age_hierarchy().level_names == ("age", "ageBroad", "majorityStatus", "*")
    assert age_hierarchy().table([16, 30, 16]) == {0: ["16", "30"], 1: ["9--17", "30--38"], 2: ["Minor", "Adult"],
                                                   3: ["*", "*"]}  # fmt: skip


def test_it_says_which_value_is_not_an_age() -> None:
    with pytest.raises(ValueError, match=r"^not an age: 'sixteen'$"):
        age_band("sixteen")
    with pytest.raises(ValueError, match=r"^not an age: \[16\]$"):
        age_band([16])


def test_it_lumps_rare_categories_from_a_frequency_table() -> None:
    c = categorical_hierarchy({"a": 20, "b": 5, "c": 1}, thresholds=(2, 10))
    assert [c(v, 1) for v in "abc"] == ["a", "b", "Other"] and [c(v, 2) for v in "abc"] == ["a", "Other", "Other"]


def test_it_generalises_every_quasi_identifier_when_nothing_less_is_k_anonymous() -> None:
    # Two people who differ in everything: only the top of the lattice puts them in one class.
    table = {"gender": ["Female", "Male"], "year": [2001, 2019]}
    result = k_anonymise(table, {"gender": flat_hierarchy("gender"), "year": year_hierarchy()}, k=2,
                         suppression_budget=0.0)  # fmt: skip
    assert result.levels == {"gender": 1, "year": 3} and result.suppressed == 0
    assert result.columns["gender"] == result.columns["year"] == ["*", "*"]
    assert 1 < result.nodes_evaluated <= result.lattice_size == 8


def test_it_prunes_the_search_with_the_precision_bound() -> None:
    table = ctdc_like_table(2000, seed=3)
    hierarchies = ctdc_hierarchies()
    qis = {q: hierarchies[q] for q in QIS}
    by_precision = k_anonymise(table, qis, k=5, suppression_budget=0.02)
    # Discernibility has no such bound: every node below the optimum is tagged.
    exhaustive = k_anonymise(table, qis, k=5, suppression_budget=0.02, metric="discernibility")
    assert by_precision.nodes_evaluated < exhaustive.nodes_evaluated < exhaustive.lattice_size
    assert by_precision.min_class_size >= 5 and by_precision.suppressed_share <= 0.02


def test_it_reads_a_quasi_identifier_no_record_holds_as_missing_and_takes_k_of_one() -> None:
    rows: list[dict[str, object]] = [{"gender": "Female"}, {"gender": "Female"}, {"gender": "Male"}]
    report = risk_report(rows, ["gender", "age"], k=2)
    assert report.records_at_risk == 1 and report.sample_uniques == 1
    assert risk_report(rows, ["gender", "age"], k=1).records_at_risk == 0
    with pytest.raises(ValueError, match=r"^k must be at least 1$"):
        risk_report(rows, ["gender"], k=0)


def test_it_refuses_a_suppression_budget_that_is_not_a_share() -> None:
    table = {"gender": ["Female", "Male"]}
    for budget in (-0.1, 1.0):
        with pytest.raises(ValueError, match=r"^the suppression budget is a share in \[0, 1\)$"):
            k_anonymise(table, {"gender": flat_hierarchy("gender")}, k=2, suppression_budget=budget)


def test_it_puts_the_quasi_identifiers_and_their_contributions_in_the_report_a_release_keeps() -> None:
    rows: list[dict[str, object]] = [{"gender": "Female", "age": "18--20"}, {"gender": "Female", "age": "18--20"},
                                     {"gender": "Male", "age": "18--20"}]  # fmt: skip
    report = risk_report(rows, ["gender", "age"], k=2).to_json()
    assert set(report) == {"quasi_identifiers", "contributions", "riskiest_quasi_identifier", "k_threshold",
                           "n_records", "n_classes", "min_class_size", "is_k_anonymous", "records_at_risk",
                           "share_at_risk", "sample_uniques", "l_diversity", "t_closeness"}  # fmt: skip
    assert report["quasi_identifiers"] == ["gender", "age"]
    contributions = {c["quasi_identifier"]: c["records_at_risk_without"] for c in report["contributions"]}
    assert contributions == {"gender": 0, "age": 1}


def test_it_measures_risk_against_k_11_unless_told_and_names_the_riskiest_quasi_identifier() -> None:
    rows: list[dict[str, object]] = [{"gender": "Female", "age": "18--20"}] * 11 + [{"gender": "Male", "age": "18--20"}]
    report = risk_report(rows, ["gender", "age"])
    assert report.k_threshold == 11 and report.records_at_risk == 1
    # One record at risk is enough to say which quasi-identifier puts it there.
    assert report.riskiest_quasi_identifier == "gender"


def test_it_names_the_year_levels_and_refuses_k_below_one() -> None:
    assert year_hierarchy().level_names == ("year", "5-year period", "decade", "*")
    with pytest.raises(ValueError, match=r"^k must be at least 1$"):
        k_anonymise({"gender": ["Female"]}, {"gender": flat_hierarchy("gender")}, k=0)
