"""`phare export json|csv|xlsx|xlsform --org SLUG --out PATH [--filter QUERY]` (audited; only for roles that may
export), and the de-identified releases `phare export ctdc --k 11` and `phare export synthetic --epsilon E`
(phare.sharing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Export an organisation's cases as HTCDS JSON bundles, CSV or XLSX (template layout), or a blank XLSForm."
    # Django's system checks import every view to check the URLs: a second per run, and nothing a data command needs.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("format", choices=["json", "csv", "xlsx", "xlsform", "template", "ctdc", "synthetic"])
        parser.add_argument("--org", required=True)
        parser.add_argument("--out", required=True)
        parser.add_argument("--user", help="username the export is done as (a role that may export)")
        parser.add_argument("--filter", default="",
                            help="json/csv/xlsx: only the cases the case list shows for these filters, written as in "
                                 "its address, e.g. 'status=open&opened_from=2024-01-01'")  # fmt: skip
        parser.add_argument("--extended", action="store_true", help="xlsform/template: all fields, not only Core")
        parser.add_argument("--k", type=int, help="ctdc: minimum equivalence class size (default: the organisation's)")
        parser.add_argument("--override-reason", default="", help="ctdc: an admin's written reason for k below threshold")
        parser.add_argument("--drop", action="append", default=[],
                            help="ctdc: a quasi-identifier family to leave out of the file (repeatable)")
        parser.add_argument("--accept-withheld", action="store_true",
                            help="ctdc: release even if reaching k withholds a family for every record")  # fmt: skip
        parser.add_argument("--epsilon", type=float, help="synthetic: privacy budget to spend")
        parser.add_argument("--delta", type=float, default=1e-6, help="synthetic: delta (below 1/n and the budget's)")
        parser.add_argument("--report", help="ctdc/synthetic: where to write the report that goes with the file (JSON)")
        parser.add_argument("--internal-report", help="synthetic: where to write what was measured on the raw data "
                                                      "(filter counts, utility); never send it with the file")  # fmt: skip

    def handle(self, *args: Any, **opts: Any) -> None:
        from django.http import QueryDict

        from htcds.sources import xlsform
        from phare.accounts.models import Organisation, User
        from phare.cases.filters import applied_filters, filter_cases, filter_form
        from phare.imports.actions import export_cases, may_export

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
        actor = users.filter(username=opts["user"]).first() if opts["user"] else None
        if actor is None and not opts["user"]:
            actor = next((u for u in users.order_by("id") if may_export(u)), None)
        if actor is None or not may_export(actor):
            raise CommandError("exports hold personal data: the acting user's role must be allowed to export "
                               "(an admin or a supervisor; name one with --user)")  # fmt: skip
        form = filter_form(actor, QueryDict(opts["filter"]))
        if opts["filter"] and not form.is_valid():
            wrong = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in form.errors.items())
            raise CommandError(f"--filter: {wrong} (the filters are those of the case list's address)")
        n = export_cases(actor, filter_cases(actor, form), fmt, out, applied_filters(form))
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
                                                override_reason=opts["override_reason"], drop=tuple(opts["drop"]),
                                                accept_withheld=opts["accept_withheld"])  # fmt: skip
            else:
                if not opts["epsilon"]:
                    raise CommandError("synthetic needs --epsilon")
                internal = Path(opts["internal_report"]) if opts["internal_report"] else None
                outcome = releases.release_synthetic(actor, org, opts["epsilon"], out, report, delta=opts["delta"],
                                                     internal_report_path=internal)  # fmt: skip
        except releases.ReleaseRefusedError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{outcome.release.records} records written to {out}")
