"""Generalisation hierarchies for quasi-identifiers.

k-anonymisation by full-domain generalisation needs, for each quasi-identifier, a ladder of ever coarser
recodings that ends in "*". The ladders here are the ones CTDC publishes with (age bands, majority
status, M49 regions, registration periods) plus generic builders for other columns.

A hierarchy maps a level-0 value to its label at level L. Two rules hold for every hierarchy built here,
because the lattice search depends on them:

* nesting: two values that share a label at level L share it at every level above L, so coarser levels
  only ever merge equivalence classes (this is what makes k monotone along the lattice);
* an unknown value stays its own category, "(missing)", at every level below the top; at the top level
  everything, unknowns included, is "*" so that the top node is always one class.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from itertools import pairwise

import numpy as np

from htcds.deid._table import MISSING, SUPPRESSED, Codes, normalise

Generaliser = Callable[[object, int], str]

AGE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 8, "0--8"),
    (9, 17, "9--17"),
    (18, 20, "18--20"),
    (21, 23, "21--23"),
    (24, 26, "24--26"),
    (27, 29, "27--29"),
    (30, 38, "30--38"),
    (39, 47, "39--47"),
    (48, None, "48+"),
)
"""CTDC's ageBroad bands: (lowest age, highest age or None for open-ended, label)."""

AGE_BAND_LABELS: tuple[str, ...] = tuple(label for _, _, label in AGE_BANDS)
MINOR_BANDS: frozenset[str] = frozenset({"0--8", "9--17"})


class Hierarchy:
    """A generalisation ladder for one quasi-identifier.

    Levels are numbered from 0 (the value as recorded) to ``height - 1`` (everything is "*"). The
    ladder is a function rather than a lookup table so that open domains (ages, years, amounts) need
    no enumeration; :meth:`level_maps` turns it into integer code maps for the observed values only.
    """

    def __init__(self, name: str, level_names: Sequence[str], generalise: Generaliser) -> None:
        if len(level_names) < 2:
            raise ValueError("a hierarchy needs at least the raw level and the top level")
        self.name = name
        self.level_names: tuple[str, ...] = tuple(level_names)
        self._generalise = generalise

    @property
    def height(self) -> int:
        """Number of levels, raw level and top level included."""
        return len(self.level_names)

    @property
    def top(self) -> int:
        """Index of the fully generalised level."""
        return len(self.level_names) - 1

    def generalise(self, value: object, level: int) -> str:
        """Label of ``value`` at ``level``; unknowns stay "(missing)" until the top level."""
        if not 0 <= level <= self.top:
            raise ValueError(f"{self.name}: level {level} outside 0..{self.top}")
        if level == self.top:
            return SUPPRESSED
        value = normalise(value)
        if value == MISSING:
            return MISSING
        if level == 0:
            return str(value)
        return self._generalise(value, level)

    def __call__(self, value: object, level: int) -> str:
        return self.generalise(value, level)

    def level_maps(self, labels: Sequence[object]) -> tuple[list[Codes], list[list[str]]]:
        """Code maps for the observed level-0 labels.

        Returns, per level L, an array sending a level-0 code to a level-L code, and the labels of the
        level-L codes. Nesting is checked here, once, because a non-nested ladder would silently break
        the monotonicity the lattice search prunes with.
        """
        maps: list[Codes] = []
        names: list[list[str]] = []
        previous: Codes | None = None
        for level in range(self.height):
            index: dict[str, int] = {}
            codes = np.fromiter(
                (index.setdefault(self.generalise(v, level), len(index)) for v in labels),
                dtype=np.int64,
                count=len(labels),
            )
            if previous is not None:
                parent = np.full(int(previous.max(initial=-1)) + 1, -1, dtype=np.int64)
                parent[previous] = codes
                if np.any(parent[previous] != codes):
                    raise ValueError(f"hierarchy {self.name!r} is not nested at level {level}")
            maps.append(codes)
            names.append(list(index))
            previous = codes
        return maps, names

    def table(self, values: Iterable[object]) -> dict[int, list[str]]:
        """The ladder as a level -> labels table aligned on ``values`` (ARX/anjana's CSV layout)."""
        distinct = list(dict.fromkeys(str(normalise(v)) for v in values))
        return {level: [self.generalise(v, level) for v in distinct] for level in range(self.height)}

    def __repr__(self) -> str:
        return f"Hierarchy({self.name!r}, levels={list(self.level_names)})"


# --- age ------------------------------------------------------------------------------------------------


def age_band(age: object) -> str:
    """CTDC ageBroad band of an age in whole years (a band label passes through unchanged)."""
    if isinstance(age, str):
        if age in AGE_BAND_LABELS:
            return age
        try:
            age = int(age)
        except ValueError:
            raise ValueError(f"not an age: {age!r}") from None
    if isinstance(age, bool) or not isinstance(age, int | float):
        raise ValueError(f"not an age: {age!r}")
    if age < 0:
        raise ValueError(f"negative age: {age!r}")
    for low, high, label in AGE_BANDS:
        if age >= low and (high is None or age < high + 1):
            return label
    raise AssertionError("unreachable: the last band is open-ended")


def majority_status(band: str) -> str:
    """ "Minor" or "Adult" for an ageBroad band, the way CTDC derives majorityStatus."""
    return "Minor" if band in MINOR_BANDS else "Adult"


def age_hierarchy() -> Hierarchy:
    """Exact age -> CTDC band -> Minor/Adult -> "*"."""

    def gen(value: object, level: int) -> str:
        band = age_band(value)
        return band if level == 1 else majority_status(band)

    return Hierarchy("age", ("age", "ageBroad", "majorityStatus", SUPPRESSED), gen)


