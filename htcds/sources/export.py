"""Case bundles out: CSV and XLSX in the official template layout, and JSON bundles.

The sheet layout holds one row per case: the case, its first victim participant and that person, their
first consent, the first incoming and the first outgoing referral. Other records (comments, events, more
participants) only travel in JSON. Multi-values are joined with ";", the templates' own convention, and
values are written as value names by default (`labels=True` writes the labels people read in the
official validation lists; the importer reads both back). An export also carries the case's opening and closing
dates, then `id`, the case number, and `record_uid`, the uid of the case's victim record, so that re-importing an
export into the organisation it came from updates the same cases (both must match), and into another one recreates
them whole.
"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterable, Iterator
from datetime import date
from itertools import islice
from pathlib import Path
from typing import IO, Any, Protocol

from htcds import cells, codelists
from htcds.catalogue import VICTIM_ROLES, Field, Kind
from htcds.sources.layout import CASE_DATES, ID_COLUMN, RECORD_COLUMN, sheet_fields


class Openable(Protocol):
    """Where a writer writes: a Path, or anything that opens like one (Phare keeps its files sealed at rest)."""

    def open(self, mode: str, buffering: int = ..., encoding: str | None = ..., errors: str | None = ...,
             newline: str | None = ...) -> IO[Any]: ...  # fmt: skip


def _row_records(bundle: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The person one sheet row shows, and the records it holds, in the order a later one wins: the case, that
    person, their victim participation, their first consent, the first incoming and the first outgoing referral."""
    victim: dict[str, Any] = next((p for p in bundle.get("participants") or () if p.get("role") in VICTIM_ROLES), {})
    pid = victim.get("person")
    persons = bundle.get("persons") or []
    person = next((p for p in persons if p.get("id") == pid), persons[0] if persons and not pid else {})
    consent: dict[str, Any] = next((c for c in bundle.get("consents") or () if c.get("person") in (pid, None)), {})
    refs = bundle.get("referrals") or ()
    incoming: dict[str, Any] = next((r for r in refs if r.get("direction") == "Incoming"), {})
    outgoing: dict[str, Any] = next((r for r in refs if r.get("direction") == "Outgoing"), {})
    return person, [bundle.get("case") or {}, person, victim, consent, incoming, outgoing]


_NOT_FIELDS = ("id", "person", "role", "direction")  # what links the records, not a field a row shows


def flatten_bundle(bundle: dict[str, Any]) -> dict[str, Any]:
    """The sheet view of a bundle: field name → stored value, for the records one row can hold."""
    out: dict[str, Any] = {}
    for record in _row_records(bundle)[1]:
        out.update(record)
    for key in _NOT_FIELDS:
        out.pop(key, None)
    return out


def victim_uid(bundle: dict[str, Any]) -> str | None:
    """The id of the person `flatten_bundle` puts on the case's row (in an export, the person's uid)."""
    return _row_records(bundle)[0].get("id")


def _text(f: Field, value: Any, labels: bool) -> Any:
    if isinstance(value, list):
        if not labels and all(v.__class__ is str for v in value):
            return ";".join(value)
        return ";".join(str(_text(f, v, labels)) for v in value)
    if isinstance(value, bool):
        return ("Yes" if value else "No") if labels else ("true" if value else "false")
    if labels and isinstance(value, str):
        if f.codelist == "country":
            return codelists.country_name(value)
        if f.choices:
            return f.label_of(value)
    return value


def row_fields(extended: bool = False, include_ids: bool = True) -> list[Field]:
    """The fields of a sheet row's columns (before the two id columns, with `include_ids`)."""
    fields = sheet_fields(extended)
    if include_ids:
        fields += [f for f in sheet_fields(True) if f.name in CASE_DATES and f not in fields]
    return fields


def sheet_header(extended: bool = False, labels: bool = False, include_ids: bool = True) -> list[list[Any]]:
    """The two header rows of a sheet: field names, then labels."""
    fields = row_fields(extended, include_ids)
    return [[f.name for f in fields] + ([ID_COLUMN, RECORD_COLUMN] if include_ids else []),
            [f.label for f in fields] + (["Case id", "Record uid"] if include_ids else [])]  # fmt: skip


def sheet_value(f: Field, value: Any) -> Any:
    """A cell of `sheet_rows` with its default options, for the value a bundle's record holds."""
    return value if value is None or value.__class__ is str else _text(f, value, False)


