"""What every source has in common: rows out as (row number, source key, bundle), problems collected.

A source never raises on bad data: it reports a Problem (row, column, value, fix) and goes on, so one run
tells the person importing everything that needs fixing. Only an unreadable file stops it, and even that
becomes a Problem (`unreadable-file`) rather than an exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from htcds.catalogue import load
from htcds.sources.layout import PROBLEMS_COLUMN, ROW_COLUMN
from htcds.sources.problems import WARNING, Problem, source_problem
from htcds.sources.tabular import Table, UnreadableFileError, column_letter, is_blank
from htcds.sources.values import Converter, assemble, fingerprint, truthy

if TYPE_CHECKING:
    from htcds.sources.checked import CheckedRow

Row = tuple[int, str, dict[str, Any]]


def unreadable(exc: UnreadableFileError, path: Path | None) -> Problem:
    """The problem for a file that cannot be read on: broken, over a limit (`file-too-large`), two columns for one
    field (`duplicate-column`)."""
    return source_problem(exc.code, str(exc), value=str(path or ""))


def entity_map() -> dict[str, str]:
    return {f.name: f.entity for f in load().fields}


class Source:
    """Base of every source. Subclasses implement `_rows`; iterate the source itself to get rows."""

    kind = "source"

    def __init__(self, path: Path | None, name: str) -> None:
        self.path = path
        self.name = name  # with the source key, identifies a record across re-imports
        self.problems: list[Problem] = []
        self.columns: dict[str, str] = {}  # HTCDS field → column reference, to locate validation problems
        self._seen: set[str] = set()

    def __iter__(self) -> Iterator[Row]:
        return self._keyed(self._rows())

    def _keyed(self, rows: Iterator[Row]) -> Iterator[Row]:
        """`rows` with repeated source ids reported, and an unreadable file turned into a problem."""
        try:
            for row_number, key, bundle in rows:
                if key in self._seen:
                    self.problems.append(source_problem(
                        "duplicate-key", f"Row {row_number} repeats the source id {key!r} of an earlier row.",
                        row=row_number, value=key, severity=WARNING))  # fmt: skip
                self._seen.add(key)
                yield row_number, key, bundle
        except UnreadableFileError as exc:
            self.problems.append(unreadable(exc, self.path))

    def _rows(self) -> Iterator[Row]:
        raise NotImplementedError

    def column_of(self, problem: Problem) -> str:
        """Where to look for a problem: its own column for source problems, the field's column otherwise."""
        if problem.entity == "source":
            return problem.path
        return self.columns.get(problem.field or "", "")


@dataclass
class Plan:
    """How to turn a row of cells into field values; built once per file from its header row(s)."""

    header_rows: int
    plain: list[tuple[int, str, Converter]] = field(default_factory=list)
    # (column, field, choice name): one-column-per-choice exports (KoBo's `field/choice` with 1 or 0).
    flags: list[tuple[int, str, str]] = field(default_factory=list)
    id_columns: list[int] = field(default_factory=list)
    constants: dict[str, Any] = field(default_factory=dict)
    headers: list[str] = field(default_factory=list)
    role: str = "Victim"
    # If set, a blank id column is reported (mapping files that promise an id).
    id_required: bool = False
    # Phare's own exports: the column holding the row's victim record uid, joined to the case number in the key.
    record_column: int | None = None

    def column_ref(self, index: int) -> str:
        header = self.headers[index] if index < len(self.headers) else ""
        return f"{column_letter(index)} ({header})" if header else column_letter(index)


