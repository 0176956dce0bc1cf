"""`phare org create SLUG --name NAME [--country CC] [--admin USERNAME]`: a new organisation with its first
administrator, for an operator setting up a real organisation (`phare demo` makes one full of invented people).
`phare org card|trust|rotate-keys` (referral packages between systems) are in phare/referrals/org_commands.py: one
command, so that neither app's `org` hides the other's.

The administrator's password and enrolment code are printed once: hand them over separately, in person or by phone.
The password is to be changed at the first sign-in (Password, beside sign-out). Everything else (users, the
directory, settings) the administrator does from the pages.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from htcds import codelists
from phare.accounts import enrolment
from phare.accounts.models import Organisation, Role, User
from phare.audit.log import record
from phare.referrals import org_commands


class Command(BaseCommand):
    help = ("Create an organisation and its first administrator (no demo users, no data); its card and keys for "
            "referral packages.")
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="a new organisation with its first administrator")
        create.add_argument("slug", help="short name used in addresses and commands (letters, digits, -)")
        create.add_argument("--name", required=True, help="the organisation's name")
        create.add_argument("--country", default="", help="ISO 3166 country (NG, GB...): local phone numbers are read "
                            "as this country's")  # fmt: skip
        create.add_argument("--admin", default="", help="the administrator's username (default: SLUG-admin)")
        org_commands.add_parsers(sub)

    def handle(self, *args: Any, **opts: Any) -> None:
        from django.utils.text import slugify

        if opts["action"] in org_commands.ACTIONS:
            org_commands.handle(self, opts)
            return

        slug = opts["slug"]
        if slugify(slug) != slug:
            raise CommandError(f"{slug!r} is not a slug: use lowercase letters, digits and -, such as {slugify(slug)!r}.")
        if Organisation.objects.filter(slug=slug).exists():
            raise CommandError(f"An organisation {slug!r} exists already.")
        country = ""
        if opts["country"]:
            country = codelists.normalise_country(opts["country"]) or ""
            if not country:
                raise CommandError(f"{opts['country']!r} is not a country: give its ISO code, such as NG or GB.")
        username = opts["admin"] or f"{slug}-admin"
        if User.objects.filter(username__iexact=username).exists():
            raise CommandError(f"A user {username!r} exists already: choose another with --admin.")
        password = "-".join(secrets.token_urlsafe(6) for _ in range(3))
        with transaction.atomic():
            org = Organisation.objects.create(slug=slug, org_Name=opts["name"].strip()[:255], org_ShippingCountry=country)
            admin = User.objects.create_user(username=username, password=password, organisation=org, role=Role.ADMIN)
            record("organisation.create", organisation=org, target=org, detail={"slug": slug, "admin": username})
            code = enrolment.issue_code(admin)
        self.stdout.write(f"organisation {slug} ({org.org_Name}) created\n"
                          f"administrator: {username}\npassword: {password}\nenrolment code: {code}")  # fmt: skip
        self.stderr.write("These are shown only now. Hand the password and the code over separately, in person or by "
                          "phone; the administrator changes the password after signing in.")  # fmt: skip
