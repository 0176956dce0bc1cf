"""Privacy-budget ledger: one per population, in zero-concentrated differential privacy.

Differential privacy only protects people if every release drawn from the same people is counted against
one total: synthetic microdata, count tables and any other DP release of an organisation's victims draw on
one ledger. Every release is recorded with its (epsilon, delta) and its cost in zCDP's rho (Bun and Steinke,
"Concentrated Differential Privacy", TCC 2016): a Gaussian-noise release states its own rho, a pure
epsilon-DP release costs epsilon^2 / 2 (their Proposition 1.4). Two compositions of the same releases are
both valid, so the ledger states the better one as what has been spent:

* zCDP: the rhos add up, and rho-zCDP is (rho + 2 sqrt(rho ln(1/delta)), delta)-DP at the total's delta
  (their Proposition 1.3); tight for many Gaussian releases;
* basic sequential composition: the epsilons and the deltas add up; tight for a few pure-DP tables.

A release fits when what has been spent, with it, stays within the total epsilon (at the total delta).
Two checks come before the rho check. A release's delta may not exceed the total's delta (its guarantee
cannot be weaker than the whole ledger's), and, given the number of people n, a delta above 1/n is refused:
delta is the chance the guarantee fails outright, and at 1/n that is one person's record exposed.

It is deliberately a plain in-memory object; the Django side persists the spends and rebuilds the ledger
from them before each release.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

_SLACK = 1e-12
"""Tolerance so that splitting a budget into, say, thirds and spending all three does not fail on
floating-point rounding."""


class BudgetExceededError(ValueError):
    """A spend would take the population past its total privacy budget, or asks for too large a delta."""


def zcdp_rho(epsilon: float, delta: float) -> float:
    """Largest zCDP rho whose (epsilon, delta)-DP guarantee meets the one asked for."""
    if epsilon <= 0 or not 0 < delta < 1:
        raise ValueError("need epsilon > 0 and 0 < delta < 1")
    log_term = math.log(1 / delta)
    return (math.sqrt(log_term + epsilon) - math.sqrt(log_term)) ** 2


def zcdp_epsilon(rho: float, delta: float) -> float:
    """The epsilon at ``delta`` that rho-zCDP guarantees (0 for rho 0)."""
    if rho <= 0:
        return 0.0
    return rho + 2 * math.sqrt(rho * math.log(1 / delta))


def release_rho(epsilon: float, delta: float) -> float:
    """What a release at (epsilon, delta) costs: epsilon^2 / 2 when pure (delta 0), else zcdp_rho."""
    return epsilon**2 / 2 if delta == 0 else zcdp_rho(epsilon, delta)


@dataclass(frozen=True)
class Spend:
    """One release charged against the population's budget."""

    epsilon: float
    delta: float
    rho: float
    purpose: str
    at: str


@dataclass
class PrivacyBudgetLedger:
    """Total (epsilon, delta) for one population and the spends charged against it."""

    population: str
    total_epsilon: float
    total_delta: float = 1e-5
    spends: list[Spend] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.total_epsilon <= 0:
            raise ValueError("total epsilon must be positive")
        if not 0 < self.total_delta < 1:
            raise ValueError("total delta must be in (0, 1)")

    @property
    def total_rho(self) -> float:
        return zcdp_rho(self.total_epsilon, self.total_delta)

    @property
    def spent_rho(self) -> float:
        return sum(s.rho for s in self.spends)

    def _composed(self, extra: list[tuple[float, float, float]]) -> float:
        """Epsilon at the total delta that the spends plus ``extra`` (epsilon, delta, rho) amount to."""
        parts = [(s.epsilon, s.delta, s.rho) for s in self.spends] + extra
        by_zcdp = zcdp_epsilon(sum(p[2] for p in parts), self.total_delta)
        basic = sum(p[0] for p in parts) if sum(p[1] for p in parts) <= self.total_delta + _SLACK else math.inf
        return min(by_zcdp, basic)

    @property
    def spent_epsilon(self) -> float:
        """What every release so far amounts to together, as epsilon at the total's delta."""
        return self._composed([])

    @property
    def remaining_epsilon(self) -> float:
        return max(self.total_epsilon - self.spent_epsilon, 0.0)

    def refusal(self, epsilon: float, delta: float, rho: float | None = None, n: int | None = None) -> str | None:
        """Why a release of this cost may not happen, or None if it fits."""
        if epsilon <= 0 or delta < 0:
            return "a release needs epsilon > 0 and delta >= 0"
        if delta > self.total_delta:
            return f"delta {delta:g} is larger than the whole budget's delta ({self.total_delta:g})"
        if n is not None and delta > 1 / max(n, 1):
            return f"delta {delta:g} is larger than 1/n for the {n} people released: choose delta below {1 / max(n, 1):.2g}"
        cost = release_rho(epsilon, delta) if rho is None else rho
        if self._composed([(epsilon, delta, cost)]) > self.total_epsilon + _SLACK:
            return (
                f"epsilon {epsilon:g} exceeds what is left of this organisation's privacy budget ("
                f"{self.spent_epsilon:.3g} of epsilon {self.total_epsilon:g} at delta {self.total_delta:g} already "
                "spent); an admin can raise the total, knowing every release adds up"
            )
        return None

    def can_spend(self, epsilon: float, delta: float = 0.0, rho: float | None = None, n: int | None = None) -> bool:
        return self.refusal(epsilon, delta, rho, n) is None

    def spend(
        self, epsilon: float, delta: float = 0.0, purpose: str = "", rho: float | None = None, n: int | None = None
    ) -> Spend:
        """Record a release, or raise BudgetExceededError and record nothing.

        Callers must spend *before* publishing: a refused spend means the release must not happen.
        """
        if epsilon <= 0 or delta < 0:
            raise ValueError("a spend needs epsilon > 0 and delta >= 0")
        reason = self.refusal(epsilon, delta, rho, n)
        if reason is not None:
            raise BudgetExceededError(f"{self.population}: {purpose or 'an unnamed release'} refused: {reason}")
        cost = release_rho(epsilon, delta) if rho is None else rho
        entry = Spend(epsilon, delta, cost, purpose, datetime.now(UTC).isoformat(timespec="seconds"))
        self.spends.append(entry)
        return entry

    def to_json(self) -> dict[str, object]:
        return {
            "population": self.population,
            "accounting": "the better of zCDP (rho adds up) and basic composition (epsilons and deltas add up)",
            "total_epsilon": self.total_epsilon,
            "total_delta": self.total_delta,
            "total_rho": self.total_rho,
            "spent_rho": self.spent_rho,
            "spent_epsilon": self.spent_epsilon,
            "remaining_epsilon": self.remaining_epsilon,
            "spends": [asdict(s) for s in self.spends],
        }
