"""The referral subcommands of `phare org` (phare/accounts/management/commands/org.py):
`phare org card --org SLUG --out card.json`, `phare org trust card.json --org SLUG [--fingerprint FP]`,
`phare org rotate-keys --org SLUG`, each with --json.

The card is the organisation's public face for referral packages between systems: partners exchange cards out of
band and compare the fingerprint (read it out over the phone) before trusting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

ACTIONS = ("card", "trust", "rotate-keys")


def add_parsers(sub: Any) -> None:
    card = sub.add_parser("card", help="write the organisation's card (its public keys and fingerprint)")
    card.add_argument("--org", required=True, help="organisation slug")
    card.add_argument("--out", help="file to write (default: print it)")
    card.add_argument("--json", action="store_true", help="print a JSON summary")
    trust = sub.add_parser("trust", help="trust a partner's card, after comparing its fingerprint")
    trust.add_argument("card")
    trust.add_argument("--org", required=True, help="organisation slug")
    trust.add_argument("--fingerprint", default="", help="the fingerprint the partner read out (refused if it differs)")
    trust.add_argument("--json", action="store_true")
    rot = sub.add_parser("rotate-keys", help="make a new key pair (old packages still open)")
    rot.add_argument("--org", required=True)
    rot.add_argument("--json", action="store_true")


def handle(self: BaseCommand, opts: dict[str, Any]) -> None:
    """Run a referral subcommand; `self` is the `phare org` command (its stdout and stderr)."""
    from phare.accounts.models import Organisation
    from phare.referrals import packages

    org = Organisation.objects.filter(slug=opts["org"]).first()
    if org is None:
        raise CommandError(f"no organisation {opts['org']!r}")
    from django.db import transaction

    if opts["action"] == "card":
        with transaction.atomic():
            c = packages.card(org)
        text = json.dumps(c, indent=2, ensure_ascii=False) + "\n"
        if opts.get("out"):
            Path(opts["out"]).write_text(text, encoding="utf-8")
        if opts["json"]:
            self.stdout.write(json.dumps({"ok": True, "id": c["id"], "fingerprint": c["fingerprint"],
                                          "out": opts.get("out") or ""}))  # fmt: skip
        elif opts.get("out"):
            self.stdout.write(f"card of {org.org_Name} written to {opts['out']}\n"
                              f"fingerprint: {packages.show_fingerprint(c['fingerprint'])}")  # fmt: skip
        else:
            self.stdout.write(text)
        return
    if opts["action"] == "rotate-keys":
        kp = packages.rotate(None, org)
        fp = packages.card(org)["fingerprint"]
        self.stdout.write(json.dumps({"ok": True, "kid": kp.kid, "fingerprint": fp}) if opts["json"]
                          else f"new key pair {kp.kid}; new fingerprint {packages.show_fingerprint(fp)}: send partners the new card")  # fmt: skip
        return
    try:
        c = json.loads(Path(opts["card"]).read_text(encoding="utf-8"))
        with transaction.atomic():
            row = packages.trust(None, org, c, expected=opts["fingerprint"])
    except (OSError, ValueError, packages.PackageRefused) as e:
        code = getattr(e, "code", "card-invalid")
        if opts["json"]:
            self.stdout.write(json.dumps({"ok": False, "code": code, "message": str(getattr(e, "message", e))}))
            raise SystemExit(1) from None
        raise CommandError(f"[{code}] {getattr(e, 'message', e)}") from None
    if opts["json"]:
        self.stdout.write(json.dumps({"ok": True, "partner": row.partner_id, "name": row.name, "fingerprint": row.fingerprint}))
    else:
        self.stdout.write(f"{org.org_Name} now trusts {row.name} ({row.partner_id})\n"
                          f"fingerprint: {packages.show_fingerprint(row.fingerprint)}"
                          + ("" if opts["fingerprint"] else "\ncompare it with the one the partner gives you"))  # fmt: skip
