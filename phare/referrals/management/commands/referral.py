"""`phare referral pack CASE_NUMBER --org SLUG --to card.json [--parts referral,contact,needs] --out PKG` and
`phare referral open PKG --org SLUG [--dry-run]`, each with --json. Exit status 0 when packed, imported, or
valid in a dry run; 1 when refused (with the reason's code)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser


def _actor(org: Any, username: str | None) -> Any:
    from phare.accounts.models import User
    from phare.accounts.permissions import READ_PERSONAL, REFER, can

    users = User.objects.filter(organisation=org, is_active=True)
    actor = users.filter(username=username).first() if username else next(
        (u for u in users.order_by("id") if can(u, REFER) and can(u, READ_PERSONAL)), None)  # fmt: skip
    if actor is None or not (can(actor, REFER) and can(actor, READ_PERSONAL)):
        raise CommandError("the acting user must be allowed to refer (a case worker, supervisor or admin of the "
                           "organisation; name one with --user)")  # fmt: skip
    return actor


class Command(BaseCommand):
    help = "Referral packages for organisations on other systems: pack a case, open a package."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("pack", help="pack the chosen parts of a case for a trusted partner")
        p.add_argument("case")
        p.add_argument("--org", required=True)
        p.add_argument("--to", required=True, help="the partner's card (trusted beforehand with phare org trust)")
        p.add_argument("--parts", default="referral,contact,needs")
        p.add_argument("--services", default="SocialCare", help="comma-separated services requested")
        p.add_argument("--urgency", default="routine", choices=["routine", "urgent", "emergency"])
        p.add_argument("--details", default="")
        p.add_argument("--consent", choices=["Verbal", "Written", "WithInterpreter", "Guardian"],
                       help="record now that the person consented to this referral, and how they were informed")
        p.add_argument("--out", required=True)
        p.add_argument("--user")
        p.add_argument("--json", action="store_true")
        o = sub.add_parser("open", help="check a package and import it (or only check it with --dry-run)")
        o.add_argument("package")
        o.add_argument("--org", required=True)
        o.add_argument("--dry-run", action="store_true")
        o.add_argument("--ack-out", help="write an acknowledgement package for the sender here")
        o.add_argument("--user")
        o.add_argument("--json", action="store_true")

    def _fail(self, opts: dict[str, Any], code: str, message: str) -> NoReturn:
        if opts["json"]:
            self.stdout.write(json.dumps({"ok": False, "code": code, "message": message}))
        else:
            self.stderr.write(f"refused [{code}]: {message}")
        raise SystemExit(1)

    def handle(self, *args: Any, **opts: Any) -> None:
        from django.db import transaction

        from phare.accounts.models import Organisation
        from phare.referrals import actions, packages

        org = Organisation.objects.filter(slug=opts["org"]).first()
        if org is None:
            raise CommandError(f"no organisation {opts['org']!r}")
        actor = _actor(org, opts.get("user"))
        if opts["action"] == "open":
            try:
                token = Path(opts["package"]).read_text(encoding="ascii", errors="replace")
            except OSError as e:
                raise CommandError(str(e)) from None
            out = packages.open_package(actor, token, dry_run=opts["dry_run"])
            if not out.ok:
                self._fail(opts, out.code, out.message)
            if opts.get("ack_out") and not opts["dry_run"] and out.kind == "referral":
                Path(opts["ack_out"]).write_text(packages.acknowledge(actor, out.package_id, "received") + "\n")
            if opts["json"]:
                self.stdout.write(json.dumps(out.to_dict()))
            else:
                what = (f"acknowledgement: {out.status}" if out.kind == "acknowledgement" else
                        f"valid; would open a new case{' (possible match: ' + ', '.join(out.matches) + ')' if out.matches else ''}"
                        if out.dry_run else f"imported as case {out.case}")  # fmt: skip
                self.stdout.write(f"package {out.package_id} from {out.sender}: {what}")
            return
        from phare.cases.models import Case

        case = Case.objects.filter(organisation=org, number=opts["case"]).first()
        if case is None:
            raise CommandError(f"no case {opts['case']!r} in {org.slug}")
        try:
            c = json.loads(Path(opts["to"]).read_text(encoding="utf-8"))
            sign, enc = packages._card_keys(c)
            partner = packages.trusted(org, fp=packages.fingerprint(sign, enc))
            if partner is None:
                raise packages.PackageRefused("partner-untrusted")
            with transaction.atomic():
                if opts.get("consent") and actions.live_consent(case, None, partner.partner_id) is None:
                    actions.record_consent(actor, case, None, partner=partner.partner_id, how=opts["consent"])
                token, claims = packages.pack(actor, case, partner, services=[s for s in opts["services"].split(",") if s],
                                              chosen=opts["parts"].split(","), urgency=opts["urgency"],
                                              details=opts["details"])  # fmt: skip
        except (OSError, ValueError) as e:
            self._fail(opts, "card-invalid", str(e))
        except (packages.PackageRefused, actions.Refused) as e:
            self._fail(opts, e.code, e.message)
        Path(opts["out"]).write_text(token + "\n", encoding="ascii")
        if opts["json"]:
            self.stdout.write(json.dumps({"ok": True, "id": claims["id"], "to": claims["aud"], "parts": claims["referral"]["parts"],
                                          "expires": claims["exp"], "out": opts["out"]}))  # fmt: skip
        else:
            self.stdout.write(f"package {claims['id']} for {partner.name} written to {opts['out']} "
                              f"(parts: {', '.join(claims['referral']['parts'])})")  # fmt: skip
