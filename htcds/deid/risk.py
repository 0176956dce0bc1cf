"""Re-identification risk report for a table before (or after) it is shared.

The report answers the questions a data-protection reviewer asks before a release: how small is the
smallest group of people who look alike on the quasi-identifiers (k), how many records sit in groups
smaller than the agreed k, how many are unique in the sample, whether a sensitive attribute is
homogeneous within a group (distinct l-diversity), how far a group's distribution of a sensitive attribute is
from the whole table's (t-closeness, Li, Li and Venkatasubramanian, ICDE 2007, with the equal-distance ground
metric for categories, as pycanon computes it: the largest total variation distance over the groups), and
which quasi-identifier to coarsen first.

The "riskiest" quasi-identifier is the one whose removal takes the most records out of small classes
(ties broken by the larger smallest class that results). That is a direct, explainable measure of
what generalising that column would buy, unlike entropy-style scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from htcds.deid._table import Codes, Table, combine, encode, n_rows, to_columns


@dataclass(frozen=True)
class QIContribution:
    """What dropping one quasi-identifier would do to the risk."""

    quasi_identifier: str
    min_class_size_without: int
    records_at_risk_without: int
    records_at_risk_removed: int


@dataclass(frozen=True)
class RiskReport:
    """Risk figures for one table and one choice of quasi-identifiers."""

    quasi_identifiers: tuple[str, ...]
    k_threshold: int
    n_records: int
    n_classes: int
    min_class_size: int
    records_at_risk: int
    share_at_risk: float
    sample_uniques: int
    l_diversity: dict[str, int]
    t_closeness: dict[str, float]
    contributions: tuple[QIContribution, ...]
    riskiest_quasi_identifier: str | None

    @property
    def is_k_anonymous(self) -> bool:
        return self.min_class_size >= self.k_threshold

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        out["quasi_identifiers"] = list(self.quasi_identifiers)
        out["contributions"] = [asdict(c) for c in self.contributions]
        out["is_k_anonymous"] = self.is_k_anonymous
        return out


def _classes(codes: Sequence[Codes], sizes: Sequence[int], n: int) -> tuple[Codes, Codes]:
    """Class index per record and class sizes; no quasi-identifier means one class of everyone."""
    if not codes:
        return np.zeros(n, dtype=np.int64), np.array([n], dtype=np.int64)
    key, _ = combine(codes, sizes)
    _, inverse = np.unique(key, return_inverse=True)
    inverse = inverse.astype(np.int64, copy=False).reshape(-1)
    return inverse, np.bincount(inverse).astype(np.int64)


def risk_report(
    table: Table, quasi_identifiers: Sequence[str], k: int = 11, sensitive: Sequence[str] = ()
) -> RiskReport:
    """Risk report of ``table`` over ``quasi_identifiers`` against the threshold ``k``.

    Values are taken as they are (generalised or not); "(missing)" is a category like any other, as
    an attacker would treat it. ``sensitive`` columns get a distinct l-diversity figure: the smallest
    number of different values of that column found within one equivalence class.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    qis = tuple(quasi_identifiers)
    columns = to_columns(table, list(dict.fromkeys(list(qis) + list(sensitive))))
    n = n_rows(columns)
    if n == 0:
        raise ValueError("the table is empty")
    encoded = [encode(columns[name]) for name in qis]
    codes = [c for c, _ in encoded]
    sizes = [len(labels) for _, labels in encoded]

    record_class, class_sizes = _classes(codes, sizes, n)
    at_risk = int(class_sizes[class_sizes < k].sum())

    l_div: dict[str, int] = {}
    t_close: dict[str, float] = {}
    for name in sensitive:
        s_codes, s_labels = encode(columns[name])
        m = len(s_labels)
        pair = record_class * m + s_codes
        distinct_pairs = np.unique(pair)
        per_class = np.bincount(distinct_pairs // m, minlength=class_sizes.size)
        l_div[name] = int(per_class.min())
        within = np.bincount(pair, minlength=class_sizes.size * m).reshape(class_sizes.size, m)
        overall = np.bincount(s_codes, minlength=m) / n
        distance = 0.5 * np.abs(within / class_sizes[:, None] - overall[None, :]).sum(axis=1)
        t_close[name] = float(distance.max())

    contributions: list[QIContribution] = []
    for i, name in enumerate(qis):
        rest = [c for j, c in enumerate(codes) if j != i]
        rest_sizes = [s for j, s in enumerate(sizes) if j != i]
        _, without = _classes(rest, rest_sizes, n)
        risk_without = int(without[without < k].sum())
        contributions.append(QIContribution(name, int(without.min()), risk_without, at_risk - risk_without))
    riskiest = None
    if contributions and at_risk > 0:
        top = max(contributions, key=lambda c: (c.records_at_risk_removed, c.min_class_size_without))
        riskiest = top.quasi_identifier

    return RiskReport(
        quasi_identifiers=qis,
        k_threshold=k,
        n_records=n,
        n_classes=int(class_sizes.size),
        min_class_size=int(class_sizes.min()),
        records_at_risk=at_risk,
        share_at_risk=at_risk / n,
        sample_uniques=int((class_sizes == 1).sum()),
        l_diversity=l_div,
        t_closeness=t_close,
        contributions=tuple(contributions),
        riskiest_quasi_identifier=riskiest,
    )
