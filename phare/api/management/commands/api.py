"""`phare api token create|list|revoke`: API tokens from the command line.

    phare api token create --user U --scopes cases:read,persons:read --days 30 [--name NAME]
    phare api token list [--user U]
    phare api token revoke PREFIX_OR_ID

The token is printed once; only its SHA-256 is stored.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from phare.api import tokens
from phare.api.models import ApiToken


class Command(BaseCommand):
    help = "Create, list and revoke API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        token = sub.add_parser("token", help="API tokens")
        verbs = token.add_subparsers(dest="verb", required=True)
        create = verbs.add_parser("create", help="make a token (printed once)")
        create.add_argument("--user", required=True)
        create.add_argument("--scopes", required=True, help="comma-separated: " + ", ".join(tokens.SCOPES))
        create.add_argument("--days", type=int, default=90)
        create.add_argument("--name", default="")
        listing = verbs.add_parser("list", help="list tokens (never the token itself)")
        listing.add_argument("--user")
        revoke = verbs.add_parser("revoke", help="revoke a token by id or prefix")
        revoke.add_argument("token")

    def handle(self, *args: Any, **opts: Any) -> None:
        verb = opts["verb"]
        if verb == "create":
            user = get_user_model().objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"no user {opts['user']!r}")
            scopes = [s.strip() for s in opts["scopes"].split(",") if s.strip()]
            try:
                row, token = tokens.create(user, scopes, opts["days"], opts["name"])
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(token)
            self.stderr.write(f"token {row.pk} for {user.username}, scopes {', '.join(row.scopes)}, "
                              f"expires {row.expires_at:%Y-%m-%d}; shown once, store it now")  # fmt: skip
        elif verb == "list":
            qs = ApiToken.objects.select_related("user").order_by("id")
            if opts.get("user"):
                qs = qs.filter(user__username=opts["user"])
            for t in qs:
                state = "revoked" if t.revoked_at else "active" if t.is_active else "expired"
                self.stdout.write(f"{t.pk}\t{t.prefix}…\t{t.user.username}\t{','.join(t.scopes)}\t"
                                  f"{t.expires_at:%Y-%m-%d}\t{state}\t{t.name}")  # fmt: skip
        elif verb == "revoke":
            key = opts["token"]
            q = Q(prefix=key[:12]) | Q(pk=int(key)) if key.isdigit() else Q(prefix=key[:12])
            rows = list(ApiToken.objects.select_related("user").filter(q))
            if len(rows) != 1:
                raise CommandError(f"{len(rows)} tokens match {key!r}; give the id")
            tokens.revoke(rows[0])
            self.stdout.write(f"revoked token {rows[0].pk}")
