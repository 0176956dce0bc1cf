"""`phare anonymize FILE.csv [--qi COL,...] --k K --out OUT.csv --report R.json`: k-anonymise any CSV.

Reads CTDC's published files as they come (htcds.deid.ctdc_file). Without --qi (or with --qi ctdc), every CTDC
codebook column in the file is a quasi-identifier (flags by codebook family, htcds.deid.ctdc_kanon); when that
withholds a family for every record, it stops and lists the trade-offs unless --accept-withheld. With --qi,
CTDC's columns get built-in hierarchies (age bands, UN M49 regions, periods) and other columns automatic ones:
numbers become intervals, categories fold rare values into "Other".
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from htcds.deid.ctdc_file import as_missing
from htcds.deid.ctdc_kanon import anonymise_ctdc, trade_offs
from htcds.deid.hierarchies import Hierarchy, categorical_hierarchy, ctdc_hierarchies, interval_hierarchy
from htcds.deid.kanon import k_anonymise
from htcds.deid.risk import risk_report
from phare.sharing.management.commands.risk import codebook, read_file, split
from phare.sharing.releases import write_rows


def automatic(values: list[str]) -> Hierarchy:
    numbers = []
    for v in values:
        try:
            number = float(v)
        except (TypeError, ValueError):
            if v and v.strip():
                break
            continue
        if not math.isfinite(number):
            break
        numbers.append(number)
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
        parser.add_argument("--qi", help="quasi-identifiers, comma-separated (default: every CTDC codebook column)")
        parser.add_argument("--sensitive")
        parser.add_argument("--k", type=int, default=11)
        parser.add_argument("--suppression-budget", type=float, default=0.05)
        parser.add_argument("--drop", action="append", default=[], help="a CTDC family to leave out (repeatable)")
        parser.add_argument("--accept-withheld", action="store_true",
                            help="write the file even if reaching k withholds a family for every record")  # fmt: skip
        parser.add_argument("--problems-as-missing", action="store_true",
                            help="treat values the codebook does not allow (unknown codes) as missing")  # fmt: skip
        parser.add_argument("--out", required=True)
        parser.add_argument("--report")

    def handle(self, *args: Any, **opts: Any) -> None:
        sensitive = split(opts["sensitive"])
        by_codebook = codebook(opts["qi"])
        qi = [] if by_codebook else split(opts["qi"])
        file = read_file(Path(opts["path"]), qi + sensitive)
        if not file.rows:
            raise CommandError("the file has no rows")
        if file.problems:
            if not opts["problems_as_missing"]:
                listed = "\n".join(str(p) for p in file.problems[:10])
                raise CommandError(f"{len(file.problems)} values the CTDC codebook does not allow:\n{listed}\n"
                                   "fix them in the file, or pass --problems-as-missing to treat them as unknown")  # fmt: skip
            as_missing(file)
        k = opts["k"]
        try:
            if by_codebook:
                plan = anonymise_ctdc(file.rows, k, opts["suppression_budget"], tuple(opts["drop"]))
                if plan.withheld and not opts["accept_withheld"]:
                    choices = "\n".join(f"  {o['change']} {o['family']}: {o['records_at_risk']} records under k"
                                        for o in trade_offs(file.rows, k, tuple(opts["drop"]))[:6])  # fmt: skip
                    raise CommandError(f"k = {k} over every quasi-identifier withholds {', '.join(plan.withheld)} for "
                                       f"every record; nothing written. Choices (--drop FAMILY), measured now:\n"
                                       f"{choices}\nor pass --accept-withheld")  # fmt: skip
                out_rows, anonymisation = plan.rows, plan.to_json()
                qi = [c for m in plan.families.values() for c in m]
                levels = ", ".join(f"{f}={n}" for f, n in plan.result.level_names.items())
                suppressed = plan.result.suppressed
            else:
                builtin = ctdc_hierarchies()
                hierarchies = {q: builtin.get(q) or automatic([r[q] for r in file.rows]) for q in qi}
                result = k_anonymise(file.rows, hierarchies, k=k, suppression_budget=opts["suppression_budget"])
                out_rows, anonymisation = result.rows(), result.to_json()
                levels = ", ".join(f"{q}={result.level_names.get(q, result.levels[q])}" for q in qi)
                suppressed = result.suppressed
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        columns = [c for c in file.columns if not out_rows or c in out_rows[0]]
        write_rows(Path(opts["out"]), out_rows, columns=columns)  # no cell starts a formula
        report = {"file": file.summary(), "anonymisation": anonymisation,
                  "risk_after": risk_report(out_rows, qi, k=k, sensitive=sensitive).to_json() if out_rows else None}  # fmt: skip
        if opts["report"]:
            Path(opts["report"]).write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
        self.stdout.write(f"wrote {len(out_rows)} rows to {opts['out']} (k={k}, suppressed {suppressed}, levels {levels})")
