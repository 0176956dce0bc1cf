"""`phare rls install [--role phare_app] [--password ...]` and `phare rls status` (PostgreSQL only)."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from phare import rls


class Command(BaseCommand):
    help = "Row-level security: `install` the application role and tenant policies, or show their `status`."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["install", "status"])
        parser.add_argument("--role", default="", help="application role (default PHARE_DB_ROLE or phare_app)")
        parser.add_argument(
            "--password", default=os.getenv("PHARE_APP_DB_PASSWORD", ""), help="let the role log in with this"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("row-level security needs PostgreSQL (DATABASE_URL=postgres://...)")
        if options["action"] == "install":
            with transaction.atomic():
                n = rls.install(options["role"] or None, options["password"] or None)
            self.stdout.write(f"row-level security installed on {n} tenant tables")
            return
        bad = 0
        for table, enabled, forced, policies in rls.status():
            ok = enabled and forced and policies > 0
            bad += not ok
            self.stdout.write(
                f"{'ok ' if ok else 'OFF'} {table} (enabled={enabled} forced={forced} policies={policies})"
            )
        if bad:
            raise CommandError(f"{bad} tenant tables lack row-level security: run `phare rls install`")
