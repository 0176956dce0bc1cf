"""`phare demo --cases N [--org demo]`: create or top up a demo organisation with synthetic cases.

`phare demo code USER` prints the current second-factor code of a user of the demo organisation (its users are
enrolled with known authenticator secrets, so the demo needs no authenticator app); refused for anyone else.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from phare.accounts import mfa
from phare.accounts.models import User
from phare.cases.demo import DEMO_PASSWORD, create_demo


class Command(BaseCommand):
    help = (
        "Create or top up the demo organisation with one user per role and N synthetic cases (CTDC-like); "
        "`phare demo code USER` prints a demo user's current second-factor code."
    )
    requires_system_checks: list[str] = []  # as `phare import`: the URL checks import every view, 1.3 s a run

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", choices=["code"], help="code: print a demo user's current code")
        parser.add_argument("username", nargs="?", help="the demo user (with `code`)")
        parser.add_argument("--uri", action="store_true", help="with `code`: print the otpauth:// URI instead")
        parser.add_argument("--cases", type=int, default=300)
        parser.add_argument("--org", default=settings.PHARE_DEMO_ORG)
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "code":
            self.print_code(opts["username"], uri=opts["uri"])
            return
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

    def print_code(self, username: str | None, *, uri: bool) -> None:
        if not username:
            raise CommandError("Usage: phare demo code USERNAME (a user of the demo organisation, e.g. demo-admin)")
        user = User.objects.select_related("organisation").filter(username=username).first()
        if user is None or not mfa.is_demo_user(user):
            raise CommandError(
                f"{username!r} is not a user of the demo organisation ('{settings.PHARE_DEMO_ORG}'): "
                "`phare demo code` prints codes for the demo's users only. Everyone else uses their own "
                "authenticator app."
            )
        with transaction.atomic():
            code = mfa.demo_code(user)
            device = mfa.confirmed_device(user)
        if uri and device is not None:
            self.stdout.write(mfa.otpauth_uri(device))
            return
        left = 30 - int(time.time()) % 30
        self.stdout.write(code)
        self.stderr.write(f"(valid for {left} more seconds; each code signs in once)")


def enrol_demo_users(users: dict[str, Any]) -> None:
    """The demo organisation's users get their known authenticators (see phare.accounts.mfa.demo_secret)."""
    with transaction.atomic():
        for user in users.values():
            if mfa.is_demo_user(user):
                mfa.enrol_demo_user(user)


def print_logins(cmd: BaseCommand, users: dict[str, Any]) -> None:
    enrol_demo_users(users)
    cmd.stdout.write(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
    for role, user in users.items():
        cmd.stdout.write(f"  {user.username:<22} {role}")
    if not users:
        return
    first = next(iter(users.values())).username
    if all(mfa.is_demo_user(u) for u in users.values()):
        cmd.stdout.write(
            "Every demo user has two-step sign-in set up with a known authenticator, so no app is needed: "
            f"`.venv/bin/phare demo code {first}` prints the current 6-digit code to type after the password."
        )
    else:
        cmd.stdout.write(
            "These users set up two-step sign-in at their first sign-in, with an authenticator app and a one-time "
            f"enrolment code: `.venv/bin/phare enrolment_code {first}` prints one."
        )
