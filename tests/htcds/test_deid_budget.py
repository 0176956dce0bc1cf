"""The privacy-budget ledger: one per population, the better of zCDP and basic composition."""

from __future__ import annotations

import pytest

from htcds.deid.budget import BudgetExceededError, PrivacyBudgetLedger, zcdp_epsilon, zcdp_rho


def test_it_refuses_a_spend_that_would_exceed_the_budget() -> None:
    ledger = PrivacyBudgetLedger("hub", total_epsilon=1.0)
    ledger.spend(0.6, purpose="aggregate table")
    with pytest.raises(BudgetExceededError, match="exceeds what is left"):
        ledger.spend(0.5, purpose="aggregate table")
    assert len(ledger.spends) == 1
    assert ledger.remaining_epsilon == pytest.approx(0.4)


def test_it_allows_spending_exactly_the_budget_in_thirds() -> None:
    ledger = PrivacyBudgetLedger("d", total_epsilon=1.0)
    for _ in range(3):
        ledger.spend(1 / 3)
    assert not ledger.can_spend(1e-6)
    report = ledger.to_json()
    assert report["spent_epsilon"] == pytest.approx(1.0) and report["remaining_epsilon"] == pytest.approx(0.0)
    # The ledger's JSON says whose budget it is and lists every spend.
    assert report["population"] == "d" and report["spends"] == [s.__dict__ for s in ledger.spends]


def test_it_composes_many_gaussian_releases_in_zcdp() -> None:
    # Ten releases at (1, 1e-7) would be epsilon 10 by basic composition; in zCDP they are far less.
    ledger = PrivacyBudgetLedger("d", total_epsilon=6.0, total_delta=1e-6)
    for _ in range(10):
        ledger.spend(1.0, 1e-7)
    assert ledger.spent_epsilon == pytest.approx(zcdp_epsilon(10 * zcdp_rho(1.0, 1e-7), 1e-6))
    assert ledger.spent_epsilon < 6.0


def test_it_refuses_a_delta_over_the_total_or_over_one_over_n() -> None:
    ledger = PrivacyBudgetLedger("d", total_epsilon=10.0, total_delta=1e-5)
    with pytest.raises(BudgetExceededError, match="larger than the whole budget's delta"):
        ledger.spend(1.0, delta=1e-4)
    with pytest.raises(BudgetExceededError, match="larger than 1/n"):
        ledger.spend(1.0, delta=1e-5, n=300_000)
    ledger.spend(1.0, delta=1e-6, n=300_000)
    with pytest.raises(ValueError):
        ledger.spend(0.0)


def test_it_charges_a_pure_release_its_full_zcdp_cost() -> None:
    from htcds.deid.budget import release_rho

    # epsilon-DP implies (epsilon^2 / 2)-zCDP, and no less (Bun and Steinke 2016, Proposition 1.4): charging less
    # would let more releases draw on the same people than the budget allows.
    assert release_rho(1.0, 0) == pytest.approx(0.5) and release_rho(0.5, 0) == pytest.approx(0.125)
    assert release_rho(1.0, 1e-6) == pytest.approx(zcdp_rho(1.0, 1e-6))
    with pytest.raises(ValueError, match="need epsilon > 0 and 0 < delta < 1"):
        zcdp_rho(1.0, 1.0)


def test_it_says_what_a_zcdp_conversion_needs() -> None:
    for epsilon, delta in ((0.0, 1e-6), (1.0, 0.0), (1.0, 1.0)):
        with pytest.raises(ValueError, match=r"^need epsilon > 0 and 0 < delta < 1$"):
            zcdp_rho(epsilon, delta)


def test_it_says_what_a_ledger_needs() -> None:
    with pytest.raises(ValueError, match=r"^total epsilon must be positive$"):
        PrivacyBudgetLedger("d", total_epsilon=0.0)
