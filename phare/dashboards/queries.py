"""The dashboards' numbers: a handful of GROUP BY queries per organisation, returning plain counts keyed by
stored values (no labels, no personal data), so they can be cached, summed across a shared-service
operator's partners, and labelled later in the reader's language.

Every query starts from `phare.access.scoped_aggregate` for the user's own organisation, or, for an
operator's partner, from the partner's rows after `partner_ids` confirmed the partnership.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Case as When_
from django.db.models import CharField, Count, DateField, F, Func, Min, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, NullIf

from phare.access import scoped_aggregate
from phare.cases.models import CLOSED_STATUSES, Case, CaseParticipant, Referral, SupportPlan
from phare.dashboards.models import ServicePartnership

VICTIM_ROLES = ("Victim", "PotentialVictim")
CACHE_SECONDS = 60
# CTDC's age bands.
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-8", 0, 8), ("9-17", 9, 17), ("18-20", 18, 20), ("21-23", 21, 23), ("24-26", 24, 26),
    ("27-29", 27, 29), ("30-38", 30, 38), ("39-47", 39, 47), ("48+", 48, None),
)  # fmt: skip
# Multi-select (JSON list) fields of the victim context counted per value, with the key of their figure.
MULTI_FIELDS = {
    "exploitation": "vic_TypeOfExploitation",
    "sex_exploitation": "vic_TypeOfSexExploitation",
    "control": "vic_MethodsOfControl",
    "recruitment": "vic_MethodOfRecruitment",
    "citizenship": "person__prs_Citizenship",
}
SINGLE_FIELDS = {
    "status": "vic_TraffickingStatus",
    "industry": "vic_ForcedLabourIndustry",
    "relationship": "vic_RelationshipToTrafficker",
    "gender": "person__prs_Gender",
}
DUE_SOON_DAYS = 7
PLAN_DUE_SOON_DAYS = 14

Raw = dict[str, dict[str, int]]


@dataclass(frozen=True)
class Filters:
    start: date | None = None
    end: date | None = None
    status: str = ""  # a CaseStatus value, "open", or ""
    owner: int | None = None

    def key(self) -> str:
        return f"{self.start}|{self.end}|{self.status}|{self.owner}"

    def case_q(self, prefix: str = "") -> Q:
        q = Q()
        if self.start:
            q &= Q(**{prefix + "cas_OpenedDate__gte": self.start})
        if self.end:
            q &= Q(**{prefix + "cas_OpenedDate__lte": self.end})
        if self.status == "open":
            q &= ~Q(**{prefix + "cas_Status__in": list(CLOSED_STATUSES)})
        elif self.status:
            q &= Q(**{prefix + "cas_Status": self.status})
        if self.owner:
            q &= Q(**{prefix + "cas_CaseOwner_id": self.owner})
        return q


class YearMonth(Func):
    """'YYYY-MM' of a date, without a per-row Python function on SQLite."""

    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(compiler, connection, template="substr(%(expressions)s, 1, 7)", **extra_context)

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(compiler, connection, template="to_char(%(expressions)s, 'YYYY-MM')", **extra_context)


def partner_ids(organisation_id: int | None) -> list[int]:
    """Organisations the given one operates a shared service for."""
    if organisation_id is None:
        return []
    rows = ServicePartnership.objects.filter(operator_id=organisation_id).order_by("partner_id")
    return list(rows.values_list("partner_id", flat=True))


def _base(user: Any, model: type[Any], organisation_id: int) -> QuerySet[Any]:
    if organisation_id == getattr(user, "organisation_id", None):
        return scoped_aggregate(user, model)
    if organisation_id in partner_ids(getattr(user, "organisation_id", None)):
        # Aggregates only: callers sum these counts with the other partners' and suppress small cells.
        return model._default_manager.filter(organisation_id=organisation_id)  # type: ignore[no-any-return]
    return model._default_manager.none()  # type: ignore[no-any-return]


def _age_band() -> When_:
    whens = []
    for label, lo, hi in AGE_BANDS:
        cond = Q(vic_AgeWhenTrafficked__gte=lo) if hi is None else Q(vic_AgeWhenTrafficked__range=(lo, hi))
        whens.append(When(cond, then=Value(label)))
    return When_(*whens, default=Value(""), output_field=CharField())


def _add(raw: Raw, figure: str, key: Any, n: int) -> None:
    k = "" if key is None else str(key)
    bucket = raw.setdefault(figure, {})
    bucket[k] = bucket.get(k, 0) + int(n)


def _days_between(later: str, earlier: str) -> str:
    if connection.vendor == "sqlite":
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
    return f"({later} - {earlier})"


def _wrapped(inner: QuerySet[Any], select: str, tail: str) -> list[tuple[Any, ...]]:
    """Run `SELECT <select> FROM (<inner>) t <tail>`: the inner query is the ORM's, tenant filter included."""
    sql, params = inner.query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(f"SELECT {select} FROM ({sql}) t {tail}", params)
        return list(cur.fetchall())


