# ruff: noqa: N999 - the command is `phare import`, so the module must be named import
"""`phare import PATH --org SLUG [--mapping FILE] [--dry-run] [--json] [--mode atomic|skip-bad] [--source NAME]
[--add-organisations]`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Import HTCDS data (official templates, KoBo/ODK exports, mapped sheets, JSON bundles) into an organisation."
    # Django's system checks import every view to check the URLs: a second per run, and nothing a data command needs.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument("--user", help="username acting, a role that may import (default: the first such user)")
        parser.add_argument("--mapping", help="YAML mapping file for other spreadsheets")
        parser.add_argument("--dry-run", action="store_true", help="report what would happen; write nothing")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument("--mode", choices=["atomic", "skip-bad"], default="atomic")
        parser.add_argument("--source", default="", help="the name this file's rows are known by, so a later version "
                            "of it updates the same cases (default: the file's name and sheet, or the mapping's source)")
        parser.add_argument("--add-organisations", action="store_true", help="add the organisations the file names "
                            "that the directory does not hold (by default each is a warning naming its rows, and the "
                            "field is left empty)")
        parser.add_argument("--errors", help="CSV for rejected rows (skip-bad mode); default PATH.errors.csv")

    def handle(self, *args: Any, **opts: Any) -> None:
        from phare.accounts.models import Organisation, User
        from phare.accounts.permissions import IMPORT, can
        from phare.cases.models import CaseParticipant
        from phare.imports.service import compared_cases, refused, run_import, stderr_progress

        path = Path(opts["path"])
        org = Organisation.objects.filter(slug=opts["org"]).first()
        if org is None:
            raise CommandError(f"no organisation {opts['org']!r}")
        users = User.objects.filter(organisation=org, is_active=True)
        actor = users.filter(username=opts["user"]).first() if opts["user"] else None
        if actor is None and not opts["user"]:
            actor = next((u for u in users.order_by("id") if can(u, IMPORT)), None)
        if actor is None or not can(actor, IMPORT):
            raise CommandError("the acting user's role must be allowed to import (an admin or a supervisor of the "
                               "organisation; name one with --user)")  # fmt: skip
        progress = None if opts["json"] else stderr_progress()
        mapping = Path(opts["mapping"]) if opts["mapping"] else None
        errors_csv = Path(opts["errors"]) if opts["errors"] else path.with_suffix(path.suffix + ".errors.csv")
        # Without --dry-run the import checks every row as it goes (atomic mode rolls back on the first rejected
        # row), so a separate check first would only read the file twice.
        report = run_import(path, org, actor, mapping=mapping, dry_run=opts["dry_run"], mode=opts["mode"],
                            error_csv=None if opts["dry_run"] else errors_csv, progress=progress,
                            source_name=opts["source"], add_organisations=opts["add_organisations"])  # fmt: skip
        if progress and sys.stderr.isatty():
            sys.stderr.write("\n")
        data = report.to_dict()
        stopped = refused(data["file_problems"])
        if opts["json"]:
            self.stdout.write(json.dumps(data, default=str))
            if stopped or data["rolled_back"]:
                sys.exit(1)
            return
        for p in data["file_problems"]:
            self.stdout.write(f"file: [{p['code']}] {p['column']} {p['message']}"
                              + (f" — fix: {p['fix']}" if p.get("fix") else ""))  # fmt: skip
        # A possible duplicate is named by the cases of the people it may be, which the pages link to.
        rows = data.get("rows", [])
        compared = compared_cases(CaseParticipant.objects.filter(organisation=org), [r["duplicates"] for r in rows])
        for r, seen in zip(rows, compared, strict=True):
            self.stdout.write(f"row {r['row']} ({r['key']}): {r['outcome']}"
                              + (f", possible duplicate: compare with case {', '.join(seen)}" if seen else ""))  # fmt: skip
            for p in r["problems"]:
                fix = f" — fix: {p['fix']}" if p.get("fix") else ""
                self.stdout.write(
                    f"    [{p['code']}] column {p['column'] or p.get('path') or '?'} value {shown(p['value'])}: {p['message']}{fix}"
                )
        counts = {k: data[k] for k in ("created", "updated", "unchanged", "rejected")}
        verb = "would be" if opts["dry_run"] else "were"
        self.stdout.write(", ".join(f"{v} {verb} {k}" for k, v in counts.items()))
        if stopped:
            raise CommandError("the file cannot be imported as it is (see the file's problem above)"
                               + ("" if opts["dry_run"] or opts["mode"] == "skip-bad" else ": nothing imported"))
        if not opts["dry_run"] and opts["mode"] == "atomic" and counts["rejected"]:
            raise CommandError("nothing imported: fix the rejected rows or use --mode skip-bad")


def shown(value: object) -> str:
    """A value as a line of the report shows it: a long cell by its start and its length, not 32,767 characters."""
    text = repr(value)
    if isinstance(value, str) and len(value) > 80:
        return f"{value[:60]!r}… ({len(value):,} characters)"
    return text
