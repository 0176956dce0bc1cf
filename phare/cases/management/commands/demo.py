"""`phare demo --cases N [--org demo]`: create or top up a demo organisation with synthetic cases."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from phare.cases.demo import DEMO_PASSWORD, create_demo


class Command(BaseCommand):
    help = "Create or top up the demo organisation with one user per role and N synthetic cases (CTDC-like)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cases", type=int, default=300)
        parser.add_argument("--org", default="demo")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args: Any, **opts: Any) -> None:
        t0 = time.monotonic()

        def progress(done: int) -> None:
            if done % 20000 == 0:
                self.stdout.write(f"  {done} cases ({time.monotonic() - t0:.0f} s)")

        result = create_demo(opts["cases"], slug=opts["org"], seed=opts["seed"], progress=progress)
        self.stdout.write(self.style.SUCCESS(
            f"Organisation '{result.organisation.slug}': {result.created} cases created, {result.total} in all "
            f"({time.monotonic() - t0:.1f} s)."
        ))  # fmt: skip
        print_logins(self, result.users)


def print_logins(cmd: BaseCommand, users: dict[str, Any]) -> None:
    cmd.stdout.write(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
    for role, user in users.items():
        cmd.stdout.write(f"  {user.username:<22} {role}")