def _multi_counts(victims: QuerySet[Any]) -> list[tuple[str, str, int]]:
    """(figure, value, people) for every JSON-list field, in one query over the victims."""
    inner = victims.annotate(**{f"m_{k}": F(v) for k, v in MULTI_FIELDS.items()}).values(
        *[f"m_{k}" for k in MULTI_FIELDS]
    )
    sql, params = inner.query.sql_with_params()
    parts = []
    for k in MULTI_FIELDS:
        if connection.vendor == "postgresql":
            parts.append(f"SELECT '{k}', j.v, COUNT(*) FROM t CROSS JOIN LATERAL "
                         f"jsonb_array_elements_text(t.m_{k}::jsonb) AS j(v) GROUP BY j.v")  # fmt: skip
        else:
            parts.append(f"SELECT '{k}', j.value, COUNT(*) FROM t, json_each(t.m_{k}) j GROUP BY j.value")
    with connection.cursor() as cur:
        cur.execute(f"WITH t AS ({sql}) " + " UNION ALL ".join(parts), params)
        return [(str(a), str(b), int(c)) for a, b, c in cur.fetchall()]


def org_counts(user: Any, organisation_id: int, filters: Filters, today: date | None = None) -> Raw:
    """Every dashboard count for one organisation (cached for a minute per organisation, filters and day)."""
    today = today or date.today()
    digest = hashlib.sha256(f"{organisation_id}|{filters.key()}|{today}|{connection.vendor}".encode()).hexdigest()
    key = f"phare:dash:v1:{digest[:32]}"
    hit = cache.get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    raw = _compute(user, organisation_id, filters, today)
    cache.set(key, raw, CACHE_SECONDS)
    return raw


