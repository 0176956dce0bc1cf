"""Rows with their problems, source and validation together: what an importer or a dry run needs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from htcds.sources.base import Row, Source, TabularSource
from htcds.sources.problems import Problem
from htcds.validation import validate_bundle

CheckedRow = tuple[int, str, dict[str, Any], list[Problem]]


def checked_rows(source: Source, validate: bool = True) -> Iterator[CheckedRow]:
    """(row, key, bundle, problems of that row). Problems without a row (headers, mapping) stay on
    `source.problems`; a caller reports them once for the file. A sheet is read by columns (the same result,
    faster: htcds.sources.columns)."""
    if validate and isinstance(source, TabularSource):
        return source.checked()
    return checked_row_by_row(source, iter(source), validate)


def checked_row_by_row(source: Source, rows: Iterator[Row], validate: bool = True) -> Iterator[CheckedRow]:
    """`rows` of `source` (as iterating it gives them) with each row's problems, validated."""
    seen = 0
    for row, key, bundle in rows:
        new = source.problems[seen:]
        seen = len(source.problems)
        mine = [p for p in new if p.row == row]
        if validate:
            validate_bundle(bundle, row, mine)
        yield row, key, bundle, mine


def report_dict(problem: Problem, source: Source) -> dict[str, Any]:
    """A problem as JSON for reports: adds the column and calls the suggestion what it is to a user, a fix."""
    d = problem.to_dict()
    d["column"] = source.column_of(problem)
    d["fix"] = d.pop("suggestion")
    return d