def sheet_rows(bundles: Iterable[dict[str, Any]], extended: bool = False, labels: bool = False,
               include_ids: bool = True, native: bool = False) -> Iterator[list[Any]]:  # fmt: skip
    """Header rows (names, labels) then one row per bundle. `native` keeps dates and booleans typed (XLSX)."""
    fields = row_fields(extended, include_ids)
    yield from sheet_header(extended, labels, include_ids)
    names = [f.name for f in fields]
    # A text is written as it is, unless labels are asked for or it is a date to type: the usual cell costs one
    # look at its type (an export writes millions).
    as_is = {f.name for f in fields if not labels and not (native and f.kind is Kind.DATE)}
    by_name = {f.name: f for f in fields}
    for bundle in bundles:
        person, records = _row_records(bundle)
        flat: dict[str, Any] = {}
        for record in records:
            flat.update(record)
        row = list(map(flat.get, names))
        for i, value in enumerate(row):
            if value is None or (value.__class__ is str and names[i] in as_is):
                continue
            f = by_name[names[i]]
            if native and f.kind is Kind.DATE and isinstance(value, str):
                with contextlib.suppress(ValueError):  # not a date: written as the text it is
                    row[i] = date.fromisoformat(value)
            elif not (native and isinstance(value, bool) and not labels):
                row[i] = _text(f, value, labels)
        if include_ids:
            row += [records[0].get("id"), person.get("id")]
        yield row


def write_csv(bundles: Iterable[dict[str, Any]], path: Openable, **options: Any) -> int:
    """No cell starts a formula (htcds.cells): a name typed as `=HYPERLINK(…)` is written `'=HYPERLINK(…)`."""
    return _write_csv(sheet_rows(bundles, **options), path) - 2


def write_csv_columns(chunks: Iterable[list[list[Any]]], path: Openable) -> int:
    """`write_csv` of rows given a chunk at a time as their columns (as `sheet_rows` with its default options makes
    them, after its header rows: phare.imports.exporting makes them without bundles); returns how many rows. The
    same bytes as `write_csv`, a column's cells neutralised at once (`cells.csv_column`)."""
    n = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerows(map(cells.csv_row, sheet_header()))
        for columns in chunks:
            rows = list(zip(*map(cells.csv_column, columns), strict=True))
            writer.writerows(rows)
            n += len(rows)
    return n


def _write_csv(rows: Iterable[list[Any]], path: Openable) -> int:
    n = 0
    rows = iter(rows)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        while chunk := [cells.csv_row(row) for row in islice(rows, 1000)]:
            writer.writerows(chunk)
            n += len(chunk)
    return n


def write_xlsx(bundles: Iterable[dict[str, Any]], path: Openable, sheet_file: Path | None = None, **options: Any) -> int:
    """Streams rows (openpyxl write-only mode), so a large export does not hold the sheet in memory; no cell is a
    formula (htcds.cells). openpyxl keeps the sheet's XML in a file until it zips it: a temporary file of its own, or
    `sheet_file` (a caller that must not leave personal data in clear on disk passes one held in memory)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Case Sheet")
    if sheet_file is not None:
        _sheet_writer(ws, sheet_file)
    n = -2
    for row in sheet_rows(bundles, native=True, **options):
        ws.append(cells.xlsx_row(ws, row))
        n += 1
    with path.open("wb") as fh:
        wb.save(fh)
    return n


def _sheet_writer(ws: Any, out: Path) -> None:
    """Give a write-only worksheet the writer openpyxl would make itself, on `out` instead of a temporary file
    (openpyxl removes the file once zipped, as it removes its own)."""
    from openpyxl.worksheet import _writer

    _writer.ALL_TEMP_FILES.append(str(out))
    ws._writer = _writer.WorksheetWriter(ws, out=str(out))
    ws._writer.write_top()


def write_json(bundles: Iterable[dict[str, Any]], path: Openable) -> int:
    """`{"htcds_version": "2.0", "bundles": [...]}`; the bundle source reads it back as is. Written a bundle at a
    time, so that an organisation's whole export is never held in memory."""
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"htcds_version": "2.0", "bundles": [')
        for bundle in bundles:
            fh.write(",\n" if n else "\n")
            fh.write(json.dumps(bundle, ensure_ascii=False, indent=1))
            n += 1
        fh.write("\n]}\n" if n else "]}\n")
    return n


def write_jsonl(bundles: Iterable[dict[str, Any]], path: Openable) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for b in bundles:
            fh.write(json.dumps(b, ensure_ascii=False) + "\n")
            n += 1
    return n
