"""`phare export json|csv|xlsx|xlsform --org SLUG --out PATH` (audited; only for roles that see personal data),
and the de-identified releases `phare export ctdc --k 11` and `phare export synthetic --epsilon E` (phare.sharing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction


class Command(BaseCommand):
    help = "Export an organisation's cases as HTCDS JSON bundles, CSV or XLSX (template layout), or a blank XLSForm."
    # Django's system checks import every view to check the URLs: a second per run, and nothing a data command needs.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("format", choices=["json", "csv", "xlsx", "xlsform", "template", "ctdc", "synthetic"])
        parser.add_argument("--org", required=True)
        parser.add_argument("--out", required=True)
        parser.add_argument("--user", help="username the export is done as (must see personal data)")
        parser.add_argument("--extended", action="store_true", help="xlsform/template: all fields, not only Core")
        parser.add_argument("--k", type=int, help="ctdc: minimum equivalence class size (default: the organisation's)")
        parser.add_argument("--override-reason", default="", help="ctdc: an admin's written reason for k below threshold")
        parser.add_argument("--epsilon", type=float, help="synthetic: privacy budget to spend")
        parser.add_argument("--seed", type=int, help="synthetic: random seed, for a reproducible release")
        parser.add_argument("--report", help="ctdc/synthetic: where to write the privacy and utility report (JSON)")

    def handle(self, *args: Any, **opts: Any) -> None:
        from htcds.sources import export, xlsform
        from phare.accounts.models import PERSONAL_DATA_ROLES, Organisation, User
        from phare.audit import log as audit
        from phare.imports.exporting import case_bundles

        out = Path(opts["out"])
        fmt = opts["format"]
        if fmt == "xlsform":
            xlsform.write_xlsform(out, extended=opts["extended"])
            return
        if fmt == "template":
            xlsform.write_blank_template(out, extended=opts["extended"])
            return
        org = Organisation.objects.filter(slug=opts["org"]).first()
        if org is None:
            raise CommandError(f"no organisation {opts['org']!r}")
        users = User.objects.filter(organisation=org, is_active=True)
        if fmt in ("ctdc", "synthetic"):
            self._release(fmt, org, users, out, opts)
            return
        actor = (
            users.filter(username=opts["user"]).first()
            if opts["user"]
            else users.filter(role__in=PERSONAL_DATA_ROLES).order_by("id").first()
        )
        if actor is None or not actor.sees_personal_data:
            raise CommandError("exports hold personal data: the acting user's role must be allowed to see it")
        writer = {"json": export.write_json, "csv": export.write_csv, "xlsx": export.write_xlsx}[fmt]
        with transaction.atomic():
            n = writer(case_bundles(org), out)
            audit.record("export.cases", actor=actor, organisation=org, target_type="export", target_id=fmt,
                         detail={"cases": n, "file": out.name})  # fmt: skip
        self.stdout.write(f"{n} cases written to {out}")

    def _release(self, fmt: str, org: Any, users: Any, out: Path, opts: dict[str, Any]) -> None:
        from phare.accounts.models import Role
        from phare.sharing import releases

        wanted = [Role.ADMIN] if opts["override_reason"] else [Role.ADMIN, Role.ANALYST, Role.SUPERVISOR]
        actor = (users.filter(username=opts["user"]) if opts["user"] else users.filter(role__in=wanted)).order_by("id").first()
        if actor is None:
            raise CommandError("no user of this organisation may release de-identified data (name one with --user)")
        report = Path(opts["report"]) if opts["report"] else None
        try:
            if fmt == "ctdc":
                outcome = releases.release_ctdc(actor, org, opts["k"] or org.k_threshold, out, report,
                                                override_reason=opts["override_reason"])  # fmt: skip
            else:
                if not opts["epsilon"]:
                    raise CommandError("synthetic needs --epsilon")
                outcome = releases.release_synthetic(actor, org, opts["epsilon"], out, report, seed=opts["seed"])
        except releases.ReleaseRefusedError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{outcome.release.records} records written to {out}")
