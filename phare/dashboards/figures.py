"""Counts → labelled figures in the active language, with small-cell suppression when shared."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from django.utils import formats, timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from htcds import codelists
from htcds.catalogue import load
from phare.cases.ages import AGE_BANDS
from phare.cases.models import CaseStatus
from phare.dashboards.queries import MULTI_FIELDS, SINGLE_FIELDS, Filters, Raw
from phare.dashboards.suppression import suppress_column, suppress_value

OPERATIONS = "operations"
PROFILE = "profile"
SECTIONS = {OPERATIONS: gettext_lazy("Operations"), PROFILE: gettext_lazy("People assisted")}
MONTHS_SHOWN = 36
PLAN_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7", 0, 7), ("8-30", 8, 30), ("31-90", 31, 90), ("91-180", 91, 180), ("181+", 181, None),
)  # fmt: skip


@dataclass
class Cell:
    value: int | None  # None: suppressed
    text: str


@dataclass
class Row:
    code: str
    label: str
    cells: list[Cell]


@dataclass
class Figure:
    key: str
    section: str
    title: str
    kind: str  # "bar", "months", "map"
    columns: list[str]
    rows: list[Row]
    totals: list[Cell] | None = None
    note: str = ""
    summary: list[tuple[str, str]] = field(default_factory=list)
    suppressed: bool = False

    @property
    def empty(self) -> bool:
        return not any(c.value for r in self.rows for c in r.cells)

    def max_value(self) -> int:
        return max((c.value or 0 for r in self.rows for c in r.cells), default=0)


def highlights(figs: Iterable[Figure]) -> list[tuple[Figure, str, str, str]]:
    """The page's summary, before the charts: for each category chart, its largest shown category, its count and
    the total (figure, label, count, total). Suppressed cells and "not recorded" never lead a summary."""
    out = []
    for fig in figs:
        if fig.kind != "bar" or not fig.rows or not fig.totals or fig.totals[0].value in (None, 0):
            continue
        shown = [r for r in fig.rows if r.cells[0].value is not None and r.code]
        if not shown:
            continue
        top = max(shown, key=lambda r: r.cells[0].value or 0)
        if top.cells[0].value:
            out.append((fig, top.label, top.cells[0].text, fig.totals[0].text))
    return out


def num(value: int | None, k: int | None = None) -> str:
    if value is None:
        return f"<{k}" if k else "—"
    return formats.number_format(value, use_l10n=True, force_grouping=True)


def _cells(values: list[int], total: int, k: int | None) -> tuple[list[Cell], Cell]:
    shown: list[int | None]
    if k:
        shown, tot = suppress_column(values, total, k)
    else:
        shown, tot = list(values), total
    return [Cell(v, num(v, k)) for v in shown], Cell(tot, num(tot, k))


def _not_recorded() -> str:
    return _("Not recorded")


def country_name(code: str) -> str:
    """The country's name in the active language (CLDR through Babel: htcds.codelists.country_name)."""
    return codelists.country_name(code, (get_language() or "en")[:2])


def _choice_label(field_name: str, code: str) -> str:
    if not code:
        return _not_recorded()
    f = load().by_name.get(field_name)
    if f is not None and f.codelist == "country":
        return country_name(code)
    if f is not None and f.choices:
        return _(f.label_of(code))
    return code


def _one_column(key: str, section: str, title: str, items: Iterable[tuple[str, str, int]], total: int,
                k: int | None, column: str, kind: str = "bar", note: str = "") -> Figure:  # fmt: skip
    items = list(items)
    cells, tot = _cells([n for _c, _l, n in items], total, k)
    rows = [Row(c, label, [cell]) for (c, label, _n), cell in zip(items, cells, strict=True)]
    return Figure(key, section, title, kind, [column], rows, [tot], note=note, suppressed=bool(k))


def _by_count(values: Mapping[str, int], label: Callable[[str], str]) -> list[tuple[str, str, int]]:
    items = [(c, label(c), n) for c, n in values.items() if n]
    items.sort(key=lambda t: (-t[2], t[1]))
    return items


def _months(series: list[Mapping[str, int]], filters: Filters) -> list[str]:
    keys = sorted({m for s in series for m in s if m})
    if filters.start or filters.end:
        first = (filters.start or date.fromisoformat((keys or [str(timezone.localdate())[:7]])[0] + "-01")).strftime("%Y-%m")
        last = (filters.end or timezone.localdate()).strftime("%Y-%m")
    elif keys:
        first, last = keys[0], keys[-1]
    else:
        return []
    out = []
    y, m = int(first[:4]), int(first[5:7])
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def month_label(ym: str) -> str:
    return formats.date_format(date(int(ym[:4]), int(ym[5:7]), 1), "YEAR_MONTH_FORMAT")


