from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from htcds.deid import ctdc
from htcds.deid.ctdc_kanon import QI_FAMILIES
from phare.access import get_or_404, scoped
from phare.accounts.models import Role
from phare.accounts.permissions import READ_AGGREGATES, require_perm
from phare.sharing import actions, releases, words
from phare.sharing.models import PrivacySpend, Release, ResearchDataset

COMPARED = ("gender", "ageBroad", "isSexualExploit", "isForcedLabour")


def comparison(dataset: ResearchDataset, own: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """Shares of each value in the CTDC file and in the organisation's own CTDC table, side by side."""
    out: list[dict[str, Any]] = []
    for column in COMPARED:
        theirs = dataset.marginals.get(column)
        if not theirs:
            continue
        mine = own.get(column, {})
        total_theirs, total_mine = sum(theirs.values()) or 1, sum(mine.values()) or 1
        for value in sorted(set(theirs) | set(mine), key=lambda v: -theirs.get(v, 0)):
            out.append({"column": column, "value": value, "ctdc": 100 * theirs.get(value, 0) / total_theirs,
                        "ours": 100 * mine.get(value, 0) / total_mine, "column_label": words.COLUMNS.get(column, column),
                        "value_label": words.VALUES.get(value, value)})  # fmt: skip
    return out


def _org(request: HttpRequest) -> Any:
    org = getattr(request.user, "organisation", None)
    if org is None:
        raise Http404
    return org


def release_dir() -> Path:
    path = Path(settings.DATA_DIR) / "files" / "releases"
    path.mkdir(parents=True, exist_ok=True)
    return path


@login_required
@require_perm(READ_AGGREGATES)
def index(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    k = int(request.GET.get("k") or org.k_threshold)
    preview = releases.preview_risk(org, k)
    ledger = releases.ledger_for(org)
    spends = list(scoped(request.user, PrivacySpend).select_related("release", "actor").order_by("-at"))
    recent = scoped(request.user, Release).order_by("-at")[:20]
    datasets = list(scoped(request.user, ResearchDataset).order_by("-loaded_at")[:5])
    own = preview.get("own_marginals", {})
    research = [(d, comparison(d, own)) for d in datasets]
    for s in spends:
        s.purpose_label = words.purpose(s.purpose)  # type: ignore[attr-defined]
    for r in recent:
        r.kind_label = words.KINDS.get(r.kind, r.kind)  # type: ignore[attr-defined]
    return render(request, "sharing/index.html", {"preview": preview, "k": k, "org": org, "ledger": ledger,
                                                  "verdict": words.verdict(preview["risk"]) if preview["risk"] else None,
                                                  "filters": words.filters(preview["filters"]),
                                                  "trade_offs": words.trade_offs(preview["trade_offs"]),
                                                  "spends": spends, "is_admin": request.user.role == Role.ADMIN,  # type: ignore[union-attr]
                                                  "releases": recent, "columns": [(c, words.column(c)) for c in releases.AGGREGATE_COLUMNS],
                                                  "families": [(f, words.family(f)) for f in QI_FAMILIES],
                                                  "research": research})  # fmt: skip


@login_required
@require_perm(READ_AGGREGATES)
@require_POST
def budget(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    try:
        actions.set_privacy_budget(request.user, org, float(request.POST.get("total_epsilon") or 0),
                                   float(request.POST.get("total_delta") or 0))  # fmt: skip
    except (actions.BudgetChangeRefusedError, ValueError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Privacy budget saved."))
    return redirect("sharing:index")


@login_required
@require_perm(READ_AGGREGATES)
@require_POST
def release(request: HttpRequest, kind: str) -> HttpResponse:
    org = _org(request)
    if kind not in words.KINDS:
        return HttpResponse(status=404)
    if request.POST.get("confirm") != "yes":
        # Nothing leaves on the first press: the page says what would leave, and the same form comes back confirmed.
        return render(request, "sharing/confirm.html", _confirmation(org, kind, request.POST))
    tmp = release_dir() / f"pending-{request.user.pk}.csv"
    try:
        if kind == "ctdc":
            outcome = releases.release_ctdc(request.user, org, int(request.POST.get("k") or org.k_threshold), tmp,
                                            override_reason=request.POST.get("override_reason", ""),
                                            drop=tuple(request.POST.getlist("drop")),
                                            accept_withheld=bool(request.POST.get("accept_withheld")))  # fmt: skip
        elif kind == "synthetic":
            outcome = releases.release_synthetic(request.user, org, float(request.POST.get("epsilon") or 1), tmp,
                                                 delta=float(request.POST.get("delta") or 1e-6))  # fmt: skip
        elif kind == "aggregate":
            attributes = [a for a in request.POST.getlist("attributes") if a]
            outcome = releases.release_aggregate(request.user, org, attributes, float(request.POST.get("epsilon") or 1))
            releases.write_rows(tmp, outcome.rows)
        else:
            return HttpResponse(status=404)
    except (releases.ReleaseRefusedError, ValueError) as exc:
        messages.error(request, str(exc))
        return redirect("sharing:index")
    tmp.rename(release_dir() / f"{outcome.release.pk}.csv")
    messages.success(request, _("Released %(n)d records.") % {"n": outcome.release.records})
    return redirect("sharing:index")


def _confirmation(org: Any, kind: str, post: Any) -> dict[str, Any]:
    """What a release would send, told before it is made: its kind, its settings, the columns of the file, how many
    people it describes and, for the differentially private kinds, what it costs of the budget. Computing the file
    itself is left to the release: a noisy draw shown here and another one sent would spend the budget twice."""
    carried = [(name, value) for name in post if name not in ("csrfmiddlewaretoken", "confirm")
               for value in post.getlist(name)]  # fmt: skip
    settings_shown: list[tuple[str, str]] = []
    columns: list[str] = []
    cost = None
    if kind == "ctdc":
        export = releases.ctdc_table(org)
        dropped = set(post.getlist("drop"))
        gone = {c for f in dropped for c in QI_FAMILIES.get(f, ())}
        columns = [c for c in (export.rows[0] if export.rows else {}) if c not in gone]
        settings_shown.append(("k", str(post.get("k") or org.k_threshold)))
        if dropped:
            settings_shown.append((_("Left out of the file"), ", ".join(words.family(f) for f in sorted(dropped))))
        if post.get("override_reason", "").strip():
            settings_shown.append((_("Reason for a k below the threshold"), post["override_reason"].strip()))
    else:
        export = releases.ctdc_table(org, synthetic_columns=True)
        epsilon = _number(post.get("epsilon"), 1.0)
        settings_shown.append(("ε", f"{epsilon:g}"))
        if kind == "synthetic":
            columns = list(ctdc.SYNTHETIC_COLUMNS)
            settings_shown.append(("δ", str(post.get("delta") or "1e-6")))
        else:
            columns = [a for a in post.getlist("attributes") if a] + ["count"]
        left = releases.ledger_for(org).remaining_epsilon
        cost = {"epsilon": epsilon, "left": left, "after": left - epsilon, "enough": epsilon <= left}
    return {"kind": kind, "kind_label": words.KINDS[kind], "settings_shown": settings_shown, "columns": columns,
            "records": export.records_out, "cost": cost, "carried": carried,
            "filters": words.filters(export.counts()) if export.rows else []}  # fmt: skip


def _number(text: str | None, default: float) -> float:
    try:
        return float(text) if text else default
    except ValueError:
        return default


@login_required
@require_perm(READ_AGGREGATES)
def download(request: HttpRequest, pk: int) -> HttpResponseBase:
    rel = get_or_404(request.user, Release, pk=pk)
    path = release_dir() / f"{rel.pk}.csv"
    if not path.exists():
        return HttpResponse(_("This release's file is no longer kept."), status=410)
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"phare-{rel.kind}-{rel.pk}.csv")
