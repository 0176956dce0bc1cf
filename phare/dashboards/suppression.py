"""Small-cell suppression for figures shared outside the organisation (operator views, external reports).

Primary: a count between 1 and k-1 is hidden. Secondary: if a column hides exactly one cell, the total minus
the shown cells would give it back, so the smallest other non-zero cell is hidden too; a total below k is
hidden with every cell. Zeros stay visible (an empty category discloses nothing about a person).
"""

from __future__ import annotations

from collections.abc import Sequence


def suppress_column(values: Sequence[int], total: int, k: int) -> tuple[list[int | None], int | None]:
    """The column's cells and total with `None` where hidden."""
    if k <= 1:
        return list(values), total
    if 0 < total < k:
        return [None if v else 0 for v in values], None
    out: list[int | None] = [None if 0 < v < k else v for v in values]
    hidden = [i for i, v in enumerate(out) if v is None]
    if len(hidden) == 1:
        shown = [(v, i) for i, v in enumerate(values) if out[i] is not None and v > 0]
        if shown:
            out[min(shown)[1]] = None
        else:  # every other cell is zero: the total is the hidden cell itself
            return out, None
    return out, total


def suppress_value(value: int, k: int) -> int | None:
    return None if 0 < value < k else value
