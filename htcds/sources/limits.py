"""How much a file may hold before Phare reads it, checked before anything is loaded.

A few kilobytes of XLSX can claim a cell at XFD1048576: the spreadsheet reader then allocates every cell of the
rectangle (17 billion cells, tens of gigabytes) before handing back one row, and a zip entry that compresses
1,000 to 1 fills the memory as it is inflated. So a workbook is looked at as a zip first: the size of every part
once inflated (counted while inflating, not as the zip claims), and the rows and columns its cells name. A CSV
cell is limited as the csv module parses it, a JSON file by its size and nesting. Every refusal names the limit,
its value and what to do (`TooLargeError`, reported as the `file-too-large` problem).

The limits are one `Limits` object; Phare sets it from its settings (PHARE_IMPORT_MAX_*, docs/import.md).
"""

from __future__ import annotations

import csv
import json
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from htcds.sources.tabular import UnreadableFileError, column_letter

MIB = 1 << 20
_CHUNK = 4 * MIB


@dataclass(frozen=True)
class Limits:
    # Bytes of a spreadsheet's parts once inflated, of a CSV file, of a JSON file.
    max_bytes: int = 512 * MIB
    # Rows of a sheet (or lines of a CSV), header rows included.
    max_rows: int = 1_000_000
    # Cells of the rectangle a sheet spans (rows x columns): what the reader allocates, at about 32 bytes each.
    max_cells: int = 20_000_000
    # Characters in one cell: Excel's own limit.
    max_cell_chars: int = 32_767
    # Nesting of a JSON file (an HTCDS bundle needs 5).
    max_json_depth: int = 64


LIMITS = Limits()

# Where each limit is set, for the message that names it.
SETTINGS = {"max_bytes": "PHARE_IMPORT_MAX_MB", "max_rows": "PHARE_IMPORT_MAX_ROWS",
            "max_cells": "PHARE_IMPORT_MAX_CELLS", "max_cell_chars": "PHARE_IMPORT_MAX_CELL_CHARS",
            "max_json_depth": "PHARE_IMPORT_MAX_JSON_DEPTH"}  # fmt: skip

_FIXES = {"max_bytes": "split the file into smaller files", "max_rows": "split the file into smaller files",
          "max_cells": "copy only the rows and columns that hold cases into a new sheet (or split the file)",
          "max_cell_chars": "shorten the cell, keeping long text for a document attached to the case",
          "max_json_depth": "export the cases again as HTCDS bundles"}  # fmt: skip


def configure(**values: int) -> Limits:
    """Replace the limits in force (Phare calls it once from its settings); returns the new ones."""
    global LIMITS
    LIMITS = replace(LIMITS, **values)
    return LIMITS


class TooLargeError(UnreadableFileError):
    """A file over one of the limits: the message says which, its value, and what to do."""

    code = "file-too-large"

    def __init__(self, message: str, limit: str) -> None:
        setting = SETTINGS[limit]
        value = getattr(LIMITS, limit)
        shown = f"{value // MIB} MB" if limit == "max_bytes" else f"{value:,}"
        super().__init__(f"{message} The limit is {shown} ({setting}): {_FIXES[limit]}, or ask the administrator "
                         f"to raise {setting}.")  # fmt: skip
        self.limit = limit


def check_size(path: Path, what: str) -> None:
    if path.stat().st_size > LIMITS.max_bytes:
        raise TooLargeError(f"{path.name}: the {what} is larger than Phare reads at once.", "max_bytes")


def check_lines(path: Path, lines: int) -> None:
    """Refuse a CSV file with more lines than `max_rows` (a cell may span lines, so a file of fewer rows can be
    refused: the message says lines). The reader counts them as it decides the file's encoding."""
    if lines > LIMITS.max_rows:
        raise TooLargeError(f"{path.name} holds {lines:,} lines, more than Phare reads at once.", "max_rows")


# A cell's reference when it comes first in its tag, as every writer puts it: letters and row number.
_CELL_REF = re.compile(rb'<c r="([A-Z]{1,4})(\d{1,10})')
_CELL_LETTERS = re.compile(rb'<c r="([A-Z]{1,4})')
_CELL_ROWS = re.compile(rb'<c r="[A-Z]{1,4}(\d{1,10})')
# Any cell tag, and one whose reference is not its first attribute (or that has none).
_ANY_CELL = re.compile(rb"<c[ >/]")
_LATE_REF = re.compile(rb'<c\b[^>]*?\sr="([A-Z]{1,4})(\d{1,10})"')


def _column_number(letters: bytes) -> int:
    n = 0
    for b in letters:
        n = n * 26 + b - 64
    return n


