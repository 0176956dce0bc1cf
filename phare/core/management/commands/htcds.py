"""`phare htcds fields|validate|schema`: the standard from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from htcds import catalogue, schema
from htcds.validation import ERROR, Problem


class Command(BaseCommand):
    help = "Work with the HTCDS 2.0 standard: list its fields, validate files, write JSON Schema."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        fields = sub.add_parser("fields", help="List the catalogue.")
        fields.add_argument("--json", action="store_true")
        fields.add_argument("--entity", help="Only this entity (person, victim, case, ...).")
        validate = sub.add_parser(
            "validate", help="Check a file as phare import --dry-run reads it (templates, KoBo/ODK exports, "
            "mapped sheets, HTCDS JSON), without a database."
        )
        validate.add_argument("path")
        validate.add_argument("--json", action="store_true")
        validate.add_argument("--mapping", help="YAML mapping file for other spreadsheets, as phare import takes it")
        validate.add_argument("--country", default=None, help="country (ISO alpha-2) of local phone numbers")
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
        """Reads the file exactly as `phare import --dry-run` does (htcds.sources: the same detection, encodings,
        delimiters, coercion and mailing columns) and gives its verdict: a row the import takes is valid, a value it
        had to read differently is a warning ("read as ..."), a file it refuses is an error."""
        from htcds import codelists
        from htcds.sources import open_source
        from htcds.sources.checked import checked_rows
        from htcds.sources.problems import source_problem

        path = Path(opts["path"])
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        problems: list[Problem] = []
        count = 0
        mapping = Path(opts["mapping"]) if opts["mapping"] else None
        with codelists.phone_region(opts["country"]):
            source = open_source(path, mapping)
            seen: set[int] = set()
            for row, _key, _bundle, mine in checked_rows(source):
                count += 1
                seen.add(row)
                problems.extend(mine)
        problems[:0] = [p for p in source.problems if p.row not in seen]
        if count == 0 and not any(p.severity == ERROR for p in problems):
            problems.append(source_problem("empty-file", f"{path.name} holds no record to import.",
                                           fix="check that the cases are on the first sheet, below the header"))  # fmt: skip
        columns = {id(p): source.column_of(p) for p in problems}
        n_errors = sum(1 for p in problems if p.severity == ERROR)
        if opts["json"]:
            shown = [{**p.to_dict(), "column": columns[id(p)]} for p in problems]
            self.stdout.write(json.dumps({"path": str(path), "kind": source.kind, "records": count, "valid": n_errors == 0,
                                          "errors": n_errors, "warnings": len(problems) - n_errors, "problems": shown},
                                         indent=1, ensure_ascii=False, default=str))  # fmt: skip
        else:
            for p in problems:
                where = f" [{columns[id(p)]}]" if columns[id(p)] else ""
                self.stdout.write(f"{p.severity}: {p}{where}")
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