def age_band_hierarchy() -> Hierarchy:
    """CTDC band -> Minor/Adult -> "*", for data that only holds ageBroad (as CTDC releases do)."""

    def gen(value: object, level: int) -> str:
        return majority_status(age_band(value))

    return Hierarchy("ageBroad", ("ageBroad", "majorityStatus", SUPPRESSED), gen)


# --- countries ------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def m49_table() -> dict[str, tuple[str, str, str]]:
    """alpha-2 -> (intermediate region or sub-region, sub-region, region), from the bundled fact table."""
    raw = json.loads(resources.files("htcds.deid.data").joinpath("m49.json").read_text("utf-8"))
    out: dict[str, tuple[str, str, str]] = {}
    for region, subregions in raw["regions"].items():
        for subregion, intermediates in subregions.items():
            for intermediate, codes in intermediates.items():
                for code in codes:
                    out[code] = (intermediate or subregion, subregion, region)
    return out


def country_hierarchy(intermediate: bool = False) -> Hierarchy:
    """ISO alpha-2 -> M49 sub-region -> region -> "*".

    With ``intermediate`` an extra level between country and sub-region uses M49's intermediate
    regions (Eastern Africa, Caribbean, ...), because "Sub-Saharan Africa" and "Latin America and the
    Caribbean" are so wide that jumping straight to them throws away most of the signal.
    An unknown code raises rather than becoming a rare category that would then need suppressing.
    """
    table = m49_table()
    offset = 1 if intermediate else 0

    def gen(value: object, level: int) -> str:
        code = str(value).upper()
        if code not in table:
            raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 code known to the M49 table")
        return table[code][level - offset]

    names = ["country"]
    if intermediate:
        names.append("intermediateRegion")
    names += ["subRegion", "region", SUPPRESSED]
    return Hierarchy("country", names, gen)


# --- numbers and years ----------------------------------------------------------------------------------


def interval_hierarchy(
    widths: Sequence[float], origin: float = 0, integer: bool = True, name: str = "number"
) -> Hierarchy:
    """Numbers -> intervals of growing width -> "*".

    Each width must be a whole multiple of the one before so that intervals nest. Integer intervals
    are labelled with inclusive ends ("2015--2019", CTDC's style); real ones as half-open ranges.
    """
    if not widths:
        raise ValueError("give at least one width")
    for narrow, wide in pairwise(widths):
        if wide <= narrow or (wide / narrow) != int(wide / narrow):
            raise ValueError("each width must be a larger whole multiple of the previous one")

    def gen(value: object, level: int) -> str:
        if isinstance(value, str):
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name}: not a number: {value!r}")
        width = widths[level - 1]
        low = origin + ((value - origin) // width) * width
        if integer:
            return f"{int(low)}--{int(low + width - 1)}"
        return f"[{low:g}, {low + width:g})"

    levels = [name] + [f"width {w:g}" for w in widths] + [SUPPRESSED]
    return Hierarchy(name, levels, gen)


def year_hierarchy() -> Hierarchy:
    """Year -> 5-year period -> decade -> "*", periods aligned on multiples of 5 and 10."""
    base = interval_hierarchy((5, 10), name="year")
    return Hierarchy("year", ("year", "5-year period", "decade", SUPPRESSED), base._generalise)


# --- categories -----------------------------------------------------------------------------------------


def categorical_hierarchy(
    counts: Mapping[object, int] | Iterable[object],
    thresholds: Sequence[int] = (11,),
    other: str = "Other",
    name: str = "category",
) -> Hierarchy:
    """Category -> rare categories lumped into "Other" (one level per threshold) -> "*".

    ``counts`` is a frequency table or the raw column; a category seen fewer than ``thresholds[i]``
    times becomes ``other`` at level i + 1. Rising thresholds keep the levels nested. Frequencies
    should come from the data being released, and they are only used to pick what to lump.
    """
    if any(b <= a for a, b in pairwise(thresholds)):
        raise ValueError("thresholds must rise")
    if isinstance(counts, Mapping):
        freq = {str(normalise(k)): int(v) for k, v in counts.items()}
    else:
        freq = {}
        for value in counts:
            key = str(normalise(value))
            freq[key] = freq.get(key, 0) + 1

    def gen(value: object, level: int) -> str:
        label = str(value)
        return label if freq.get(label, 0) >= thresholds[level - 1] else other

    levels = [name] + [f"rare<{t} as {other}" for t in thresholds] + [SUPPRESSED]
    return Hierarchy(name, levels, gen)


def flat_hierarchy(name: str = "value") -> Hierarchy:
    """Value -> "*": for flags and short code lists where any grouping would be arbitrary."""
    return Hierarchy(name, (name, SUPPRESSED), lambda value, level: str(value))


def ctdc_hierarchies() -> dict[str, Hierarchy]:
    """Hierarchies for the CTDC Global Dataset columns likely to act as quasi-identifiers.

    Flags and short code lists get flat hierarchies; columns not listed here are best kept out of the
    quasi-identifiers or given a :func:`categorical_hierarchy` built on the data.
    """
    flags = (
        "gender",
        "Datasource",
        "majorityStatus",
        "majorityStatusAtExploit",
        "majorityEntry",
        "isForcedLabour",
        "isSexualExploit",
        "isOtherExploit",
        "isAbduction",
    )
    out: dict[str, Hierarchy] = {name: flat_hierarchy(name) for name in flags}
    out["yearOfRegistration"] = year_hierarchy()
    out["ageBroad"] = age_band_hierarchy()
    out["citizenship"] = country_hierarchy()
    out["CountryOfExploitation"] = country_hierarchy()
    return out