def check_workbook(path: Path) -> None:
    """Refuse a zipped workbook (XLSX, XLSM, ODS) whose parts inflate beyond `max_bytes`, or an XLSX sheet whose
    cells span more than `max_rows` rows or `max_cells` cells. Reads the zip only; raises TooLargeError."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return  # not a zip (XLS, or broken): the spreadsheet reader says what it is
    with zf:
        infos = zf.infolist()
        if sum(i.file_size for i in infos) > LIMITS.max_bytes:
            raise TooLargeError(f"{path.name}: once unpacked, the workbook is larger than Phare reads at once.",
                                "max_bytes")  # fmt: skip
        if any(i.filename.startswith("xl/worksheets/") and i.filename.endswith(".bin") for i in infos):
            raise UnreadableFileError(f"{path.name} is a binary workbook (XLSB): save it as .xlsx and upload it again.")
        inflated = 0
        for info in infos:
            sheet = info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
            try:
                inflated += _inflate(zf, info, path, sheet, LIMITS.max_bytes - inflated)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise UnreadableFileError(f"{path.name} is damaged and cannot be opened: {exc}") from exc
            except ValueError as exc:  # zlib's for a corrupt stream
                raise UnreadableFileError(f"{path.name} is damaged and cannot be opened: {exc}") from exc


def _inflate(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, sheet: bool, budget: int) -> int:
    """Inflate one part counting its bytes (zipfile stops at the size the zip claims and checks the CRC, so a
    part that lies about its size is refused); for a worksheet, the rectangle its cells span."""
    size = 0
    max_row = 0
    max_col = 0
    unreferenced = 0
    carry = b""
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(_CHUNK)
            size += len(chunk)
            if size > budget:
                raise TooLargeError(f"{path.name}: once unpacked, the workbook is larger than Phare reads at once.",
                                    "max_bytes")  # fmt: skip
            if not sheet:
                if not chunk:
                    break
                continue
            data = carry + chunk
            carry = b""
            if chunk:  # a tag cut at the chunk's end is read with the next chunk
                cut = data.rfind(b"<")
                if cut >= 0:
                    carry, data = data[cut:], data[:cut]
            letters = set(_CELL_LETTERS.findall(data))
            if letters:
                max_col = max(max_col, *map(_column_number, letters))
                max_row = max(max_row, *map(int, _CELL_ROWS.findall(data)))
            cells = len(_ANY_CELL.findall(data))
            first = data.count(b'<c r="')
            if cells > first:  # a writer that puts the reference later, or leaves it out (cells then follow on)
                late = _LATE_REF.findall(data)
                for col, row in late:
                    max_col = max(max_col, _column_number(col))
                    max_row = max(max_row, int(row))
                unreferenced += cells - first - len(late)
            if not chunk:
                break
    if sheet:
        width = max(max_col, 1) + unreferenced
        if max_row > LIMITS.max_rows:
            raise TooLargeError(f"{path.name}: a sheet has cells down to row {max_row:,}, more rows than Phare reads "
                                "at once.", "max_rows")  # fmt: skip
        if max_row * width > LIMITS.max_cells:
            raise TooLargeError(f"{path.name}: a sheet spans {max_row:,} rows by {width:,} columns, more cells than "
                                "Phare reads at once (an empty cell far down or far right counts as the whole "
                                "rectangle up to it).", "max_cells")  # fmt: skip
    return size


def cell_too_long(value: str, row: int, column: int) -> TooLargeError:
    """The refusal of a cell longer than `max_cell_chars` (the caller tests the length: this is the slow path)."""
    return TooLargeError(f"Row {row}, column {column_letter(column)}: the cell holds {len(value):,} characters, more "
                        "than one cell may.", "max_cell_chars")  # fmt: skip


def csv_field_limit() -> None:
    """The csv module's own field limit, set to ours (it is per process; nothing else in Phare parses CSV of
    unknown size)."""
    csv.field_size_limit(LIMITS.max_cell_chars)


def load_json(path: Path) -> Any:
    """A JSON file within `max_bytes` and `max_json_depth`; UnreadableFileError (or TooLargeError) otherwise."""
    check_size(path, "JSON file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(f"{path.name} is not UTF-8 text: save it as UTF-8 JSON.") from exc
    return loads(text, path.name)


def loads(text: str, name: str) -> Any:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFileError(f"{name} is not JSON: {exc}") from exc
    except RecursionError as exc:  # the decoder's own depth guard, far deeper than ours
        raise TooLargeError(f"{name}: the JSON is nested deeper than Phare reads.", "max_json_depth") from exc
    if json_depth(data) > LIMITS.max_json_depth:
        raise TooLargeError(f"{name}: the JSON is nested deeper than Phare reads.", "max_json_depth")
    return data


def json_depth(data: Any) -> int:
    """How deeply lists and objects nest (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > LIMITS.max_json_depth:
            return depth
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return deepest