def _compute(user: Any, organisation_id: int, filters: Filters, today: date) -> Raw:
    raw: Raw = {}
    cases = _base(user, Case, organisation_id).filter(filters.case_q())
    soon = today + timedelta(days=DUE_SOON_DAYS)
    open_q = ~Q(cas_Status__in=list(CLOSED_STATUSES))
    # 1. status by owner, with follow-ups due, in one pass.
    rows = cases.values("cas_Status", "cas_CaseOwner_id").annotate(
        n=Count("id"),
        overdue=Count("id", filter=open_q & Q(follow_up_date__lt=today)),
        due=Count("id", filter=open_q & Q(follow_up_date__gte=today, follow_up_date__lte=soon)),
        later=Count("id", filter=open_q & Q(follow_up_date__gt=soon)),
    )
    for r in rows:
        _add(raw, "case_status", r["cas_Status"], r["n"])
        if r["cas_Status"] not in CLOSED_STATUSES:
            _add(raw, "open_by_owner", r["cas_CaseOwner_id"] or "", r["n"])
            _add(raw, "open_by_org", organisation_id, r["n"])
        _add(raw, "follow_ups", "overdue", r["overdue"])
        _add(raw, "follow_ups", "due", r["due"])
        _add(raw, "follow_ups", "later", r["later"])
    # 2. new and closed per month.
    for r in cases.annotate(m=YearMonth("cas_OpenedDate")).values("m").annotate(n=Count("id")):
        _add(raw, "new_per_month", r["m"], r["n"])
    closed = cases.filter(cas_ClosedDate__isnull=False).annotate(m=YearMonth("cas_ClosedDate"))
    for r in closed.values("m").annotate(n=Count("id")):
        _add(raw, "closed_per_month", r["m"], r["n"])
    # 3. referrals per month and direction.
    refs = _base(user, Referral, organisation_id)
    if filters.case_q("case__"):
        refs = refs.filter(filters.case_q("case__"))
    refs = refs.annotate(m=YearMonth(Coalesce("cas_IncomingReferralDate", "cas_OutgoingReferralDate", "created",
                                               output_field=DateField())))
    for r in refs.values("direction", "m").annotate(n=Count("id")):
        _add(raw, "referrals_" + ("in" if r["direction"] == "Incoming" else "out"), r["m"], r["n"])
    # 4. support plans due or overdue.
    plans = _base(user, SupportPlan, organisation_id)
    if filters.case_q("case__"):
        plans = plans.filter(filters.case_q("case__"))
    pending = Q(spl_ActualEndDate__isnull=True)
    agg = plans.aggregate(
        overdue=Count("id", filter=pending & Q(spl_PlannedEndDate__lt=today)),
        due=Count("id", filter=pending & Q(spl_PlannedEndDate__gte=today,
                                            spl_PlannedEndDate__lte=today + timedelta(days=PLAN_DUE_SOON_DAYS))),
        later=Count("id", filter=pending & Q(spl_PlannedEndDate__gt=today + timedelta(days=PLAN_DUE_SOON_DAYS))),
        undated=Count("id", filter=pending & Q(spl_PlannedEndDate__isnull=True)),
    )  # fmt: skip
    for k, v in agg.items():
        _add(raw, "plans_due", k, v or 0)
    # 5. days from intake to the first support plan: a histogram, so that percentiles add up across partners.
    firsts = cases.annotate(first=Min("support_plans__spl_StartDate")).filter(first__isnull=False)
    inner = firsts.values("cas_OpenedDate", "first")
    days = _days_between('t."first"', 't."cas_OpenedDate"')
    for d, n in _wrapped(inner, f"{days} AS d, COUNT(*)", "GROUP BY d"):
        _add(raw, "plan_days", max(int(d or 0), 0), n)
    # 6. the people assisted: victims' single-choice fields and age band, in one GROUP BY.
    victims = _base(user, CaseParticipant, organisation_id).filter(role__in=VICTIM_ROLES)
    if filters.case_q("case__"):
        victims = victims.filter(filters.case_q("case__"))
    cols = {k: F(v) for k, v in SINGLE_FIELDS.items()}
    grouped = victims.annotate(**{f"s_{k}": e for k, e in cols.items()}, s_age=_age_band())
    names = [f"s_{k}" for k in cols] + ["s_age"]
    for r in grouped.values(*names).annotate(n=Count("id")).order_by():
        raw.setdefault("people", {})
        _add(raw, "people", "total", r["n"])
        for k in cols:
            _add(raw, k, r[f"s_{k}"] or "", r["n"])
        _add(raw, "age_trafficked", r["s_age"] or "", r["n"])
    # 7. multi-select lists, one query.
    for fig, value, n in _multi_counts(victims):
        _add(raw, fig, value, n)
    # 8. countries of recruitment and exploitation (the place, else the location's country).
    rc = Coalesce(NullIf("vic_PlaceOfRecruitment__country", Value("")),
                  NullIf("vic_LocationOfRecruitment__org_ShippingCountry", Value("")), Value(""))  # fmt: skip
    ec = Coalesce(NullIf("vic_PlaceOfExploitation__country", Value("")),
                  NullIf("vic_LocationOfExploitation__org_ShippingCountry", Value("")), Value(""))  # fmt: skip
    for r in victims.annotate(rc=rc, ec=ec).values("rc", "ec").annotate(n=Count("id")).order_by():
        _add(raw, "country_recruitment", r["rc"], r["n"])
        _add(raw, "country_exploitation", r["ec"], r["n"])
    return raw


def counts(user: Any, organisation_ids: list[int], filters: Filters, today: date | None = None) -> Raw:
    """Counts summed over organisations (one for a tenant's own view, the partners for an operator's)."""
    total: dict[str, Counter[str]] = {}
    for org_id in organisation_ids:
        for fig, values in org_counts(user, org_id, filters, today).items():
            total.setdefault(fig, Counter()).update(values)
    return {fig: dict(c) for fig, c in total.items()}