def axis_labels(codes: list[str], months_fit: int, min_gap: int = 1) -> list[tuple[int, str]]:
    """Where to label a monthly axis, and with what: each month (its short name) when at most `months_fit` are
    shown, else each year under its first month, at least `min_gap` months apart (a year that would crowd the
    next one is left out) so that labels never run into each other."""
    if len(codes) <= months_fit:
        from babel.dates import format_date

        locale = codelists.cldr_locale((get_language() or "en")[:2])
        return [(i, format_date(date(int(c[:4]), int(c[5:7]), 1), "LLL", locale=locale)) for i, c in enumerate(codes)]
    years = [(i, c[:4]) for i, c in enumerate(codes) if i == 0 or codes[i - 1][:4] != c[:4]]
    return [y for y, after in zip(years, [*years[1:], (len(codes) + min_gap, "")], strict=True)
            if after[0] - y[0] >= min_gap]  # fmt: skip


def _month_figure(key: str, title: str, series: list[tuple[str, Mapping[str, int]]], filters: Filters,
                  k: int | None) -> Figure:  # fmt: skip
    months = _months([s for _n, s in series], filters)
    columns = [name for name, _s in series]
    cols: list[list[Cell]] = []
    totals: list[Cell] = []
    for _name, s in series:
        values = [int(s.get(m, 0)) for m in months]
        cells, tot = _cells(values, sum(values), k)
        cols.append(cells)
        totals.append(tot)
    rows = [Row(m, month_label(m), [c[i] for c in cols]) for i, m in enumerate(months)]
    note = ""
    if len(rows) > MONTHS_SHOWN:
        note = _("The chart shows the last %(n)s months; the table and downloads have them all.") % {"n": MONTHS_SHOWN}
    return Figure(key, OPERATIONS, title, "months", columns, rows, totals, note=note, suppressed=bool(k))


def _percentile(hist: Mapping[str, int], q: float) -> int | None:
    total = sum(hist.values())
    if not total:
        return None
    seen = 0
    for d in sorted(hist, key=int):
        seen += hist[d]
        if seen >= q * total:
            return int(d)
    return None


