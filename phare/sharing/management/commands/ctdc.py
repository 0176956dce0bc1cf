"""`phare ctdc load FILE --org SLUG [--name NAME] [--user USERNAME]`: counts from a CTDC file in its published
layout, kept as an aggregate-only research dataset for comparing the organisation's figures with CTDC's (never
cases: CTDC rows are not people to manage, and no row is kept)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Load a published CTDC file as an aggregate-only research dataset of an organisation."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True)
        load = sub.add_parser("load", help="count a CTDC file into a research dataset")
        load.add_argument("path")
        load.add_argument("--org", required=True)
        load.add_argument("--name", default="")
        load.add_argument("--user", help="username it is loaded as (a role that reads aggregates)")

    def handle(self, *args: Any, **opts: Any) -> None:
        from phare.accounts.models import Organisation, Role, User
        from phare.sharing import actions

        path = Path(opts["path"])
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        org = Organisation.objects.filter(slug=opts["org"]).first()
        if org is None:
            raise CommandError(f"no organisation {opts['org']!r}")
        users = User.objects.filter(organisation=org, is_active=True)
        users = users.filter(username=opts["user"]) if opts["user"] else users.filter(role__in=[Role.ANALYST, Role.ADMIN])
        actor = users.order_by("id").first()
        if actor is None:
            raise CommandError("no user of this organisation may load research datasets (name one with --user)")
        try:
            dataset = actions.load_ctdc_dataset(actor, org, path, opts["name"])
        except actions.LoadRefusedError as exc:
            raise CommandError(str(exc)) from exc
        problems = dataset.reading.get("problems", 0)
        self.stdout.write(f"{dataset.records} CTDC records counted into research dataset {dataset.name!r} "
                          f"({len(dataset.marginals)} columns, {problems} values the codebook does not allow)")  # fmt: skip
