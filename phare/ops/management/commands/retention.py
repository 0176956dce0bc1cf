from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from phare.accounts.models import Organisation
from phare.ops.actions import run_instance_retention, run_retention, set_retention_policy


class Command(BaseCommand):
    help = ("Apply retention schedules: anonymise or erase closed cases past their organisation's retention period; "
            "delete uploads nobody imported and finished jobs' rows past PHARE_JOB_KEEP_DAYS.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="Purge what is due (cases under legal hold are never purged).")
        run.add_argument("--org", help="Only this organisation (slug).")
        run.add_argument("--dry-run", action="store_true")
        run.add_argument("--today", type=date.fromisoformat, help="Pretend today is this date (YYYY-MM-DD).")
        policy = sub.add_parser("policy", help="Set an organisation's retention policy.")
        policy.add_argument("--org", required=True)
        policy.add_argument("--action", dest="policy_action", choices=["anonymise", "erase"], required=True)
        policy.add_argument("--years", type=int, required=True)

    def handle(self, *args: Any, **opts: Any) -> None:
        orgs = Organisation.objects.all()
        if opts.get("org"):
            orgs = orgs.filter(slug=opts["org"])
            if not orgs.exists():
                raise CommandError(f"no organisation with slug {opts['org']!r}")
        if opts["action"] == "policy":
            org = orgs.get()
            try:
                set_retention_policy(None, org, opts["policy_action"], opts["years"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"{org.slug}: closed cases are {opts['policy_action']}d {opts['years']} years after closure")
            return
        for org in orgs:
            summary = run_retention(org, today=opts.get("today"), dry_run=opts["dry_run"])
            self.stdout.write(json.dumps(summary))
        if not opts.get("org"):
            self.stdout.write(json.dumps(run_instance_retention(dry_run=opts["dry_run"])))
