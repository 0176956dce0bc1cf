"""`phare audit verify [--anchors FILE]`: walk the hash chain; print the first broken link and exit 1 if there is
one. `phare audit anchor [--file FILE]`: every chain's head, to keep outside the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from phare.audit.log import anchor, verify, verify_anchors


class Command(BaseCommand):
    help = (
        "Audit log tools: `verify` checks the tamper-evident hash chain (and, with --anchors, that every anchored "
        "head is still in it); `anchor` appends the current heads to a file kept outside the database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify", "anchor"])
        parser.add_argument("--anchors", help="JSON-lines file of anchors (written by `phare audit anchor --file`)")
        parser.add_argument("--file", help="anchor: append the head to this file as well as printing it")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "anchor":
            line = json.dumps(anchor(), sort_keys=True)
            if options["file"]:
                with Path(options["file"]).open("a", encoding="utf-8") as fh:
                    fh.write(line + "\n")
            self.stdout.write(line)
            return
        verdict = verify()
        if verdict.ok and options["anchors"]:
            lines = Path(options["anchors"]).read_text("utf-8").splitlines()
            verdict = verify_anchors([json.loads(x) for x in lines if x.strip()])
        if verdict.ok:
            self.stdout.write(f"audit log intact: {verdict.checked} events checked")
            return
        where = f"event {verdict.broken_at}" if verdict.broken_at is not None else "the chain head"
        self.stderr.write(f"audit log BROKEN at {where} (after {verdict.checked} events): {verdict.reason}")
        raise CommandError("audit chain verification failed", returncode=1)
