"""Cells of the files people open in a spreadsheet: none may start a formula (CSV injection, as OWASP describes it).

A spreadsheet reads a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula, so a name
typed as `=HYPERLINK("https://…", "Click")` or `=cmd|' /C calc'!A0` would run on the machine of whoever opens an
export. Every writer of a CSV or XLSX file goes through this module:

* CSV: text that `formula_like` finds gets one leading apostrophe (`'=HYPERLINK(…)`, `'+2348012345678`), which
  spreadsheets take as "this is text". Real numbers (int, float) are written as they are, and so is a text that is
  only a negative decimal number (`-12.5`, a latitude): a spreadsheet reads that as the number and nothing else.
* XLSX: text that `formula_like` finds is written as a text cell (never a formula) carrying the "quote prefix"
  style, which is what Excel records when someone types an apostrophe before a value: Excel keeps it text even when
  the cell is edited, and the value itself is unchanged, so a phone `+2348012345678` reads back as typed (only a
  text that itself starts with apostrophes before a trigger, `'=x`, gets one more, as in CSV, so that reading undoes
  both files alike).
* Reading: `unneutralise` undoes the CSV apostrophe. Phare's readers (`htcds.sources.tabular`) apply it to every
  text cell, so an export imports back exactly: `unneutralise(neutralise(v)) == v` for every text `v`, including
  texts that themselves start with apostrophes (`'=x` is written `''=x`).
"""

from __future__ import annotations

import re
from typing import Any

TRIGGERS = frozenset("=+-@\t\r")
_FIRST = TRIGGERS | {"'"}  # a cell that needs a look starts with one of these
_NEGATIVE_NUMBER = re.compile(r"-[0-9]+(?:\.[0-9]+)?")


def formula_like(text: str) -> bool:
    """Whether a spreadsheet could read `text` as a formula once its leading apostrophes are taken as the text
    marker: what must be neutralised. Plain negative decimal numbers are not (they read as themselves)."""
    bare = text.lstrip("'")
    if not bare or bare[0] not in TRIGGERS:
        return False
    return len(bare) != len(text) or not _NEGATIVE_NUMBER.fullmatch(text)


def neutralise(value: Any) -> Any:
    """A CSV cell's value: a formula-like text with an apostrophe in front; anything else as it is."""
    if isinstance(value, str) and value and value[0] in _FIRST and formula_like(value):
        return "'" + value
    return value


# A cell that needs a look (`_FIRST`) at the start of a line of a column's texts joined by newlines, one before the
# first: found in one pass, where a search for each starting character took seven passes of the column and a sixth
# of a CSV export's writing process.
_LINE_START = re.compile("\n[" + re.escape("".join(sorted(_FIRST))) + "]")


def csv_column(values: list[Any]) -> list[Any]:
    """`csv_row`'s work on a column of cells, None left as it is (csv.writer writes it as an empty cell, as
    `csv_row` would): the column itself when no text in it needs a look, found with one search of the column."""
    try:
        joined = "\n" + "\n".join(filter(None, values))
    except TypeError:  # (not texts alone)
        joined = "\n'"
    if _LINE_START.search(joined):
        return ["'" + v if isinstance(v, str) and v[:1] in _FIRST and formula_like(v) else v for v in values]
    return values


def unneutralise(value: Any) -> Any:
    """The value `neutralise` was given, from what it wrote (one leading apostrophe dropped before a formula-like
    rest); anything else as it is. Also right for a sheet where someone typed the apostrophe themselves."""
    if isinstance(value, str) and value[:1] == "'" and value.lstrip("'")[:1] in TRIGGERS:
        return value[1:]
    return value


def csv_row(row: list[Any]) -> list[Any]:
    """A row for `csv.writer`: None as an empty cell, every formula-like text neutralised."""
    return [
        "" if v is None else "'" + v if isinstance(v, str) and v[:1] in _FIRST and formula_like(v) else v for v in row
    ]


def unneutralised_row(row: list[Any]) -> list[Any]:
    """A row read from a CSV file (or a sheet) with `unneutralise` applied to its text cells; the row itself when no
    cell starts with an apostrophe (the usual case, found without a look at each cell)."""
    try:
        if "'" not in "".join(row):
            return row
    except TypeError:  # a spreadsheet row also holds numbers and dates
        pass
    return [unneutralise(v) for v in row]


def xlsx_row(ws: Any, row: list[Any]) -> list[Any]:
    """A row for a write-only openpyxl worksheet's `append`: formula-like texts as text cells with the quote prefix
    (openpyxl would write a text starting with `=` as a formula); everything else as it is."""
    return [_text_cell(ws, v) if isinstance(v, str) and v and v[0] in _FIRST and formula_like(v) else v for v in row]


def _text_cell(ws: Any, value: str) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws)
    set_text(cell, value)
    return cell


def set_text(cell: Any, value: Any) -> Any:
    """Put `value` in an openpyxl cell, a formula-like text as a text cell with the quote prefix; returns the cell."""
    if isinstance(value, str) and formula_like(value):
        cell.value = "'" + value if value[0] == "'" else value
        cell.data_type = "s"
        cell.quotePrefix = True
    else:
        cell.value = value
    return cell
