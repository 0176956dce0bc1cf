"""`phare anonymize FILE.csv --qi COL,... --k K --out OUT.csv --report R.json`: k-anonymise any CSV.

CTDC's columns get built-in hierarchies (age bands, UN M49 regions, periods); other columns get automatic
ones: numbers become intervals, categories fold rare values into "Other".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from htcds.deid.hierarchies import Hierarchy, categorical_hierarchy, ctdc_hierarchies, interval_hierarchy
from htcds.deid.kanon import k_anonymise
from htcds.deid.risk import risk_report
from phare.sharing.management.commands.risk import read_csv, split
from phare.sharing.releases import write_rows


def automatic(values: list[str]) -> Hierarchy:
    numbers = []
    for v in values:
        try:
            numbers.append(float(v))
        except ValueError:
            if v.strip():
                break
    else:
        if numbers:
            integer = all(n.is_integer() for n in numbers)
            # About 20 intervals at the first level, then each level doubles the width.
            base = max(1.0, (max(numbers) - min(numbers)) / 20)
            base = float(round(base)) if integer else base
            return interval_hierarchy([base * 2**i for i in range(4)], origin=min(numbers), integer=integer)
    return categorical_hierarchy(values)


class Command(BaseCommand):
    help = "k-anonymise a CSV by generalisation and local suppression, with a report of the information lost."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--qi", required=True)
        parser.add_argument("--sensitive")
        parser.add_argument("--k", type=int, default=11)
        parser.add_argument("--suppression-budget", type=float, default=0.05)
        parser.add_argument("--out", required=True)
        parser.add_argument("--report")

    def handle(self, *args: Any, **opts: Any) -> None:
        qi, sensitive = split(opts["qi"]), split(opts["sensitive"])
        rows = read_csv(Path(opts["path"]), qi + sensitive)
        if not rows:
            raise CommandError("the file has no rows")
        builtin = ctdc_hierarchies()
        hierarchies = {q: builtin.get(q) or automatic([r[q] for r in rows]) for q in qi}
        result = k_anonymise(rows, hierarchies, k=opts["k"], suppression_budget=opts["suppression_budget"])
        out_rows = result.rows()
        write_rows(Path(opts["out"]), out_rows, columns=list(rows[0]))  # no cell starts a formula
        report = {"anonymisation": result.to_json(),
                  "risk_after": risk_report(out_rows, qi, k=opts["k"], sensitive=sensitive).to_json() if out_rows else None}  # fmt: skip
        if opts["report"]:
            Path(opts["report"]).write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
        levels = ", ".join(f"{q}={result.level_names.get(q, result.levels[q])}" for q in qi)
        self.stdout.write(f"wrote {len(out_rows)} rows to {opts['out']} (k={opts['k']}, suppressed {result.suppressed}, levels {levels})")
