"""Privacy-budget ledger.

Differential privacy only protects people if every release drawn from the same dataset is counted
against one total: two releases at epsilon 1 each are, together, an epsilon-2 release (basic sequential
composition). This ledger is the single place that sums them. It is deliberately a plain in-memory
object; the Django side persists the spends and rebuilds the ledger from them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

_SLACK = 1e-12
"""Tolerance so that splitting a budget into, say, thirds and spending all three does not fail on
floating-point rounding."""


class BudgetExceededError(ValueError):
    """A spend would take the dataset past its total privacy budget."""


@dataclass(frozen=True)
class Spend:
    """One release charged against a dataset's budget."""

    epsilon: float
    delta: float
    purpose: str
    at: str


@dataclass
class PrivacyBudgetLedger:
    """Total (epsilon, delta) for one dataset and the spends charged against it.

    Composition is the basic sum of epsilons and deltas. It is loose compared with advanced or zCDP
    composition, but it is the one an auditor can check by hand, and the mechanisms in this package
    already do their tighter accounting internally before reporting a single (epsilon, delta).
    """

    dataset: str
    total_epsilon: float
    total_delta: float = 0.0
    spends: list[Spend] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.total_epsilon <= 0:
            raise ValueError("total epsilon must be positive")
        if not 0 <= self.total_delta < 1:
            raise ValueError("total delta must be in [0, 1)")

    @property
    def spent_epsilon(self) -> float:
        return sum(s.epsilon for s in self.spends)

    @property
    def spent_delta(self) -> float:
        return sum(s.delta for s in self.spends)

    @property
    def remaining_epsilon(self) -> float:
        return max(self.total_epsilon - self.spent_epsilon, 0.0)

    @property
    def remaining_delta(self) -> float:
        return max(self.total_delta - self.spent_delta, 0.0)

    def can_spend(self, epsilon: float, delta: float = 0.0) -> bool:
        """Whether a release of this cost would still fit."""
        return (
            self.spent_epsilon + epsilon <= self.total_epsilon + _SLACK
            and self.spent_delta + delta <= self.total_delta + _SLACK
        )

    def spend(self, epsilon: float, delta: float = 0.0, purpose: str = "") -> Spend:
        """Record a release, or raise BudgetExceededError and record nothing.

        Callers must spend *before* publishing: a refused spend means the release must not happen.
        """
        if epsilon <= 0 or delta < 0:
            raise ValueError("a spend needs epsilon > 0 and delta >= 0")
        if not self.can_spend(epsilon, delta):
            raise BudgetExceededError(
                f"dataset {self.dataset!r}: spending epsilon={epsilon:g}, delta={delta:g} for "
                f"{purpose or 'an unnamed release'} would exceed the budget (epsilon "
                f"{self.spent_epsilon:g} of {self.total_epsilon:g} and delta {self.spent_delta:g} "
                f"of {self.total_delta:g} already spent)"
            )
        entry = Spend(epsilon, delta, purpose, datetime.now(UTC).isoformat(timespec="seconds"))
        self.spends.append(entry)
        return entry

    def to_json(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "total_epsilon": self.total_epsilon,
            "total_delta": self.total_delta,
            "spent_epsilon": self.spent_epsilon,
            "spent_delta": self.spent_delta,
            "remaining_epsilon": self.remaining_epsilon,
            "spends": [asdict(s) for s in self.spends],
        }
