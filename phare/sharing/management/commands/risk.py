"""`phare risk FILE.csv [--qi COL,...] [--sensitive COL,...] --k K [--json]`: the privacy risk of any CSV.

Reads CTDC's published files as they come (htcds.deid.ctdc_file). Without --qi (or with --qi ctdc), the
quasi-identifiers are every CTDC codebook column in the file, flags by codebook family.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from htcds.deid.ctdc_file import CTDCFile, missing_columns, read_ctdc
from htcds.deid.ctdc_kanon import family_table, qi_set
from htcds.deid.risk import risk_report


def read_file(path: Path, needed: list[str]) -> CTDCFile:
    if not path.exists():
        raise CommandError(f"{path}: no such file")
    file = read_ctdc(path)
    missing = missing_columns(file, needed)
    if missing:
        raise CommandError(f"{path}: no column {', '.join(missing)}; the columns are {', '.join(file.columns)}")
    return file


def read_csv(path: Path, needed: list[str]) -> list[dict[str, Any]]:
    return list(read_file(path, needed).rows)


def split(value: str | None) -> list[str]:
    return [c.strip() for c in (value or "").split(",") if c.strip()]


def codebook(value: str | None) -> bool:
    """Whether the quasi-identifiers are the CTDC codebook's (no --qi, or --qi ctdc)."""
    return not split(value) or split(value) == ["ctdc"]


class Command(BaseCommand):
    help = ("Report the re-identification risk of a CSV: smallest class k, records at risk, uniques, l-diversity and "
            "t-closeness.")  # fmt: skip

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--qi", help="Quasi-identifier columns, comma-separated (default: every CTDC codebook "
                                         "column in the file).")  # fmt: skip
        parser.add_argument("--sensitive", help="Sensitive columns for l-diversity and t-closeness, comma-separated.")
        parser.add_argument("--k", type=int, default=11)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        sensitive = split(opts["sensitive"])
        by_codebook = codebook(opts["qi"])
        file = read_file(Path(opts["path"]), sensitive if by_codebook else split(opts["qi"]) + sensitive)
        if not file.rows:
            raise CommandError(f"{opts['path']}: the file has no rows")
        if by_codebook:
            families = qi_set(file.columns)
            if not families:
                raise CommandError(f"{opts['path']}: no CTDC codebook column; name the quasi-identifiers with --qi")
            table: dict[str, list[Any]] = dict(family_table(file.rows, families))
            for name in sensitive:
                table[name] = [r[name] for r in file.rows]
            report = risk_report(table, list(families), k=opts["k"], sensitive=sensitive).to_json()
            report["quasi_identifier_columns"] = {f: list(m) for f, m in families.items()}
        else:
            report = risk_report(file.rows, split(opts["qi"]), k=opts["k"], sensitive=sensitive).to_json()
        report["file"] = file.summary()
        if opts["json"]:
            self.stdout.write(json.dumps(report, indent=1, default=str))
            return
        for key, value in report.items():
            self.stdout.write(f"{key}: {value}")
        for problem in file.problems[:20]:
            self.stderr.write(str(problem))
