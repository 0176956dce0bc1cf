"""HTCDS JSON case bundles as a source: one bundle, a list, `{"bundles": [...]}` or JSON Lines.

Bundles are already in stored form, so nothing is coerced; the importer validates them like any other row.
The source key is the case's own id, so re-importing an export updates rather than duplicates.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from htcds.sources import limits
from htcds.sources.base import Row, Source
from htcds.sources.problems import source_problem
from htcds.sources.tabular import UnreadableFileError
from htcds.sources.values import fingerprint


def is_bundle(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("case"), dict)


def bundle_items(data: Any) -> list[Any] | None:
    if is_bundle(data):
        return [data]
    if isinstance(data, dict) and isinstance(data.get("bundles"), list):
        return list(data["bundles"])
    if isinstance(data, list) and data and any(is_bundle(d) for d in data):
        return data
    return None


class BundleSource(Source):
    kind = "htcds-json"

    def __init__(self, path: Path | None, name: str = "htcds-json", data: Any = None) -> None:
        super().__init__(path, name)
        self.data = data

    def _items(self) -> Iterator[tuple[int, Any]]:
        if self.data is not None:
            yield from enumerate(bundle_items(self.data) or [], start=1)
            return
        assert self.path is not None
        if self.path.suffix.lower() in (".jsonl", ".ndjson"):
            limits.check_size(self.path, "JSON file")
            with self.path.open(encoding="utf-8-sig") as fh:
                for n, line in enumerate(fh, start=1):
                    if line.strip():
                        try:
                            yield n, limits.loads(line, f"Line {n}")
                        except limits.TooLargeError:
                            raise
                        except UnreadableFileError as exc:
                            self.problems.append(source_problem("unreadable-file", str(exc), row=n))
            return
        data = limits.load_json(self.path)
        items = bundle_items(data)
        if items is None:
            raise UnreadableFileError(f"{self.path.name} holds no HTCDS case bundle.")
        yield from enumerate(items, start=1)

    def _rows(self) -> Iterator[Row]:
        for n, item in self._items():
            if not is_bundle(item):
                self.problems.append(source_problem("not-a-bundle", row=n, value=str(item)[:80],
                                                    fix='a bundle is an object with a "case" object'))  # fmt: skip
                continue
            case_id = item["case"].get("id")
            key = str(case_id) if case_id not in (None, "") else fingerprint(item)
            yield n, key, item
