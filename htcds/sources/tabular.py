"""Read rows from CSV, XLSX, XLSM, XLS and ODS files without caring which one it is.

CSV files come from everywhere: KoBo writes `;`-separated files, Excel on Windows writes cp1252, most
tools write UTF-8 with or without a BOM. The delimiter and the encoding are therefore sniffed, not assumed.
CSV rows are streamed so a 100,000-row file is never held twice in memory. A text cell that Phare's writers
neutralised against formulas (`'=…`, `'+234…`, htcds.cells) reads back as it was before.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from htcds.cells import unneutralise, unneutralised_row

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")

# Sheets of the official templates that hold cases; any other workbook uses its first sheet.
_CASE_SHEETS = ("Case Sheet", "Cases", "cases")


class UnreadableFileError(Exception):
    """The file cannot be read as it is; carries a message fit for the person importing, and the code of the
    problem it becomes (unreadable-file, file-too-large, duplicate-column)."""

    code = "unreadable-file"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


def column_letter(index: int) -> str:
    """Spreadsheet letters for a 0-based column index (0 → A, 27 → AB): people find columns by letter."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass
class Table:
    """A sheet as header rows plus a row iterator; `first_row` is the 1-based number of the first data row."""

    rows: Iterator[list[Any]]
    is_csv: bool
    sheet: str = ""


def _encoding(path: Path) -> str:
    """The file's encoding, decided on the whole file (a Windows-1252 accent on line 90,000 must not turn into
    U+FFFD): a byte order mark, else UTF-16 by its zero bytes, else UTF-8 if every byte reads as UTF-8, else
    Windows-1252 if every byte does; else the file is refused. Counts the lines on the way, for the row limit."""
    from htcds.sources import limits

    limits.check_size(path, "CSV file")
    with path.open("rb") as fh:
        head = fh.read(4096)
        if head.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8-sig"
        elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
            encoding = "utf-16"
        elif len(head) >= 4 and head.count(b"\x00") * 3 > len(head):  # UTF-16 without its mark: ASCII half zeros
            encoding = "utf-16-le" if head[1::2].count(b"\x00") > head[0::2].count(b"\x00") else "utf-16-be"
        else:
            encoding = ""
        fh.seek(0)
        utf8 = codecs.getincrementaldecoder("utf-8")() if not encoding else None
        cp1252 = codecs.getincrementaldecoder("cp1252")()
        lines = 0
        cp_ok = True
        while chunk := fh.read(4 << 20):
            lines += chunk.count(b"\n")
            if utf8 is not None:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = None
            if utf8 is None and not encoding and cp_ok:
                try:
                    cp1252.decode(chunk)
                except UnicodeDecodeError:
                    cp_ok = False
        if utf8 is not None:
            try:
                utf8.decode(b"", final=True)
                encoding = encoding or "utf-8"
            except UnicodeDecodeError:
                utf8 = None
        if not encoding:
            if not cp_ok:
                raise UnreadableFileError(f"{path.name} is neither UTF-8 nor Windows-1252 text: save it again as "
                                          "\"CSV UTF-8\".")  # fmt: skip
            encoding = "cp1252"
    limits.check_lines(path, lines)
    return encoding


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(path: Path) -> Iterator[list[Any]]:
    from htcds.sources import limits

    encoding = _encoding(path)
    limits.csv_field_limit()
    with path.open(newline="", encoding=encoding) as fh:
        first = fh.readline()
        fh.seek(0)
        if encoding.startswith("utf-16") and first.startswith("\ufeff"):
            first = first[1:]
        if encoding == "utf-8-sig":
            first = first.lstrip("\ufeff")
        reader = csv.reader(fh, delimiter=_sniff_delimiter(first))
        try:
            for row in reader:
                yield unneutralised_row(row)
        except csv.Error as exc:
            line = reader.line_num
            if "field limit" in str(exc):
                raise limits.TooLargeError(f"{path.name}, line {line}: a cell holds more characters than one cell "
                                           "may.", "max_cell_chars") from exc  # fmt: skip
            raise UnreadableFileError(f"{path.name}, line {line}: {exc}") from exc
        except UnicodeError as exc:
            raise UnreadableFileError(f"{path.name} is not {encoding} text throughout: save it again as \"CSV "
                                      f"UTF-8\".") from exc  # fmt: skip


class _CellTooLongError(Exception):
    pass


def _plain(value: Any, longest: int) -> Any:
    """Calamine hands back dates as date/datetime and empty cells as ""; keep dates, drop midnight times. A text
    saved from a neutralised CSV (`'+234…`) reads as it was."""
    if isinstance(value, datetime):
        return value.date() if value.time() == time() else value
    if len(value) > longest:
        raise _CellTooLongError
    return unneutralise(value)


def _sheet_rows(path: Path, sheet: str | None) -> tuple[str, Iterator[list[Any]]]:
    from python_calamine import CalamineWorkbook

    from htcds.sources import limits

    limits.check_workbook(path)  # before the reader allocates the sheet's whole rectangle
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for every kind of broken file
        raise UnreadableFileError(f"{path.name} cannot be opened as a spreadsheet: {exc}") from exc
    names = list(wb.sheet_names)
    chosen = sheet if sheet in names else next((s for s in _CASE_SHEETS if s in names), names[0] if names else None)
    if chosen is None:
        raise UnreadableFileError(f"{path.name} has no sheet.")
    data = wb.get_sheet_by_name(chosen)

    longest = limits.LIMITS.max_cell_chars

    def rows() -> Iterator[list[Any]]:
        for n, r in enumerate(data.iter_rows(), start=1):
            # Text and numbers pass as they are; only a datetime, a text starting with an apostrophe or a text over
            # the length limit needs a look (a call per cell was a fifth of reading a large sheet).
            try:
                yield [v if (c := v.__class__) is not datetime and (c is not str or (v[:1] != "'" and len(v) <= longest))  # type: ignore[index, arg-type]
                       else _plain(v, longest) for v in r]  # fmt: skip
            except _CellTooLongError as exc:
                column = next(i for i, v in enumerate(r) if isinstance(v, str) and len(v) > longest)
                raise limits.cell_too_long(str(r[column]), n, column) from exc

    return chosen, rows()


def open_table(path: Path, sheet: str | None = None) -> Table:
    suffix = path.suffix.lower()
    if not path.is_file():
        raise UnreadableFileError(f"{path} does not exist.")
    if suffix in SPREADSHEET_SUFFIXES:
        name, rows = _sheet_rows(path, sheet)
        return Table(rows, False, name)
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        name, rows = _sheet_rows(path, sheet)  # a spreadsheet saved with the wrong extension
        return Table(rows, False, name)
    return Table(_csv_rows(path), True)


def cell_text(value: Any) -> str:
    """A header cell as text (headers may come back as numbers or dates from spreadsheets)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\xa0", " ").strip()


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_text_csv(text: str) -> list[list[str]]:
    """Parse CSV held in memory (uploads, tests) with the same delimiter sniffing as files."""
    first = text.split("\n", 1)[0]
    return [unneutralised_row(list(r)) for r in csv.reader(io.StringIO(text), delimiter=_sniff_delimiter(first))]
