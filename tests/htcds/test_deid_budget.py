"""The privacy-budget ledger."""

from __future__ import annotations

import pytest

from htcds.deid.budget import BudgetExceededError, PrivacyBudgetLedger


def test_it_refuses_a_spend_that_would_exceed_the_budget() -> None:
    ledger = PrivacyBudgetLedger("ctdc-2025", total_epsilon=1.0)
    ledger.spend(0.6, purpose="synthetic release")
    with pytest.raises(BudgetExceededError, match="would exceed"):
        ledger.spend(0.5, purpose="aggregate table")
    assert len(ledger.spends) == 1
    assert ledger.remaining_epsilon == pytest.approx(0.4)


def test_it_allows_spending_exactly_the_budget_in_thirds() -> None:
    ledger = PrivacyBudgetLedger("d", total_epsilon=1.0)
    for _ in range(3):
        ledger.spend(1 / 3)
    assert not ledger.can_spend(1e-6)
    assert ledger.to_json()["spent_epsilon"] == pytest.approx(1.0)


def test_it_accounts_delta_separately() -> None:
    ledger = PrivacyBudgetLedger("d", total_epsilon=10.0, total_delta=1e-6)
    with pytest.raises(BudgetExceededError):
        ledger.spend(1.0, delta=1e-5)
    with pytest.raises(ValueError):
        ledger.spend(0.0)
