"""`phare risk FILE.csv --qi COL,... [--sensitive COL,...] --k K [--json]`: the privacy risk of any CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from htcds.cells import unneutralised_row
from htcds.deid.risk import risk_report


def read_csv(path: Path, needed: list[str]) -> list[dict[str, Any]]:
    if not path.exists():
        raise CommandError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        # A CSV written by Phare neutralised formula-like cells (htcds.cells): read them as they were.
        reader = (unneutralised_row(r) for r in csv.reader(fh))
        columns = next(reader, [])
        missing = [c for c in needed if c not in columns]
        if missing:
            raise CommandError(f"{path}: no column {', '.join(missing)}; the columns are {', '.join(columns)}")
        # As csv.DictReader reads: blank lines skipped, missing cells None.
        return [{c: r[i] if i < len(r) else None for i, c in enumerate(columns)} for r in reader if r]


def split(value: str | None) -> list[str]:
    return [c.strip() for c in (value or "").split(",") if c.strip()]


class Command(BaseCommand):
    help = "Report the re-identification risk of a CSV: smallest class k, records at risk, uniques, l-diversity."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--qi", required=True, help="Quasi-identifier columns, comma-separated.")
        parser.add_argument("--sensitive", help="Sensitive columns for l-diversity, comma-separated.")
        parser.add_argument("--k", type=int, default=11)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        qi, sensitive = split(opts["qi"]), split(opts["sensitive"])
        rows = read_csv(Path(opts["path"]), qi + sensitive)
        report = risk_report(rows, qi, k=opts["k"], sensitive=sensitive).to_json()
        if opts["json"]:
            self.stdout.write(json.dumps(report, indent=1, default=str))
            return
        for key, value in report.items():
            self.stdout.write(f"{key}: {value}")
