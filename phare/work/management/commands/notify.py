"""`phare notify digest`: start the daily overdue-work run of each organisation in the job worker (it then
queues its own next run); `--now` runs it at once, here, instead."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from phare import rls
from phare.accounts.models import Organisation


class Command(BaseCommand):
    help = "Notify overdue work: each overdue task once in the app, and a daily e-mail digest where the organisation sends e-mail."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        digest = sub.add_parser("digest", help="Queue each organisation's daily run in the job worker.")
        digest.add_argument("--org", help="Only this organisation (slug).")
        digest.add_argument("--now", action="store_true", help="Run it here and now instead of queueing it.")

    def handle(self, *args: Any, **opts: Any) -> None:
        from phare.work import jobs

        orgs = Organisation.objects.order_by("slug")
        if opts.get("org"):
            orgs = orgs.filter(slug=opts["org"])
            if not orgs.exists():
                raise CommandError(f"no organisation with slug {opts['org']!r}")
        for org in orgs:
            if opts["now"]:
                with rls.acting_for(org.pk, role=rls.app_role()):
                    result = jobs.run(org, timezone.localdate())
                self.stdout.write(f"{org.slug}: {result['overdue_notices']} overdue notices, {result['digests']} digests")
            else:
                queued = jobs.schedule_next(org.pk, now=True)
                if queued is None:
                    self.stdout.write(f"{org.slug}: a daily run is already queued")
                else:
                    self.stdout.write(f"{org.slug}: daily run queued for {timezone.localtime(queued.run_after):%Y-%m-%d %H:%M}")
