"""`phare migrate`: Django's migrate, then, on PostgreSQL where row-level security is installed, `phare rls
install` again, so that a table a migration added is never left without its policy."""

from __future__ import annotations

from typing import Any

from django.core.management.commands.migrate import Command as MigrateCommand
from django.db import connections


class Command(MigrateCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        super().handle(*args, **options)
        if connections[options["database"]].vendor != "postgresql":
            return
        from phare import rls

        if rls.installed():
            n = rls.install()
            if options["verbosity"] >= 1:
                self.stdout.write(f"row-level security refreshed on {n} tenant tables")
