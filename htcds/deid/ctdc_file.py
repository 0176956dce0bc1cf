"""Reading CTDC's published victim-level files (and any CSV), as they come.

CTDC's files are not tidy: ``-99`` marks a missing value; ``0`` and ``00`` stand for an unknown country in the
country columns; the 2021 file carries a banner (a notice in place of a column name, or on a line of its own
above the header) that is not data; separators are commas or tabs (the synthetic releases are TSV); numbers
may be written ``2016.0``. This reader copes with all of it and never fails on a value: what it cannot read
becomes a :class:`Problem` naming the row, the column and the fix, and the value is kept as read (callers
decide whether a problem stops them). Only CTDC codebook columns are normalised; other columns are kept as
they are, so the same reader serves any CSV.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from htcds.cells import unneutralised_row
from htcds.deid._table import MISSING
from htcds.deid.ctdc import CTDC_COLUMNS
from htcds.deid.ctdc_kanon import CODEBOOK_COLUMNS
from htcds.deid.hierarchies import AGE_BAND_LABELS, m49_table

KNOWN = frozenset(CTDC_COLUMNS) | CODEBOOK_COLUMNS
MISSING_SPELLINGS = frozenset({"", "-99", "-99.0", "na", "n/a", "nan", "null", "none", MISSING})
UNKNOWN_COUNTRY = frozenset({"0", "00"})
COUNTRY_COLUMNS = frozenset({"citizenship", "CountryOfExploitation"})
TEXT_COLUMNS = frozenset({"gender", "Datasource", "majorityStatus", "majorityStatusAtExploit", "majorityEntry",
                          "traffickMonths"})  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """A value the reader could not take as the codebook defines it."""

    code: str
    row: int  # line of the file, header = 1
    column: str
    value: str
    fix: str

    def __str__(self) -> str:
        return f"line {self.row}, {self.column} = {self.value!r}: {self.fix} [{self.code}]"


@dataclass
class CTDCFile:
    """Rows keyed by column name, what was left out and why, and the problems found."""

    columns: list[str]
    rows: list[dict[str, str]]
    delimiter: str = ","
    banner_lines: int = 0
    banner_columns: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the file line of each row

    @property
    def ctdc_columns(self) -> list[str]:
        return [c for c in self.columns if c in KNOWN]

    def summary(self) -> dict[str, object]:
        return {"rows": len(self.rows), "columns": len(self.columns), "ctdc_columns": len(self.ctdc_columns),
                "delimiter": self.delimiter, "banner_lines": self.banner_lines, "banner_columns": self.banner_columns,
                "problems": len(self.problems), "first_problems": [asdict(p) for p in self.problems[:20]]}  # fmt: skip


def _delimiter(line: str) -> str:
    return max(("\t", ";", ","), key=line.count)


def _number(value: str) -> str | None:
    """"2016" for "2016" or "2016.0"; None if not a whole number."""
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number) or not number.is_integer():
        return None
    return str(int(number))


def _normalise(column: str, raw: str, line: int, problems: list[Problem]) -> str:
    value = raw.strip()
    if value.lower() in MISSING_SPELLINGS:
        return MISSING
    if column in COUNTRY_COLUMNS:
        if value in UNKNOWN_COUNTRY:
            return MISSING
        code = value.upper()
        if code not in m49_table():
            problems.append(Problem("unknown-country", line, column, value,
                                    "write an ISO 3166-1 alpha-2 code (e.g. NG), or 0, 00 or -99 if unknown"))  # fmt: skip
        return code
    if column == "yearOfRegistration":
        year = _number(value)
        if year is None or not 1900 <= int(year) <= 2100:
            problems.append(Problem("not-a-year", line, column, value, "write a year such as 2016, or -99 if unknown"))
            return value
        return year
    if column == "ageBroad":
        if value not in AGE_BAND_LABELS:
            problems.append(Problem("unknown-age-band", line, column, value,
                                    f"use one of CTDC's bands ({', '.join(AGE_BAND_LABELS)}), or -99 if unknown"))  # fmt: skip
        return value
    if column in TEXT_COLUMNS or column not in KNOWN:
        return value
    flag = _number(value)
    if flag not in ("0", "1"):
        problems.append(Problem("not-a-flag", line, column, value, "write 1 (yes), 0 (no) or -99 (unknown)"))
        return value
    return flag


def read_ctdc_text(text: str) -> CTDCFile:
    """Parse a CTDC-layout (or any) CSV/TSV text; see the module docstring for what is coped with."""
    lines = text.splitlines()
    header_at = 0
    for i, line in enumerate(lines[:20]):
        names = {c.strip().strip('"') for c in line.replace("\t", ",").replace(";", ",").split(",")}
        if names & KNOWN:
            header_at = i
            break
    body = "\n".join(lines[header_at:])
    delimiter = _delimiter(lines[header_at]) if lines else ","
    reader = csv.reader(io.StringIO(body), delimiter=delimiter)
    header = [c.strip() for c in next(reader, [])]
    records = [(number, raw) for number, raw in enumerate(reader, start=header_at + 2) if any(c.strip() for c in raw)]
    ctdc_layout = bool(set(header) & KNOWN)

    def banner(i: int) -> bool:
        # Empty or a spreadsheet index; in a CTDC file also a notice (a sentence) over an empty column.
        name = header[i]
        if not name or name.lower().startswith("unnamed:"):
            return True
        notice = ctdc_layout and len(name) > 30 and " " in name
        return notice and all(i >= len(raw) or not raw[i].strip() for _, raw in records)

    keep = [i for i in range(len(header)) if not banner(i)]
    banner_columns = [header[i] for i in range(len(header)) if i not in keep]
    columns = [header[i] for i in keep]
    seen: dict[str, int] = {}
    for i, name in enumerate(columns):  # a repeated name would silently overwrite a column
        if name in seen:
            columns[i] = f"{name}.{seen[name]}"
        seen[name] = seen.get(name, 0) + 1
    problems: list[Problem] = []
    rows: list[dict[str, str]] = []
    line_of: list[int] = []
    for number, raw in records:
        cells = unneutralised_row(raw)  # a CSV written by Phare neutralised formula-like cells (htcds.cells)
        row: dict[str, str] = {}
        for name, i in zip(columns, keep, strict=True):
            cell = cells[i] if i < len(cells) else ""
            row[name] = _normalise(name, cell, number, problems) if name in KNOWN else cell
        rows.append(row)
        line_of.append(number)
    return CTDCFile(columns, rows, delimiter, header_at, banner_columns, problems, line_of)


def read_ctdc(path: Path) -> CTDCFile:
    """Read a file (UTF-8 with or without BOM; Latin-1 as a fallback, as spreadsheet exports often are)."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return read_ctdc_text(text)


def missing_columns(file: CTDCFile, needed: Iterable[str]) -> list[str]:
    return [c for c in needed if c not in file.columns]


def as_missing(file: CTDCFile) -> int:
    """Turn every value with a problem into "(missing)" (what ``--problems-as-missing`` does); how many."""
    index = {line: i for i, line in enumerate(file.lines)}
    for p in file.problems:
        file.rows[index[p.row]][p.column] = MISSING
    return len(file.problems)
