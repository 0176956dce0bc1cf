"""`phare enrolment_code USERNAME [--reset]`: a one-time enrolment code for a user, from the command line.

For the operator, when no administrator can give one from the users page: an organisation's only admin who has
not enrolled yet, or who lost their phone (`--reset` also removes their authenticator and ends their sessions).
The code is printed once; the event is in the audit log as from the command line (no actor).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from phare.accounts import enrolment
from phare.accounts.models import MFADevice, User
from phare.audit.log import record


class Command(BaseCommand):
    help = "Print a one-time code with which USERNAME can set up two-step sign-in (valid 72 h, single use)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--reset", action="store_true", help="also remove the user's current authenticator")

    def handle(self, *args: Any, **opts: Any) -> None:
        user = User.objects.select_related("organisation").filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"No user is named {opts['username']!r}.")
        with transaction.atomic():
            has_device = MFADevice.objects.filter(user=user, confirmed=True).exists()
            if has_device and not opts["reset"]:
                raise CommandError(
                    f"{user.username} already has an authenticator. Add --reset to remove it (their sessions end) "
                    "and give a code to set up a new one."
                )
            if has_device:
                MFADevice.objects.filter(user=user).delete()
                user.recovery_codes.all().delete()
                user.session_epoch += 1
                user.save(update_fields=["session_epoch"])
                record("user.mfa_reset", organisation=user.organisation, target=user, detail={"had_device": True})
            code = enrolment.issue_code(user)
        hours = int(enrolment.lifetime().total_seconds() // 3600)
        self.stdout.write(code)
        self.stderr.write(
            f"Give this code to {user.username} in person or by phone (not with the password): it works once, "
            f"within {hours} hours, to set up two-step sign-in after the password."
        )
