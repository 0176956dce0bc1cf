"""Public domains of the CTDC columns: every value a differentially private release may contain.

A DP release must take its categories from outside the data. A category list read from the data reveals
which values occur, and a value that occurs once is a person: a citizenship held by one victim would appear
in a synthetic file or as a row of a count table whatever the noise (the rare-category leak). So every
category here comes from a code list: the CTDC codebook's labels (gender, age bands, majority status,
flags), ISO 3166-1 alpha-2 as covered by the UN M49 table (countries), and for years a range the releasing
organisation declares. A recorded value outside its column's domain is released as "(missing)", and how
many were moved is said only in the internal report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from htcds.deid._table import MISSING, normalise
from htcds.deid.hierarchies import AGE_BAND_LABELS, m49_table

POOLED = "(other)"
"""Label of values whose noisy count was too small to tell from noise (a synthetic release pools them)."""

FIRST_YEAR = 2000
"""Default start of the declared range of registration years (CTDC's data starts in 2002)."""

FLAG = ("0", "1", MISSING)
MAJORITY = ("Minor", "Adult", MISSING)
GENDERS = ("Female", "Male", "Transgender", "Unknown", MISSING)
DATASOURCES = ("Case Management", "Hotline", MISSING)
COUNTRY_COLUMNS = frozenset({"citizenship", "CountryOfExploitation"})


def countries() -> tuple[str, ...]:
    """ISO 3166-1 alpha-2 codes known to the bundled UN M49 table, then "(missing)"."""
    return (*sorted(m49_table()), MISSING)


def years(first: int = FIRST_YEAR, last: int | None = None) -> tuple[str, ...]:
    """The declared range of registration years, as the crosswalk writes them."""
    last = date.today().year if last is None else last
    if last < first:
        raise ValueError(f"the year range {first}-{last} is empty")
    return (*(str(y) for y in range(first, last + 1)), MISSING)


def ctdc_domain(column: str, first_year: int = FIRST_YEAR, last_year: int | None = None) -> tuple[str, ...]:
    """The public domain of one CTDC column."""
    if column == "yearOfRegistration":
        return years(first_year, last_year)
    if column in COUNTRY_COLUMNS:
        return countries()
    if column == "gender":
        return GENDERS
    if column == "ageBroad":
        return (*AGE_BAND_LABELS, MISSING)
    if column.startswith("majority"):
        return MAJORITY
    if column == "Datasource":
        return DATASOURCES
    return FLAG


def ctdc_domains(
    columns: Iterable[str], first_year: int = FIRST_YEAR, last_year: int | None = None
) -> dict[str, tuple[str, ...]]:
    return {c: ctdc_domain(c, first_year, last_year) for c in columns}


def coerce(
    rows: Sequence[Mapping[str, object]], domains: Mapping[str, Sequence[str]]
) -> tuple[list[dict[str, object]], dict[str, int]]:
    """Rows restricted to the domains' columns, a value outside its domain becoming "(missing)"; and how many
    values each column lost that way (an exact count: for the internal report only)."""
    allowed = {c: frozenset(d) for c, d in domains.items()}
    moved = dict.fromkeys(domains, 0)
    out: list[dict[str, object]] = []
    for row in rows:
        new: dict[str, object] = {}
        for column, values in allowed.items():
            value = str(normalise(row.get(column)))
            if value not in values:
                moved[column] += 1
                value = MISSING
            new[column] = value
        out.append(new)
    return out, {c: n for c, n in moved.items() if n}