def _clean_id(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = str(raw).strip()
    return text[5:] if text.startswith("uuid:") else text


RECORD_MARK = " #"  # case number RECORD_MARK record uid: the key of a row of Phare's own export


def with_record(key: str, plan: Plan, raw: list[Any]) -> str:
    """The row's key with the record uid of Phare's own export, when the row has both."""
    i = plan.record_column
    if key and i is not None and i < len(raw) and not is_blank(raw[i]):
        return f"{key}{RECORD_MARK}{_clean_id(raw[i])}"
    return key


_ADDED = (ROW_COLUMN, PROBLEMS_COLUMN)  # the columns a rejected-rows copy adds after the row's own cells


def header_width(plan: Plan) -> int:
    """The columns up to the sheet's last header (a reader may pad its headers to the widest row it sampled), not
    counting the two a rejected-rows copy adds."""
    width = len(plan.headers)
    while width and (not str(plan.headers[width - 1] or "").strip() or plan.headers[width - 1] in _ADDED):
        width -= 1
    return width


def cells_beyond_header(plan: Plan, raw: list[Any]) -> list[int]:
    """The columns of a row past its sheet's last header that hold a value: no field reads them, so they would be
    dropped unseen (a comma inside an unquoted CSV cell shifts the row this way)."""
    width = header_width(plan)
    if not width or len(raw) <= width:
        return []
    headers = plan.headers
    return [i for i in range(width, len(raw)) if not is_blank(raw[i]) and (i >= len(headers) or headers[i] not in _ADDED)]


def beyond_problem(plan: Plan, raw: list[Any], row_number: int, beyond: list[int]) -> Problem:
    letters = ", ".join(column_letter(i) for i in beyond)
    shown = ", ".join(repr(str(raw[i])[:40]) for i in beyond[:3])
    return source_problem("cells-beyond-header", f"Row {row_number} has values in column(s) {letters}, after the last "
                          f"header ({column_letter(header_width(plan) - 1)}): {shown}. No field reads them, so the row "
                          "is not imported rather than imported without them.", row=row_number,
                          column=column_letter(beyond[0]), value=str(raw[beyond[0]])[:200],
                          fix="quote the cell that holds a comma (or a semicolon), or give those columns a header, "
                          "and import the row again")  # fmt: skip


def convert_row(plan: Plan, raw: list[Any], row_number: int, problems: list[Problem],
                entities: dict[str, str]) -> tuple[str, dict[str, Any]] | None:  # fmt: skip
    """One data row → (source key, bundle), or None for a blank row. Appends problems for the row."""
    values: dict[str, Any] = {}
    width = len(raw)
    beyond = cells_beyond_header(plan, raw)
    if beyond:
        problems.append(beyond_problem(plan, raw, row_number, beyond))
    for i, name, convert in plan.plain:
        if i >= width:
            continue
        cell = raw[i]
        if cell is None or cell == "":
            continue
        value, note = convert(cell)
        if note is not None:
            problems.append(source_problem(note[0], note[1], row=row_number, column=plan.column_ref(i), field=name,
                                           value=note[2], severity=WARNING))  # fmt: skip
        if value is None:
            continue
        previous = values.get(name)
        if previous is not None and isinstance(previous, list) and isinstance(value, list):
            value = list(dict.fromkeys(previous + value))
        values[name] = value
    for i, name, choice in plan.flags:
        if i < width and truthy(raw[i]):
            chosen = values.get(name, [])
            if isinstance(chosen, list) and choice not in chosen:
                # A new list: the joined cell's list is its converter's, remembered for the next rows.
                values[name] = [*chosen, choice]
    if not values:
        return None
    for name, value in plan.constants.items():
        values.setdefault(name, value)
    key = ""
    for i in plan.id_columns:
        if i < width and not is_blank(raw[i]):
            key = _clean_id(raw[i])
            break
    if not key:
        key = fingerprint(values)
        if plan.id_required:
            col = plan.column_ref(plan.id_columns[0]) if plan.id_columns else ""
            problems.append(source_problem("missing-id", row=row_number, column=col, fix=key, severity=WARNING))
        return key, assemble(values, entities, key, plan.role)
    return with_record(key, plan, raw), assemble(values, entities, key, plan.role)


class TabularSource(Source):
    """A sheet read through a Plan that a subclass builds from the header rows (and a sample of data)."""

    sample_size = 200
    # Headers that name one field twice are refused; a mapping may feed a field from several columns on purpose.
    one_column_per_field = True

    def __init__(self, path: Path, name: str, sheet: str | None = None) -> None:
        super().__init__(path, name)
        self.sheet = sheet
        self.opened: Table | None = None  # the sheet as detection opened it, taken by the first pass
        self.skip = 0  # title rows above the header

    def build_plan(self, head: list[list[Any]], sample: list[list[Any]]) -> Plan:
        raise NotImplementedError

    def _start(self) -> tuple[Plan, Iterator[list[Any]], int]:
        """Open the sheet and build its plan: (plan, its data rows, the row number before the first of them)."""
        from htcds.sources.tabular import open_table

        assert self.path is not None
        table, self.opened = self.opened or open_table(self.path, self.sheet), None
        rows = table.rows
        for _ in range(self.skip):
            next(rows, None)
        buffered: list[list[Any]] = []
        for r in rows:
            buffered.append(r)
            if len(buffered) >= self.sample_size + 2:
                break
        plan = self.build_plan(buffered[:2], buffered[2:])
        if self.one_column_per_field:
            _one_column_per_field(plan)
        for i, name, _ in plan.plain:
            self.columns.setdefault(name, plan.column_ref(i))
        for i, name, _ in plan.flags:
            self.columns.setdefault(name, plan.column_ref(i))
        return plan, _chain(buffered[plan.header_rows :], rows), self.skip + plan.header_rows

    def _rows(self) -> Iterator[Row]:
        yield from self._converted(*self._start())  # a generator, so a file refused on opening is a problem

    def _converted(self, plan: Plan, rows: Iterator[list[Any]], number: int) -> Iterator[Row]:
        entities = entity_map()
        problems = self.problems
        for raw in rows:
            number += 1
            out = convert_row(plan, raw, number, problems, entities)
            if out is not None:
                yield number, out[0], out[1]

    def checked(self) -> Iterator[CheckedRow]:
        """The rows with their problems, validated, as `checked.checked_rows` gives them: read by columns when
        the plan allows it (htcds.sources.columns), else row by row."""
        from htcds.sources.checked import checked_row_by_row
        from htcds.sources.columns import ColumnReader, supported

        try:
            plan, rows, number = self._start()
            if not supported(plan):
                yield from checked_row_by_row(self, self._keyed(self._converted(plan, rows, number)))
                return
            yield from ColumnReader(self, plan, entity_map()).rows(rows, number)
        except UnreadableFileError as exc:
            self.problems.append(unreadable(exc, self.path))


def _one_column_per_field(plan: Plan) -> None:
    """Two columns feeding one single-valued field would leave one of them out, row after row, unseen: refuse the
    file instead (multi-valued fields take both columns' values)."""
    cat = load()
    first: dict[str, int] = {}
    for i, name, _ in plan.plain:
        if name in first and not cat[name].multiple:
            raise UnreadableFileError(f"Columns {plan.column_ref(first[name])} and {plan.column_ref(i)} both hold "
                                      f"{name}; one would overwrite the other in every row. Delete or rename one of "
                                      "them.", "duplicate-column")  # fmt: skip
        first.setdefault(name, i)


def _chain(first: list[list[Any]], rest: Iterator[list[Any]]) -> Iterator[list[Any]]:
    yield from first
    yield from rest
