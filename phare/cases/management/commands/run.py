"""`phare run`: migrate, make sure a demo organisation exists, print its sign-ins, and serve on 127.0.0.1:8000
with a background worker beside the server."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from phare.cases.demo import create_demo, ensure_org
from phare.cases.management.commands.demo import print_logins
from phare.cases.models import Case


class Command(BaseCommand):
    help = "Migrate, create the demo organisation with ~300 cases if it has none, and serve Phare."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cases", type=int, default=300)
        parser.add_argument("--port", type=int, default=int(os.getenv("PORT", "8000")))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--no-serve", action="store_true", help="Prepare only (for tests and scripts).")

    def handle(self, *args: Any, **opts: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        org, users = ensure_org("demo")
        if not Case.objects.filter(organisation=org).exists():
            self.stdout.write(f"Creating the demo organisation with {opts['cases']} synthetic cases...")
            users = create_demo(opts["cases"], slug="demo").users
        print_logins(self, users)
        if not opts["no_serve"]:
            # Imports and dashboard recounts run in the worker: one beside the server, stopped with it.
            worker = subprocess.Popen([sys.executable, "-m", "phare.cli", "worker"])
            try:
                call_command("serve", host=opts["host"], port=opts["port"])
            finally:
                worker.terminate()
                worker.wait(timeout=30)
