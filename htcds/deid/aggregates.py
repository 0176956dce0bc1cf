"""Differentially private count tables with small-cell suppression.

A table of counts by two or three attributes is the release most partners ask for. Two protections are
layered, because they answer two different rules:

* differential privacy: every cell gets discrete Laplace noise of scale 1/epsilon. Adding or removing
  one person changes one cell by one (L1 sensitivity 1), so the whole table is epsilon-DP. The noise
  comes from OpenDP's vetted sampler when ``opendp`` is installed (it uses a cryptographic RNG and
  integer arithmetic, so it leaks nothing through floating-point artefacts). Without OpenDP, or with
  ``mechanism="numpy"`` for reproducible tests, the same distribution is drawn as the difference of
  two geometric variables with numpy's generator: mathematically the same mechanism, but not
  hardened against timing or floating-point side channels, so use it for tests and demos only;
* small-cell suppression, the rule most data-sharing agreements carry (CTDC's is 11): published values
  under the threshold are withheld. The threshold is applied to the noisy values, never the true ones,
  so the suppression pattern is itself differentially private (post-processing).

Secondary suppression. When totals are published, a single withheld value in a row (or any line of a
3-way table) is just the total minus the rest. The table is therefore treated with its margins as one
array in which every line adds up to its total, and, until no line holds exactly one withheld value,
the smallest visible value of such a line is withheld too (smallest, to lose the least information).
This is the standard "no lone suppression per line" rule; it does not solve the full linear-programming
audit that a determined attacker with many overlapping tables could run, which is one more reason the
counts are noisy in the first place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from htcds.deid._table import Codes, Table, encode, n_rows, normalise, to_columns
from htcds.deid.budget import PrivacyBudgetLedger

TOTAL = "Total"
Mechanism = Literal["auto", "opendp", "numpy"]
Ints = np.ndarray[Any, np.dtype[np.int64]]
Bools = np.ndarray[Any, np.dtype[np.bool_]]

NOT_SUPPRESSED, PRIMARY, SECONDARY = 0, 1, 2
_REASONS = {PRIMARY: "primary", SECONDARY: "secondary"}


@dataclass(frozen=True)
class CountTable:
    """A noisy count table; with totals, index ``len(categories[a])`` on axis ``a`` is the total."""

    attributes: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]
    values: Ints
    reason: np.ndarray[Any, np.dtype[np.int8]]
    totals: bool
    epsilon: float
    threshold: int
    mechanism: str

    @property
    def suppressed(self) -> Bools:
        mask: Bools = self.reason != NOT_SUPPRESSED
        return mask

    def cells(self) -> list[dict[str, object]]:
        """Long format: one dict per published value, None where withheld."""
        out: list[dict[str, object]] = []
        for index in np.ndindex(*self.values.shape):
            cell: dict[str, object] = {}
            for axis, i in enumerate(index):
                cats = self.categories[axis]
                cell[self.attributes[axis]] = cats[i] if i < len(cats) else TOTAL
            code = int(self.reason[index])
            cell["count"] = None if code else int(self.values[index])
            cell["suppressed"] = _REASONS.get(code)
            out.append(cell)
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "attributes": list(self.attributes),
            "categories": [list(c) for c in self.categories],
            "totals": self.totals,
            "epsilon": self.epsilon,
            "threshold": self.threshold,
            "mechanism": self.mechanism,
            "primary_suppressed": int((self.reason == PRIMARY).sum()),
            "secondary_suppressed": int((self.reason == SECONDARY).sum()),
            "cells": self.cells(),
        }


def _noise_opendp(counts: Ints, epsilon: float) -> tuple[Ints, str]:
    from importlib.metadata import version

    import opendp.prelude as dp

    dp.enable_features("contrib")
    measurement = dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=1.0 / epsilon)
    # The accountant of the library, not our arithmetic, certifies the epsilon.
    certified = float(measurement.map(1))  # type: ignore[no-untyped-call]
    if certified > epsilon * (1 + 1e-9):
        raise AssertionError("OpenDP reports a larger epsilon than requested")
    noisy = np.asarray(measurement(counts.ravel().tolist()), dtype=np.int64).reshape(counts.shape)
    return noisy, f"opendp {version('opendp')} make_laplace (discrete Laplace), scale 1/epsilon"


def _noise_numpy(counts: Ints, epsilon: float, rng: np.random.Generator) -> tuple[Ints, str]:
    # X - Y with X, Y geometric(1 - e^-eps) is discrete Laplace with P(k) proportional to e^(-eps|k|).
    p = -math.expm1(-epsilon)
    noise = rng.geometric(p, counts.shape) - rng.geometric(p, counts.shape)
    return counts + noise.astype(np.int64), "numpy discrete Laplace (difference of geometrics), scale 1/epsilon"


def _with_margins(cells: Ints) -> Ints:
    out = cells
    for axis in range(cells.ndim):
        out = np.concatenate([out, out.sum(axis=axis, keepdims=True)], axis=axis)
    return out


def secondary_suppression(values: Ints, primary: Bools) -> np.ndarray[Any, np.dtype[np.int8]]:
    """Reasons array after making every line of a table-with-margins safe.

    ``values`` holds the cells and, at the last index of each axis, the totals, so each 1-D line along
    any axis sums to its last entry. Totals are withheld only when a line has no other candidate.
    """
    reason = np.where(primary, PRIMARY, NOT_SUPPRESSED).astype(np.int8)
    changed = True
    while changed:
        changed = False
        for axis in range(values.ndim):
            lines_reason = np.moveaxis(reason, axis, -1)
            lines_value = np.moveaxis(values, axis, -1)
            lone = (lines_reason != NOT_SUPPRESSED).sum(axis=-1) == 1
            for index in zip(*np.nonzero(lone), strict=True):
                line_r = lines_reason[index]
                line_v = lines_value[index]
                if int((line_r != NOT_SUPPRESSED).sum()) != 1:
                    continue  # already fixed by an earlier pick in this pass
                visible = np.flatnonzero(line_r == NOT_SUPPRESSED)
                if visible.size == 0:
                    continue
                inner = visible[visible < line_r.size - 1]
                pool = inner if inner.size else visible
                pick = pool[np.argmin(line_v[pool])]
                line_r[pick] = SECONDARY  # a view: writes through to ``reason``
                changed = True
    return reason


def dp_count_table(
    table: Table,
    attributes: Sequence[str],
    epsilon: float,
    threshold: int = 11,
    totals: bool = True,
    categories: Mapping[str, Sequence[object]] | None = None,
    mechanism: Mechanism = "auto",
    seed: int | None = None,
    ledger: PrivacyBudgetLedger | None = None,
    purpose: str = "aggregate table",
) -> CountTable:
    """epsilon-DP counts of ``table`` by two or three ``attributes``, with cell suppression.

    ``categories`` fixes the categories per attribute; give them when they are public code lists,
    because categories read from the data reveal which values occur (a category seen once is a
    person). Noisy counts are clipped at zero before totals are formed, so totals add up.
    """
    if not 2 <= len(attributes) <= 3:
        raise ValueError("count tables are by 2 or 3 attributes")
    if epsilon <= 0:
        raise ValueError("epsilon must be positive")
    if ledger is not None:
        ledger.spend(epsilon, 0.0, purpose)
    cols = to_columns(table, list(attributes))
    if n_rows(cols) == 0:
        raise ValueError("the table is empty")
    codes: list[Codes] = []
    cats: list[tuple[str, ...]] = []
    for name in attributes:
        c, labels = encode(cols[name])
        if categories is not None and name in categories:
            fixed = [str(normalise(v)) for v in categories[name]]
            position = {v: i for i, v in enumerate(fixed)}
            missing = [str(v) for v in labels if str(v) not in position]
            if missing:
                raise ValueError(f"{name}: values outside the given categories: {missing[:5]}")
            c = np.array([position[str(v)] for v in labels], dtype=np.int64)[c]
            cats.append(tuple(fixed))
        else:
            cats.append(tuple(str(v) for v in labels))
        codes.append(c)
    shape = tuple(len(c) for c in cats)
    flat = np.ravel_multi_index(tuple(codes), shape)
    true_counts = np.bincount(flat, minlength=math.prod(shape)).reshape(shape).astype(np.int64)

    use_opendp = mechanism == "opendp"
    if mechanism == "auto":
        try:
            import opendp  # noqa: F401

            use_opendp = True
        except ImportError:
            use_opendp = False
    if use_opendp:
        noisy, described = _noise_opendp(true_counts, epsilon)
    else:
        noisy, described = _noise_numpy(true_counts, epsilon, np.random.default_rng(seed))
    noisy = np.clip(noisy, 0, None)

    values = _with_margins(noisy) if totals else noisy
    primary = values < threshold
    reason = secondary_suppression(values, primary) if totals else np.where(primary, PRIMARY, 0).astype(np.int8)
    return CountTable(
        attributes=tuple(attributes),
        categories=tuple(cats),
        values=values,
        reason=reason,
        totals=totals,
        epsilon=epsilon,
        threshold=threshold,
        mechanism=described,
    )