def build(raw: Raw, filters: Filters, *, k: int | None = None, owner_names: Mapping[str, str] | None = None,
          org_names: Mapping[str, str] | None = None) -> list[Figure]:  # fmt: skip
    """All figures. `k`: suppress cells below k (shared views); `org_names`: the operator's partner view, where
    open cases are shown by organisation instead of by owner."""
    g = raw.get
    people = int(g("people", {}).get("total", 0))
    people_label = _("People")
    cases_label = _("Cases")
    figs: list[Figure] = []

    statuses = g("case_status", {})
    all_cases = sum(statuses.values())
    figs.append(_one_column("case_status", OPERATIONS, _("Cases by status"),
                            [(s.value, str(s.label), int(statuses.get(s.value, 0))) for s in CaseStatus],
                            all_cases, k, cases_label))  # fmt: skip
    if org_names is not None:
        by_org = g("open_by_org", {})
        figs.append(_one_column("open_by_owner", OPERATIONS, _("Open cases by organisation"),
                                _by_count(by_org, lambda c: org_names.get(c, c)), sum(by_org.values()), k, cases_label))
    else:
        names = owner_names or {}
        by_owner = g("open_by_owner", {})
        figs.append(_one_column("open_by_owner", OPERATIONS, _("Open cases by owner"),
                                _by_count(by_owner, lambda c: names.get(c) or _("No owner")),
                                sum(by_owner.values()), k, cases_label))  # fmt: skip
    figs.append(_month_figure("cases_per_month", _("New and closed cases per month"),
                              [(_("New"), g("new_per_month", {})), (_("Closed"), g("closed_per_month", {}))],
                              filters, k))  # fmt: skip
    figs.append(_month_figure("referrals_per_month", _("Referrals per month"),
                              [(_("Incoming"), g("referrals_in", {})), (_("Outgoing"), g("referrals_out", {}))],
                              filters, k))  # fmt: skip
    fu = g("follow_ups", {})
    fu_items = [("overdue", _("Overdue"), int(fu.get("overdue", 0))),
                ("due", _("Due in the next %(n)s days") % {"n": 7}, int(fu.get("due", 0))),
                ("later", _("Due later"), int(fu.get("later", 0)))]  # fmt: skip
    figs.append(_one_column("follow_ups", OPERATIONS, _("Follow-ups of open cases"), fu_items,
                            sum(n for *_x, n in fu_items), k, cases_label))  # fmt: skip
    pd = g("plans_due", {})
    pd_items = [("overdue", _("Overdue"), int(pd.get("overdue", 0))),
                ("due", _("Due in the next %(n)s days") % {"n": 14}, int(pd.get("due", 0))),
                ("later", _("Due later"), int(pd.get("later", 0))),
                ("undated", _("No planned end date"), int(pd.get("undated", 0)))]  # fmt: skip
    figs.append(_one_column("plans_due", OPERATIONS, _("Support plans still open, by planned end date"), pd_items,
                            sum(n for *_x, n in pd_items), k, _("Support plans")))  # fmt: skip
    hist = g("plan_days", {})
    n_plans = sum(hist.values())
    band_items = []
    for code, lo, hi in PLAN_BANDS:
        n = sum(v for d, v in hist.items() if int(d) >= lo and (hi is None or int(d) <= hi))
        label = _("%(lo)s days or more") % {"lo": lo} if hi is None else _("%(lo)s to %(hi)s days") % {"lo": lo, "hi": hi}
        band_items.append((code, label, n))
    plan_fig = _one_column("plan_days", OPERATIONS, _("Time from intake to the first support plan"), band_items,
                           n_plans, k, cases_label)  # fmt: skip
    hidden = bool(k) and suppress_value(n_plans, k or 0) is None
    median, p90 = _percentile(hist, 0.5), _percentile(hist, 0.9)
    days = _("%(n)s days")
    plan_fig.summary = [
        (_("Median"), "—" if hidden or median is None else days % {"n": num(median)}),
        (_("90th percentile"), "—" if hidden or p90 is None else days % {"n": num(p90)}),
        (_("Cases with a support plan"), num(None if hidden else n_plans, k)),
    ]
    figs.append(plan_fig)

    def profile(key: str, field_name: str, title: str, ordered: list[tuple[str, str]] | None = None,
                kind: str = "bar", note: str = "") -> None:  # fmt: skip
        values = g(key, {})
        if ordered is not None:
            items = [(c, lab, int(values.get(c, 0))) for c, lab in ordered]
            if values.get(""):
                items.append(("", _not_recorded(), int(values[""])))
        else:
            items = _by_count(values, lambda c: _choice_label(field_name, c))
        figs.append(_one_column(key, PROFILE, title, items, people, k, people_label, kind=kind, note=note))

    cat = load()
    multi = _("A person may have several values: the rows add up to more than the total.")
    profile("status", "vic_TraffickingStatus", _("Trafficking status"),
            [(c.name, _(c.label)) for c in cat["vic_TraffickingStatus"].choices])  # fmt: skip
    profile("exploitation", MULTI_FIELDS["exploitation"], _("Type of exploitation"), note=multi)
    profile("industry", SINGLE_FIELDS["industry"], _("Forced labour industry (ISIC)"))
    profile("sex_exploitation", MULTI_FIELDS["sex_exploitation"], _("Type of sexual exploitation"), note=multi)
    profile("control", MULTI_FIELDS["control"], _("Methods of control"), note=multi)
    profile("gender", "prs_Gender", _("Gender"), [(c.name, _(c.label)) for c in cat["prs_Gender"].choices])
    bands = [(b, _("%(band)s years") % {"band": b}) for b, _lo, _hi in AGE_BANDS]
    profile("age_registration", "prs_Birthdate", _("Age at registration"), bands)
    profile("age_trafficked", "vic_AgeWhenTrafficked", _("Age when trafficked"), bands)
    profile("citizenship", "prs_Citizenship", _("Citizenship"), kind="map", note=multi)
    profile("country_recruitment", "prs_Citizenship", _("Country of recruitment"), kind="map")
    profile("country_exploitation", "prs_Citizenship", _("Country of exploitation"), kind="map")
    profile("recruitment", "vic_MethodOfRecruitment", _("Method of recruitment"), note=multi)
    profile("relationship", SINGLE_FIELDS["relationship"], _("Relationship to trafficker"),
            [(c.name, _(c.label)) for c in cat["vic_RelationshipToTrafficker"].choices])  # fmt: skip
    return figs


def people_total(raw: Raw, k: int | None) -> str:
    n = int(raw.get("people", {}).get("total", 0))
    return num(suppress_value(n, k) if k else n, k)


def by_key(figs: list[Figure]) -> dict[str, Figure]:
    return {f.key: f for f in figs}
