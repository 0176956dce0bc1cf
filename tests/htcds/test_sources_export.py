"""Exports (CSV, XLSX, JSON) and round trips through the sources, plus JSON bundles as a source."""

from __future__ import annotations

import random
from pathlib import Path

from htcds.sources import BundleSource, open_source
from htcds.sources.export import write_csv, write_json, write_jsonl, write_xlsx
from tests.fixtures.sources import fill_official, template_row


def _imported(shared: Path, tmp_path: Path, n: int = 8) -> list[dict[str, object]]:
    rnd = random.Random(3)
    path = fill_official(shared, tmp_path / "in.xlsm", [template_row(i, rnd) for i in range(n)])
    return [b for _, _, b in open_source(path)]


def test_it_round_trips_csv_xlsx_and_json_exports(shared: Path, tmp_path: Path) -> None:
    bundles = _imported(shared, tmp_path)
    for name, writer, opts in [("out.csv", write_csv, {}), ("out.xlsx", write_xlsx, {}),
                               ("labels.csv", write_csv, {"labels": True}), ("labels.xlsx", write_xlsx, {"labels": True})]:  # fmt: skip
        path = tmp_path / name
        assert writer(bundles, path, **opts) == len(bundles)
        source = open_source(path)
        again = [b for _, _, b in source]
        assert again == bundles, name
        assert source.problems == [], name
    for name, json_writer in (("out.json", write_json), ("out.jsonl", write_jsonl)):
        path = tmp_path / name
        json_writer(bundles, path)
        source = open_source(path)
        assert isinstance(source, BundleSource)
        assert [(k, b) for _, k, b in source] == [(b["case"]["id"], b) for b in bundles]


def test_it_reads_single_bundles_and_reports_items_that_are_not(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text('{"htcds_version": "2.0", "case": {"cas_Status": "Active"}}', "utf-8")
    [(n, key, bundle)] = list(open_source(path))
    assert n == 1 and key.startswith("fp-") and bundle["case"]["cas_Status"] == "Active"
    mixed = BundleSource(None, data=[{"case": {"id": "a"}}, 5])
    assert [k for _, k, _ in mixed] == ["a"]
    assert [(p.code, p.row) for p in mixed.problems] == [("not-a-bundle", 2)]
