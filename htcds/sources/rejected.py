"""The rows an import rejected, as a sheet to correct and upload again.

A sheet's rejected rows are copied as they were typed, under the sheet's own header rows, with two columns
added at the end: `phare_row` (the row's number in the original file) and `phare_problems` (what is wrong with
it, and the fix when there is one). Every source skips those two columns when the corrected file comes back.
A JSON source has no cells to copy: its file lists each rejected item's key with its problems. No cell starts a
formula (htcds.cells): the file is opened in a spreadsheet to be corrected, and its values come from anyone.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from htcds import cells
from htcds.catalogue import Kind, load
from htcds.coerce import parse_date
from htcds.sources.base import Source, TabularSource
from htcds.sources.export import Openable
from htcds.sources.layout import PROBLEMS_COLUMN, ROW_COLUMN
from htcds.sources.tabular import open_table


def problems_text(problems: Iterable[Mapping[str, Any]], message: Callable[[Mapping[str, Any]], str] | None = None,
                  fix_word: str = "fix") -> str:  # fmt: skip
    """One cell's worth: "[invalid-date] C (prs_Birthdate): message (fix: 1990-12-31) | ..."; `message` may
    translate (the code stays: it is the same in every language)."""
    out = []
    for p in problems:
        where = p.get("column") or p.get("field") or ""
        text = message(p) if message else str(p.get("message") or "")
        one = f"[{p.get('code', '')}] " + (f"{where}: {text}" if where else text)
        if p.get("fix"):
            one += f" ({fix_word}: {p['fix']})"
        out.append(one)
    return " | ".join(out)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _day(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        day = parse_date(value)
        return value if day is None else day
    return value


def write_rejected_rows(source: Source, rejected: Mapping[int, tuple[str, str]], out: Openable) -> int:
    """Write `rejected` (row number → (source key, problems text)) of a freshly opened `source` to `out` as CSV;
    returns how many rows were written."""
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        if not isinstance(source, TabularSource) or source.path is None:
            writer.writerow(["source_key", ROW_COLUMN, PROBLEMS_COLUMN])
            for row, (key, text) in sorted(rejected.items()):
                writer.writerow(cells.csv_row([key, row, text]))
            return len(rejected)
        plan, _, header_rows = source._start()
        kinds = {f.name: f.kind for f in load().fields}
        # A number in a date column is a date typed as Excel's day count: a CSV cell is text, and text is never
        # read as a day count, so the copy carries the date it means.
        dates = {i for i, name, _ in plan.plain if kinds.get(name) is Kind.DATE}
        rows = open_table(source.path, source.sheet).rows
        head = [next(rows, []) for _ in range(header_rows)]
        # The two columns go after the widest header row, named in each header row (names, labels) alike; and after
        # a rejected row's cells past the last header, so that they are copied where they were, not under them.
        width = max(map(len, head), default=0)
        if any("[cells-beyond-header]" in text for _, text in rejected.values()):
            again = open_table(source.path, source.sheet).rows
            width = max([width, *(len(raw) for n, raw in enumerate(again, start=1) if n in rejected)])
        for raw in head:
            writer.writerow(cells.csv_row([*map(_cell, raw), *([""] * (width - len(raw))), ROW_COLUMN, PROBLEMS_COLUMN]))
        written = 0
        for number, raw in enumerate(rows, start=header_rows + 1):
            if number in rejected:
                raw = [_day(v) if i in dates else v for i, v in enumerate(raw)]
                writer.writerow(cells.csv_row([*map(_cell, raw), *([""] * (width - len(raw))), number, rejected[number][1]]))
                written += 1
                if written == len(rejected):
                    break
        return written
