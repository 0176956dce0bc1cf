"""The helpline's figures: contacts per day and channel, their outcomes, the indicators observed, and how many
became cases, as the dashboards' `Figure`s (so drawn, tabled and downloaded as theirs are) with the same
small-cell suppression: none on the organisation's own view, the organisation's k when the figures are for
sharing outside it.

Counted from `phare.access.scoped_aggregate` (the organisation's contacts, for the roles that read aggregates):
only stored codes and dates are grouped, never a caller's field.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from phare.access import scoped_aggregate
from phare.dashboards.figures import Cell, Figure, Row, num
from phare.dashboards.suppression import suppress_column
from phare.helplines import actions
from phare.helplines.models import Channel, Contact, Outcome

SECTION = "helpline"
DEFAULT_DAYS = 30
MAX_DAYS = 366
CASE_OUTCOMES = (Outcome.CASE_OPENED, Outcome.LINKED)


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @classmethod
    def default(cls) -> Period:
        today = timezone.localdate()
        return cls(today - timedelta(days=DEFAULT_DAYS - 1), today)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def _bounds(period: Period) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (
        datetime.combine(period.start, time.min, tz),
        datetime.combine(period.end + timedelta(days=1), time.min, tz),
    )


def counted(user: Any, period: Period) -> dict[str, Counter[str]]:
    """Plain counts keyed by stored values: by_day ("YYYY-MM-DD|channel"), outcome, channel, indicator, total."""
    since, until = _bounds(period)
    qs = scoped_aggregate(user, Contact).filter(started_at__gte=since, started_at__lt=until)
    tz = timezone.get_current_timezone()
    out: dict[str, Counter[str]] = {k: Counter() for k in ("by_day", "outcome", "channel", "indicator", "total")}
    for row in qs.annotate(day=TruncDate("started_at", tzinfo=tz)).values("day", "channel").annotate(n=Count("id")):
        out["by_day"][f"{row['day'].isoformat()}|{row['channel']}"] += row["n"]
        out["channel"][row["channel"]] += row["n"]
        out["total"]["contacts"] += row["n"]
    for outcome, n in qs.values_list("outcome").annotate(n=Count("id")):
        out["outcome"][outcome] += n
    # Indicators are a JSON list per contact: counted in Python over the list only (no other field is read).
    for indicators in qs.exclude(indicators=[]).values_list("indicators", flat=True).iterator():
        out["indicator"].update(set(indicators or []))
    out["total"]["to_cases"] = qs.filter(outcome__in=CASE_OUTCOMES).count()
    return out


def _cells(values: list[int], total: int, k: int | None) -> tuple[list[Cell], Cell]:
    shown: list[int | None]
    tot: int | None
    if k:
        shown, tot = suppress_column(values, total, k)
    else:
        shown, tot = list(values), total
    return [Cell(v, num(v, k)) for v in shown], Cell(tot, num(tot, k))


def _bar(key: str, title: str, items: list[tuple[str, str, int]], total: int, k: int | None, column: str,
         note: str = "") -> Figure:  # fmt: skip
    cells, tot = _cells([n for _c, _l, n in items], total, k)
    rows = [Row(c, label, [cell]) for (c, label, _n), cell in zip(items, cells, strict=True)]
    return Figure(key, SECTION, title, "bar", [column], rows, [tot], note=note, suppressed=bool(k))


def build(raw: dict[str, Counter[str]], period: Period, k: int | None) -> list[Figure]:
    contacts = _("Contacts")
    total = raw["total"]["contacts"]
    # Per day and channel: one column a channel that has contacts in the period, each column suppressed alone.
    # With no contact at all, one empty column: a chart needs a series to draw its (empty) days.
    channels = [(v, label) for v, label in Channel.choices if raw["channel"][v]] or Channel.choices[:1]
    days = period.days()
    columns: list[list[Cell]] = []
    totals: list[Cell] = []
    for value, _label in channels:
        counts = [raw["by_day"][f"{d.isoformat()}|{value}"] for d in days]
        cells, tot = _cells(counts, sum(counts), k)
        columns.append(cells)
        totals.append(tot)
    # Days in words, never "12/04/2026" (two different days to two readers): "December 4", "4 décembre", with
    # the year only when the period spans two.
    day_format = "MONTH_DAY_FORMAT" if len({d.year for d in days}) <= 1 else "DATE_FORMAT"
    rows = [Row(d.isoformat(), formats.date_format(d, day_format), [c[i] for c in columns])
            for i, d in enumerate(days)]  # fmt: skip
    per_day = Figure("contacts-per-day", SECTION, _("Contacts per day and channel"), "months",
                     [str(label) for _v, label in channels], rows, totals, suppressed=bool(k))  # fmt: skip
    outcomes = [(v, str(label), raw["outcome"][v]) for v, label in Outcome.choices]
    by_channel = [(v, str(label), raw["channel"][v]) for v, label in Channel.choices]
    labels = dict(actions.indicator_choices())
    indicators = sorted(
        ((v, labels.get(v, v), n) for v, n in raw["indicator"].items() if n), key=lambda t: (-t[2], t[1])
    )
    to_cases = raw["total"]["to_cases"]
    became = [("case", _("Became a case or joined one"), to_cases), ("no_case", _("Did not become a case"),
                                                                         total - to_cases)]  # fmt: skip
    return [
        per_day,
        _bar("contacts-channel", _("Contacts by channel"), by_channel, total, k, contacts),
        _bar("contacts-outcome", _("Answer outcomes"), outcomes, total, k, contacts),
        _bar("contacts-indicators", _("Indicators of trafficking observed"), indicators, total, k, contacts,
             note=_("A contact may show several indicators: the rows add up to more than the total.")),
        _bar("contacts-to-cases", _("Contacts that became cases"), became, total, k, contacts),
    ]  # fmt: skip


def figures(user: Any, period: Period, *, external: bool = False) -> list[Figure]:
    """The helpline's figures for `period`; `external`: for sharing outside the organisation (its k applies)."""
    k = max(int(user.organisation.k_threshold or 11), 2) if external else None
    return build(counted(user, period), period, k)
