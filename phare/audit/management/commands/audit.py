"""`phare audit verify`: walk the hash chain; print the first broken link and exit 1 if there is one."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from phare.audit.log import verify


class Command(BaseCommand):
    help = "Audit log tools: `verify` checks the tamper-evident hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        verdict = verify()
        if verdict.ok:
            self.stdout.write(f"audit log intact: {verdict.checked} events checked")
            return
        where = f"event {verdict.broken_at}" if verdict.broken_at is not None else "the chain head"
        self.stderr.write(f"audit log BROKEN at {where} (after {verdict.checked} events): {verdict.reason}")
        raise CommandError("audit chain verification failed", returncode=1)
