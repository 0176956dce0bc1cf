"""Differentially private count tables with small-cell suppression.

A table of counts by two or three attributes is the release most partners ask for. Two protections are
layered, because they answer two different rules:

* differential privacy: every cell gets discrete Laplace noise of scale 1/epsilon from OpenDP's sampler
  (integer arithmetic and the operating system's cryptographic generator, so nothing leaks through
  floating-point artefacts and no seed can replay it). Adding or removing one person changes one cell by
  one (L1 sensitivity 1, given one record per person), so the whole table is epsilon-DP, and OpenDP's own
  privacy map certifies the epsilon. The categories of every attribute are public (code lists, a declared
  year range: htcds.deid.domains), never read from the data, since a category seen once is a person;
* small-cell suppression, the rule most data-sharing agreements carry (CTDC's is 11): published values
  under the threshold are withheld. The threshold is applied to the noisy values, never the true ones,
  so the suppression pattern is itself differentially private (post-processing). A line (a category) whose
every value, total included, is withheld is left out of the published cells: that too is decided on noisy
values only, and it keeps a table over 250 countries readable.

Totals are the noisy cells summed before clipping at zero, then clipped: summing clipped cells would add
the positive half of the noise of every empty cell (about 70 phantom victims over 250 countries at
epsilon 1). So a line's visible cells need not add up exactly to its total.

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
from typing import Any

import numpy as np

from htcds.deid import noise
from htcds.deid._table import Codes, Table, encode, n_rows, normalise, to_columns
from htcds.deid.budget import PrivacyBudgetLedger

TOTAL = "Total"
MAX_CELLS = 100_000
"""Largest table (public categories multiplied out): OpenDP's exact samplers take tens of microseconds a cell."""
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

    def shown(self) -> list[Bools]:
        """Per axis, which indices have a published value somewhere in their slice (decided on noisy values)."""
        visible = self.reason == NOT_SUPPRESSED
        axes = range(visible.ndim)
        return [visible.any(axis=tuple(b for b in axes if b != a)) for a in axes]

    def cells(self) -> list[dict[str, object]]:
        """Long format: one dict per published value, None where withheld; lines withheld throughout left out."""
        out: list[dict[str, object]] = []
        shown = self.shown()
        for index in np.ndindex(*self.values.shape):
            if not all(shown[axis][i] for axis, i in enumerate(index)):
                continue
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


def _with_margins(cells: Ints) -> Ints:
    """The noisy cells with their totals, both clipped at zero; totals summed before clipping (unbiased)."""
    out = cells
    for axis in range(cells.ndim):
        out = np.concatenate([out, out.sum(axis=axis, keepdims=True)], axis=axis)
    clipped: Ints = np.clip(out, 0, None)
    return clipped


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
    categories: Mapping[str, Sequence[object]],
    threshold: int = 11,
    totals: bool = True,
    ledger: PrivacyBudgetLedger | None = None,
    purpose: str = "aggregate table",
) -> CountTable:
    """epsilon-DP counts of ``table`` (one record per person) by two or three ``attributes``, with cell
    suppression.

    ``categories`` gives every attribute's public categories; a value outside them is an error
    (htcds.deid.domains.coerce fits the data first).
    """
    if not 2 <= len(attributes) <= 3:
        raise ValueError("count tables are by 2 or 3 attributes")
    if epsilon <= 0:
        raise ValueError("epsilon must be positive")
    without = [a for a in attributes if a not in categories]
    if without:
        raise ValueError(f"no public categories for {', '.join(without)}: categories read from the data reveal them")
    shape = tuple(len(dict.fromkeys(categories[a])) for a in attributes)
    if math.prod(shape) > MAX_CELLS:
        raise ValueError(f"a table of {math.prod(shape):,} cells is too large: choose at most one country attribute")
    cols = to_columns(table, list(attributes))
    if n_rows(cols) == 0:
        raise ValueError("the table is empty")
    codes: list[Codes] = []
    cats: list[tuple[str, ...]] = []
    for name in attributes:
        c, labels = encode(cols[name])
        fixed = list(dict.fromkeys(str(normalise(v)) for v in categories[name]))
        position = {v: i for i, v in enumerate(fixed)}
        missing = [str(v) for v in labels if str(v) not in position]
        if missing:
            raise ValueError(f"{name}: values outside the given categories: {missing[:5]}")
        codes.append(np.array([position[str(v)] for v in labels], dtype=np.int64)[c])
        cats.append(tuple(fixed))
    flat = np.ravel_multi_index(tuple(codes), shape)
    true_counts = np.bincount(flat, minlength=math.prod(shape)).reshape(shape).astype(np.int64)

    # Spent once the request is known to be answerable: a refused table costs nothing.
    if ledger is not None:
        ledger.spend(epsilon, 0.0, purpose)

    noisy, certified = noise.laplace(true_counts, 1.0 / epsilon)
    # The library's privacy map, not our arithmetic, certifies the epsilon.
    if certified > epsilon * (1 + 1e-9):
        raise AssertionError(f"OpenDP certifies epsilon {certified:g}, more than the {epsilon:g} asked for")
    values = _with_margins(noisy) if totals else np.clip(noisy, 0, None)
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
        mechanism=noise.described("make_laplace (discrete Laplace), scale 1/epsilon"),
    )
