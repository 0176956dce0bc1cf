"""`phare htcds fields|validate|schema`: the standard from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from htcds import catalogue, schema
from htcds.validation import ERROR, Problem, validate_bundle


class Command(BaseCommand):
    help = "Work with the HTCDS 2.0 standard: list its fields, validate files, write JSON Schema."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        fields = sub.add_parser("fields", help="List the catalogue.")
        fields.add_argument("--json", action="store_true")
        fields.add_argument("--entity", help="Only this entity (person, victim, case, ...).")
        validate = sub.add_parser(
            "validate", help="Validate a JSON bundle, a JSON list of bundles, or a CSV/XLSX template."
        )
        validate.add_argument("path")
        validate.add_argument("--json", action="store_true")
        out = sub.add_parser("schema", help="Write JSON Schema files (draft 2020-12).")
        out.add_argument("--out", required=True)
        out.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        getattr(self, f"_{opts['action']}")(opts)

    def _fields(self, opts: dict[str, Any]) -> None:
        cat = catalogue.load()
        fields = [f for f in cat.fields if not opts.get("entity") or f.entity == opts["entity"]]
        if opts["json"]:
            data = {"version": cat.version, "fields": [f.to_dict() for f in fields],
                    "questions": [{"code": q.code, "level": q.level, "text": q.text} for q in cat.questions]}  # fmt: skip
            self.stdout.write(json.dumps(data, indent=1, ensure_ascii=False))
            return
        for f in fields:
            flags = " ".join(
                x for x in ("core" if f.core else "", f.status.lower() if f.status != "DRAFT" else "") if x
            )
            values = f", {len(f.choices)} values" if f.choices else f", {f.codelist} codes" if f.codelist else ""
            self.stdout.write(f"{f.name:42} {f.entity:13} {f.kind:13}{values} {flags}".rstrip())

    def _validate(self, opts: dict[str, Any]) -> None:
        path = Path(opts["path"])
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        problems: list[Problem] = []
        count = 0
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise CommandError(
                    f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
                ) from exc
            bundles = data if isinstance(data, list) else [data]
            for i, b in enumerate(bundles):
                validate_bundle(b, i if isinstance(data, list) else None, problems)
            count = len(bundles)
        elif path.suffix.lower() in (".csv", ".xlsx", ".xlsm", ".xls", ".ods"):
            from htcds.templates import detect_layout, iter_bundles, read_rows

            layout = detect_layout(read_rows(path))
            for col, header in layout.unknown:
                problems.append(Problem("unknown-field", f"Column {col + 1} header {header!r} is not an HTCDS field.",
                                        "bundle", header, None, 1, f"column {col + 1}"))  # fmt: skip
            for row, b in iter_bundles(path):
                validate_bundle(b, row, problems)
                count += 1
        else:
            raise CommandError(f"{path}: expected .json, .csv, .xlsx, .xlsm or .ods")
        n_errors = sum(1 for p in problems if p.severity == ERROR)
        if opts["json"]:
            self.stdout.write(json.dumps({"path": str(path), "records": count, "valid": n_errors == 0, "errors": n_errors,
                                          "warnings": len(problems) - n_errors,
                                          "problems": [p.to_dict() for p in problems]}, indent=1, ensure_ascii=False, default=str))  # fmt: skip
        else:
            for p in problems:
                self.stdout.write(f"{p.severity}: {p}")
            verdict = "valid" if n_errors == 0 else "NOT valid"
            self.stdout.write(
                f"{path}: {count} record(s), {n_errors} error(s), {len(problems) - n_errors} warning(s): {verdict}"
            )
        if n_errors:
            sys.exit(1)

    def _schema(self, opts: dict[str, Any]) -> None:
        written = schema.write_all(Path(opts["out"]))
        if opts["json"]:
            self.stdout.write(json.dumps({"written": [str(p) for p in written]}))
        else:
            for p in written:
                self.stdout.write(f"wrote {p}")
