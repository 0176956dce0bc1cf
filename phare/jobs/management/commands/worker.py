"""`phare worker`: run background jobs (imports, exports, synthetic data, retention) from the database queue."""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from phare.jobs import queue


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
        while not stopping:
            ran = queue.drain(name, limit=1)
            if opts["once"] and not ran:
                break
            if not ran:
                time.sleep(opts["poll"])
