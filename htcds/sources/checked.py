"""Rows with their problems, source and validation together: what an importer or a dry run needs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from htcds.sources.base import Source
from htcds.sources.problems import Problem
from htcds.validation import validate_bundle

CheckedRow = tuple[int, str, dict[str, Any], list[Problem]]


def checked_rows(source: Source, validate: bool = True) -> Iterator[CheckedRow]:
    """(row, key, bundle, problems of that row). Problems without a row (headers, mapping) stay on
    `source.problems`; a caller reports them once for the file."""
    seen = 0
    pending: list[Problem] = []
    for row, key, bundle in source:
        new = source.problems[seen:]
        seen = len(source.problems)
        mine = [p for p in new if p.row == row]
        pending.extend(p for p in new if p.row != row)
        if validate:
            validate_bundle(bundle, row, mine)
        yield row, key, bundle, mine


def report_dict(problem: Problem, source: Source) -> dict[str, Any]:
    """A problem as JSON for reports: adds the column and calls the suggestion what it is to a user, a fix."""
    d = problem.to_dict()
    d["column"] = source.column_of(problem)
    d["fix"] = d.pop("suggestion")
    return d
