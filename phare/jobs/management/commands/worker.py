"""`phare worker`: run background jobs (imports, exports, synthetic data, retention) from the database queue."""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import InterfaceError, OperationalError, connection

from phare.jobs import queue

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run queued background jobs; polls the database, no broker needed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run what is queued now, then exit.")
        parser.add_argument("--poll", type=float, default=2.0, help="Seconds between polls when idle.")

    def handle(self, *args: Any, **opts: Any) -> None:
        from phare.jobs import handlers  # noqa: F401  (registers the job kinds)

        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True  # finish the current job, then exit

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        name = queue.worker_name()
        self.stdout.write(f"worker {name} started")
        failures = 0
        while not stopping:
            try:
                ran = queue.drain(name, limit=1)
            except (OperationalError, InterfaceError) as exc:
                # "database is locked" (SQLite while an import holds the write lock), a dropped connection, a
                # restarting server: transient. Drop the connection, wait a little longer each time, go on.
                failures += 1
                wait = min(opts["poll"] * (2 ** min(failures, 5)), 60.0)
                log.warning("worker %s: database unavailable (%s); retrying in %.1f s", name, exc, wait)
                connection.close()
                time.sleep(wait)
                continue
            failures = 0
            if opts["once"] and not ran:
                break
            if not ran:
                time.sleep(opts["poll"])
