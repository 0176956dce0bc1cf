"""Pick the right source for a file: mapping given → mapped; JSON → bundles or form JSON; a sheet whose
headers are a form export's → form export; a sheet with HTCDS field names or labels → official template."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from htcds.sources.base import Row, Source, TabularSource
from htcds.sources.bundles import BundleSource, bundle_items
from htcds.sources.kobo import FormExportSource, FormJsonSource, json_records, looks_like_form_export
from htcds.sources.limits import load_json
from htcds.sources.mapped import MappedSource, Mapping, load_mapping
from htcds.sources.problems import WARNING, source_problem
from htcds.sources.tabular import Table, UnreadableFileError, cell_text, open_table
from htcds.sources.template import TemplateSource, recognised


class BrokenSource(Source):
    """Stands in for a file that cannot be read, so callers always get a Source with the reason on it."""

    kind = "unreadable"

    def __init__(self, path: Path | None, code: str, message: str, fix: str | None = None) -> None:
        super().__init__(path, "unreadable")
        self.problems.append(source_problem(code, message, value=str(path or ""), fix=fix))

    def _rows(self) -> Any:
        return iter(())


# Rows above the header that may hold a title.
TITLE_ROWS = 5


def open_source(path: Path, mapping: Mapping | Path | None = None, day_first: bool = True) -> Source:
    """A Source for `path`; never raises for bad input (an unreadable file gives a source with one problem)."""
    path = Path(path)
    try:
        if mapping is not None:
            m = mapping if isinstance(mapping, Mapping) else load_mapping(Path(mapping))
            return MappedSource(path, m)
        if path.suffix.lower() in (".json", ".jsonl", ".ndjson"):
            return _json_source(path, day_first)
        table = open_table(path)
        head = list(itertools.islice(table.rows, TITLE_ROWS + 2))
    except UnreadableFileError as exc:
        return BrokenSource(path, exc.code, str(exc))
    except Exception as exc:  # a mapping error, or a decoder's; reported, never raised at the caller
        problems = getattr(exc, "problems", None)
        if problems:
            src = BrokenSource(path, "invalid-mapping", str(exc))
            src.problems = list(problems)
            return src
        return BrokenSource(path, "unreadable-file", f"{path.name}: {exc}")
    while len(head) < 2:
        head.append([])
    texts = [[cell_text(c) for c in r] for r in head]
    if not any(any(t) for t in texts):
        return BrokenSource(path, "empty-file", f"{path.name} holds nothing to import: its first rows are empty.",
                            fix="save the sheet again with its header row at the top")  # fmt: skip
    found: TabularSource | None = None
    # A title above the header ("Cases registered in 2024", a blank line) is passed over, and said so.
    for skip in range(min(TITLE_ROWS, len(texts) - 1) + 1):
        headers, second = texts[skip], texts[skip + 1] if skip + 1 < len(texts) else []
        filled = [h for h in headers if h]
        if len(filled) < 2 and not recognised(filled) and skip < len(texts) - 2:
            continue  # a title or a blank line
        if looks_like_form_export(headers):
            found = FormExportSource(path, day_first=day_first)
        # Three HTCDS names or labels tell a template from another sheet; so does a short sheet whose every header
        # is one.
        elif max(recognised(headers), recognised(second)) >= 3 or 0 < recognised(filled) == len(filled):
            found = TemplateSource(path, day_first=day_first)
        if found is not None and skip:
            found.skip = skip
            found.problems.append(source_problem(
                "title-rows", f"The header is on row {skip + 1}; the {skip} row(s) above it are left out.",
                row=skip, value=" ".join(t for t in texts[skip - 1] if t)[:80], severity=WARNING,
                fix="delete the rows above the header if they hold cases"))  # fmt: skip
        break
    if found is not None:
        if not table.is_csv and found.sheet is None:  # a spreadsheet is loaded whole to read its headers: read it once, not twice
            found.opened = Table(itertools.chain(head, table.rows), False, table.sheet)
        return found
    return BrokenSource(path, "unrecognised-layout",
                        f"{path.name}: the columns are not an HTCDS template nor a KoBo/ODK export.",
                        fix="write a mapping file (suggest_mapping proposes one)")  # fmt: skip


def _json_source(path: Path, day_first: bool) -> Source:
    if path.suffix.lower() != ".json":
        return BundleSource(path)
    data = load_json(path)
    if bundle_items(data) is not None:
        return BundleSource(path, data=data)
    if json_records(data) is not None:
        return FormJsonSource(path, data=data, day_first=day_first)
    raise UnreadableFileError(f"{path.name} holds neither HTCDS case bundles nor form submissions.")


__all__ = ["Row", "Source", "open_source"]
