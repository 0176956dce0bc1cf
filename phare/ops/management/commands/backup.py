from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from phare.audit.log import record
from phare.ops.backup import BackupError, create


class Command(BaseCommand):
    help = "Write an encrypted, consistent backup of the database and stored files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, help="Path of the backup file to write.")

    def handle(self, *args: Any, **opts: Any) -> None:
        out = Path(opts["out"])
        try:
            manifest = create(out)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        with transaction.atomic():
            record("backup.created", detail={"file": out.name, "tables": len(manifest["tables"])})
        rows = sum(manifest["tables"].values())
        self.stdout.write(f"wrote {out} ({out.stat().st_size:,} bytes, {len(manifest['tables'])} tables, {rows:,} rows)")
