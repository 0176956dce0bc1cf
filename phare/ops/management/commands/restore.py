from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from phare.audit.log import record
from phare.ops.backup import BackupError, restore


class Command(BaseCommand):
    help = "Restore an encrypted backup into an empty instance (same master key required)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive")
        parser.add_argument("--force", action="store_true", help="Overwrite a database that already holds rows.")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            manifest = restore(Path(opts["archive"]), force=opts["force"])
        except (BackupError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        with transaction.atomic():
            record("backup.restored", detail={"created": manifest["created"]})
        self.stdout.write(f"restored the backup of {manifest['created']} ({len(manifest['tables'])} tables)")
