"""Differentially private synthetic microdata and its utility report."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from htcds.deid.budget import BudgetExceededError, PrivacyBudgetLedger, zcdp_rho
from htcds.deid.domains import POOLED, ctdc_domains
from htcds.deid.sample import ctdc_like_table
from htcds.deid.synth import synthesise, utility_report

COLUMNS = ["yearOfRegistration", "gender", "ageBroad", "citizenship", "CountryOfExploitation", "isSexualExploit"]
DOMAINS = ctdc_domains(COLUMNS, first_year=2000, last_year=2020)


def _table(n: int = 4000) -> dict[str, list[object]]:
    full = ctdc_like_table(n, seed=11)
    return {name: [str(v) for v in full[name]] for name in COLUMNS}


def test_it_keeps_the_schema_and_takes_values_only_from_the_public_domains() -> None:
    table = _table()
    result = synthesise(table, epsilon=4.0, domains=DOMAINS)
    assert list(result.columns) == COLUMNS
    assert all(len(col) == result.n_records for col in result.columns.values())
    assert abs(result.n_records - 4000) < 200
    for name in COLUMNS:
        assert set(result.columns[name]) <= {*DOMAINS[name], POOLED}
    assert len(result.tree) == len(COLUMNS) - 1
    assert result.rows()[0].keys() == set(COLUMNS)


def test_it_refuses_a_column_without_a_public_domain_or_a_value_outside_it() -> None:
    table = _table(300)
    with pytest.raises(ValueError, match="no public domain for citizenship"):
        synthesise(table, 1.0, domains={c: d for c, d in DOMAINS.items() if c != "citizenship"})
    table["citizenship"][0] = "ZZ"
    with pytest.raises(ValueError, match="outside the given domain"):
        synthesise(table, 1.0, domains=DOMAINS)


def test_it_accounts_for_the_whole_epsilon_as_opendp_certifies_it() -> None:
    result = synthesise(_table(1000), epsilon=2.0, delta=1e-5, n_records=500, domains=DOMAINS)
    acc = result.accounting
    assert acc["rho_one_way"] + acc["rho_edge_selection"] + acc["rho_two_way"] == pytest.approx(result.rho)
    assert acc["rho_certified_by_opendp"] == pytest.approx(result.rho, rel=1e-6)
    assert acc["epsilon_implied"] == pytest.approx(2.0)
    # A Gaussian measurement of d histograms at sigma costs d / (2 sigma^2) in zCDP.
    assert len(COLUMNS) / (2 * acc["sigma_one_way"] ** 2) == pytest.approx(acc["rho_one_way"])
    assert zcdp_rho(2.0, 1e-5) + 2 * math.sqrt(zcdp_rho(2.0, 1e-5) * math.log(1e5)) == pytest.approx(2.0)
    assert result.n_records == 500
    assert all("opendp" in m for m in result.mechanisms)
    assert "seconds" not in result.to_json()


def test_it_charges_the_ledger_and_stops_when_the_budget_is_gone() -> None:
    ledger = PrivacyBudgetLedger("ctdc", total_epsilon=3.0, total_delta=1e-5)
    synthesise(_table(500), epsilon=2.0, delta=1e-6, ledger=ledger, domains=DOMAINS)
    assert ledger.spent_rho == pytest.approx(zcdp_rho(2.0, 1e-6))
    with pytest.raises(BudgetExceededError):
        synthesise(_table(500), epsilon=3.0, delta=1e-6, ledger=ledger, domains=DOMAINS)


def test_it_cannot_be_replayed() -> None:
    table = _table(1000)
    assert synthesise(table, 1.0, domains=DOMAINS).columns != synthesise(table, 1.0, domains=DOMAINS).columns


def test_it_never_publishes_a_citizenship_held_by_one_person() -> None:
    # 300 people from 8 countries, and one from Tuvalu: a value whose count is lost in the noise is
    # published as "(other)", so the one person's citizenship does not surface; read from the data (or
    # redistributed among the pooled values) it does, in most runs.
    base = _table(300)
    base["citizenship"] = [["NG", "GH", "UA", "MD", "PH", "VN", "RO", "BG"][i % 8] for i in range(300)]
    base["citizenship"][0] = "TV"
    seen = Counter(run for run in range(10) if "TV" in synthesise(base, 1.0, domains=DOMAINS).columns["citizenship"])
    assert len(seen) <= 1


def test_it_stays_close_on_low_order_marginals_at_epsilon_4() -> None:
    table = _table()
    result = synthesise(table, epsilon=4.0, domains=DOMAINS)
    report = utility_report(table, result.columns, max_length=2)
    assert report.tvd[1]["mean"] < 0.03
    assert report.tvd[2]["mean"] < 0.1
    assert 0 <= report.fabricated_share < 1 and 0 <= report.rare_preserved_share <= 1


def test_it_computes_the_utility_report_by_hand() -> None:
    sensitive = {"a": ["x", "x", "y", "y"], "b": ["1", "2", "1", "1"]}
    synthetic = {"a": ["x", "x", "x", "y"], "b": ["1", "1", "2", "2"]}
    report = utility_report(sensitive, synthetic, rare_threshold=2)
    # a: (.5,.5) vs (.75,.25) -> .25 ; b: (.75,.25) vs (.5,.5) -> .25
    assert report.tvd[1] == {"mean": 0.25, "max": 0.25, "count": 2}
    # ab cells: x1 .25/.5, x2 .25/.25, y1 .5/0, y2 0/.25 -> (.25 + 0 + .5 + .25) / 2 = .5
    assert report.tvd[2]["mean"] == pytest.approx(0.5)
    # Rare (count 1): a none; b "2"; ab x1, x2 -> 3 rare, all present in synthetic.
    assert report.rare_combinations == 3 and report.rare_preserved == 3
    # Synthetic combinations: a 2, b 2, ab x1 x2 y2 -> 7, of which y2 is fabricated.
    assert report.synthetic_combinations == 7 and report.fabricated == 1
    # The release note carries the report as JSON, distances by combination length.
    assert report.to_json()["tvd"] == {"1": report.tvd[1], "2": report.tvd[2]}


def test_it_allocates_exactly_the_records_asked_for_even_when_every_noisy_count_is_zero() -> None:
    import numpy as np

    from htcds.deid.synth import _allocate

    rng = np.random.default_rng(3)
    for probs in (np.zeros(4), np.array([-2.0, -1.0, 0.0]), np.array([0.2, 0.5, 0.3])):
        counts = _allocate(10, probs, rng)
        assert counts.sum() == 10 and (counts >= 0).all()
    # Nothing known: the records spread evenly, each count within one of its share.
    assert set(_allocate(10, np.zeros(4), rng).tolist()) <= {2, 3}
