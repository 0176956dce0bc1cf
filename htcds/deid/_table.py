"""Table plumbing shared by the de-identification modules.

Callers hold data either as rows (what the Django ORM and CSV readers give) or as columns (what numpy
wants). Every algorithm here works on integer codes, so the one conversion point lives here and missing
values are normalised once, the same way everywhere: an unknown value is a category of its own, never
silently merged with a real one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

MISSING = "(missing)"
"""Label of an unknown value; CTDC's published tables use the same spelling."""

SUPPRESSED = "*"
"""Label of a fully generalised or suppressed value (ARX and CTDC convention)."""

Column = Sequence[object] | npt.NDArray[np.generic]
Table = Sequence[Mapping[str, object]] | Mapping[str, Column]
Codes = npt.NDArray[np.int64]


def normalise(value: object) -> object:
    """Map every spelling of "unknown" to MISSING so that None, "" and NaN form one category."""
    if value is None:
        return MISSING
    if isinstance(value, str):
        stripped = value.strip()
        return MISSING if stripped == "" else stripped
    if isinstance(value, float) and math.isnan(value):
        return MISSING
    if isinstance(value, np.generic):
        return normalise(value.item())
    return value


def to_columns(table: Table, columns: Sequence[str] | None = None) -> dict[str, Column]:
    """Return the table as a dict of columns without copying column inputs.

    Rows may lack keys; an absent key reads as MISSING so sparse records from a case file still work.
    """
    if isinstance(table, Mapping):
        names = list(columns) if columns is not None else list(table.keys())
        out: dict[str, Column] = {}
        length: int | None = None
        for name in names:
            if name not in table:
                raise KeyError(f"column {name!r} is not in the table")
            col = table[name]
            if length is not None and len(col) != length:
                raise ValueError("columns have different lengths")
            length = len(col)
            out[name] = col
        return out
    rows = table
    if columns is None:
        seen: dict[str, None] = {}
        for row in rows:
            for key in row:
                seen.setdefault(key, None)
        names = list(seen)
    else:
        names = list(columns)
    return {name: [row.get(name, MISSING) for row in rows] for name in names}


def n_rows(columns: Mapping[str, Column]) -> int:
    """Number of rows of a column dict (0 for a table without columns)."""
    for col in columns.values():
        return len(col)
    return 0


def encode(column: Column) -> tuple[Codes, list[object]]:
    """Encode a column as dense int64 codes plus the label of each code.

    Integer numpy arrays take the vectorised path; anything else goes through one dict pass, which is
    as fast as np.unique on strings and, unlike it, copes with mixed types and None.
    """
    if isinstance(column, np.ndarray) and column.dtype.kind in "iub":
        uniq, inverse = np.unique(column, return_inverse=True)
        return inverse.astype(np.int64, copy=False), [v.item() for v in uniq]
    # Hash the raw values first (C-speed dict and map), then normalise only the distinct ones: a column
    # has hundreds of distinct values but hundreds of thousands of cells.
    raw_index = {value: i for i, value in enumerate(dict.fromkeys(column))}
    raw_codes = np.fromiter(map(raw_index.__getitem__, column), dtype=np.int64, count=len(column))
    index: dict[object, int] = {}
    remap = np.fromiter(
        (index.setdefault(normalise(v), len(index)) for v in raw_index), dtype=np.int64, count=len(raw_index)
    )
    return remap[raw_codes], list(index)


def combine(code_columns: Sequence[Codes], sizes: Sequence[int]) -> tuple[Codes, int]:
    """Fuse several code columns into one key column with dense codes.

    A mixed-radix key is exact and fast but can overflow int64 with many wide columns, so the running
    key is re-densified with np.unique whenever the next multiplication could overflow.
    """
    if not code_columns:
        raise ValueError("nothing to combine")
    key = code_columns[0].astype(np.int64, copy=True)
    span = max(int(sizes[0]), 1)
    limit = 2**62
    for codes, size in zip(code_columns[1:], sizes[1:], strict=True):
        size = max(int(size), 1)
        if span * size >= limit:
            uniq, inverse = np.unique(key, return_inverse=True)
            key = inverse.astype(np.int64, copy=False)
            span = len(uniq)
        key = key * size + codes
        span *= size
    return key, span
