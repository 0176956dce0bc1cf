"""The dashboards' numbers: a handful of GROUP BY queries per organisation, returning plain counts keyed by
stored values (no labels, no personal data), so they can be cached, summed across a shared-service
operator's partners, and labelled later in the reader's language.

Every query starts from `phare.access.scoped_aggregate` for the user's own organisation, or, for an
operator's partner, from the partner's rows after `partner_ids` confirmed the partnership.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Case as When_
from django.db.models import CharField, Count, DateField, F, Func, Max, Min, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from phare import rls
from phare.access import scoped_aggregate
from phare.audit.models import AuditEvent
from phare.cases.ages import AGE_BANDS
from phare.cases.models import CLOSED_STATUSES, Case, CaseParticipant, Referral, SupportPlan
from phare.dashboards.models import DashboardSnapshot, ServicePartnership

VICTIM_ROLES = ("Victim", "PotentialVictim")
CACHE_SECONDS = 60
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
    programme: str = ""

    def key(self) -> str:
        return f"{self.start}|{self.end}|{self.status}|{self.owner}|{self.programme}"

    def to_payload(self) -> dict[str, Any]:
        return {"key": self.key(), "start": self.start.isoformat() if self.start else None,
                "end": self.end.isoformat() if self.end else None, "status": self.status, "owner": self.owner,
                "programme": self.programme}  # fmt: skip

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> Filters:
        start, end = p.get("start"), p.get("end")
        return cls(date.fromisoformat(start) if start else None, date.fromisoformat(end) if end else None,
                   str(p.get("status") or ""), p.get("owner"), str(p.get("programme") or ""))  # fmt: skip

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
        if self.programme:
            q &= Q(**{prefix + "programme": self.programme})
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
    if inner.query.is_empty():
        return []
    sql, params = inner.query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(f"SELECT {select} FROM ({sql}) t {tail}", params)
        return list(cur.fetchall())


def _multi_counts(victims: QuerySet[Any]) -> list[tuple[str, str, int]]:
    """(figure, value, people) for every JSON-list field, in one query over the victims."""
    if victims.query.is_empty():
        return []
    inner = victims.annotate(**{f"m_{k}": F(v) for k, v in MULTI_FIELDS.items()}).values(
        *[f"m_{k}" for k in MULTI_FIELDS]
    )
    sql, params = inner.query.sql_with_params()
    if connection.vendor == "postgresql":
        # One pass over the victims, each row's lists unnested side by side. A WITH read five times was written to a
        # temporary file first and read back five times: 2.4 times as long at 100,000 victims.
        lists = ", ".join(f"('{k}', t.m_{k}::jsonb)" for k in MULTI_FIELDS)
        query = (f"SELECT f.k, j.v, COUNT(*) FROM ({sql}) t CROSS JOIN LATERAL (VALUES {lists}) AS f(k, a) "
                 "CROSS JOIN LATERAL jsonb_array_elements_text(f.a) AS j(v) GROUP BY f.k, j.v")  # fmt: skip
    else:
        # (SQLite reads its WITH once per list, and that was faster than one pass through a CASE per list.)
        parts = [f"SELECT '{k}', j.value, COUNT(*) FROM t, json_each(t.m_{k}) j GROUP BY j.value" for k in MULTI_FIELDS]
        query = f"WITH t AS ({sql}) " + " UNION ALL ".join(parts)
    with connection.cursor() as cur:
        cur.execute(query, params)
        return [(str(a), str(b), int(c)) for a, b, c in cur.fetchall()]


# Audit actions that change no counted row: a snapshot taken before them is still up to date.
UNCHANGING_ACTIONS = (
    "signin", "signin.failed", "signin.locked", "signout", "mfa.failed", "audit.search", "case.viewed",
    "person.viewed", "person.exported", "user.created", "user.language_set", "user.mfa_reset", "api.token.create",
    "api.token.revoke", "export.aggregate", "export.cases", "export.ctdc", "export.synthetic", "backup.created",
    "retention.policy_set", "legal_hold.placed", "legal_hold.released", "import.rejected_rows_read",
    "import.viewed", "export.requested",
    # Reads of lists and records: without them every home page or case list opened made the snapshot stale and
    # queued a recount of the whole organisation (minutes of the worker's time at 1,000,000 cases).
    "case.list_viewed", "home.viewed", "task.list_viewed", "due.viewed", "case.printed", "case.participant.viewed",
    "case.assessment.viewed", "document.viewed", "access.requests_viewed", "referral.viewed", "referral.preview_viewed",
)  # fmt: skip
REFRESH_JOB = "dashboard.refresh"


@dataclass(frozen=True)
class Counted:
    raw: Raw
    as_of: datetime | None  # when a stored snapshot was counted; None when counted for this request
    refreshing: bool  # the figures may be behind: a recount is queued
    pending: bool = False  # no figures yet: the worker is counting them (`raw` is empty)


def data_mark(organisation_id: int) -> int:
    """Id of the organisation's latest audit event that may have changed what the dashboards count."""
    latest = (
        AuditEvent.objects.filter(organisation_id=organisation_id)
        .exclude(action__in=UNCHANGING_ACTIONS)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return int(latest or 0)


def stale_seconds() -> int:
    return int(getattr(settings, "PHARE_DASHBOARD_STALE_SECONDS", 900))


def org_counts(user: Any, organisation_id: int, filters: Filters, today: date | None = None) -> Raw:
    return org_counted(user, organisation_id, filters, today).raw


def org_counted(user: Any, organisation_id: int, filters: Filters, today: date | None = None,
                wait: bool = True) -> Counted:  # fmt: skip
    """Every dashboard count for one organisation.

    The user's own organisation is served from its stored snapshot when that is up to date; a snapshot made
    stale by a change (or by a new day, which moves the due dates) is still served while it is younger than
    PHARE_DASHBOARD_STALE_SECONDS, and a recount is queued for the worker; otherwise it is counted now, or, unless
    the caller must `wait` for the figures (a download, a report), handed to the worker when counting this
    organisation is slow (`_hand_to_worker`). A partner's counts are always counted now (they are aggregates the
    operator may not store as the partner), and everything is cached for a minute."""
    today = today or timezone.localdate()
    digest = hashlib.sha256(f"{organisation_id}|{filters.key()}|{today}|{connection.vendor}".encode()).hexdigest()
    key = f"phare:dash:v2:{digest[:32]}"
    hit = cache.get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    if organisation_id != getattr(user, "organisation_id", None):
        # Row-level security lets a request see its own organisation's rows only: once the partnership is
        # confirmed, act for the partner while counting its rows (and for nothing else).
        partner = organisation_id in partner_ids(getattr(user, "organisation_id", None))
        with rls.acting_for(organisation_id, role=rls.app_role()) if partner else nullcontext():
            raw = _compute(lambda m: _base(user, m, organisation_id), organisation_id, filters, today)
        counted = Counted(raw, None, False)
        cache.set(key, counted, CACHE_SECONDS)
        return counted
    if not _base(user, Case, organisation_id).query.is_empty():
        counted = _from_snapshot(user, organisation_id, filters, today, wait)
    else:
        counted = Counted({}, None, False)
    if not counted.refreshing:
        cache.set(key, counted, CACHE_SECONDS)
    return counted


def _from_snapshot(user: Any, organisation_id: int, filters: Filters, today: date, wait: bool = True) -> Counted:
    mark = data_mark(organisation_id)
    snap = DashboardSnapshot.objects.filter(organisation_id=organisation_id, key=filters.key()).first()
    if snap is not None and snap.mark == mark and snap.day == today:
        return Counted(snap.counts, snap.computed_at, False)
    if snap is not None and timezone.now() - snap.computed_at < timedelta(seconds=stale_seconds()):
        request_refresh(organisation_id, filters)
        return Counted(snap.counts, snap.computed_at, True)
    if not wait and _hand_to_worker(organisation_id, filters):
        return Counted({}, None, True, pending=True)
    raw = refresh(organisation_id, filters, today, rows=lambda m: _base(user, m, organisation_id), mark=mark)
    return Counted(raw, None, False)


# How long a count handed to the worker may wait for it before a page counts for itself (no worker is running).
WORKER_GRACE_SECONDS = 60
# The most counts of one organisation's new filters queued at once: past it, pages count for themselves, so that
# someone trying filter after filter holds a web process each time, as before, and never fills the worker's queue
# ahead of other work (an import, an export).
WORKER_COUNTS_MAX = 3


def _hand_to_worker(organisation_id: int, filters: Filters) -> bool:
    """Whether the worker counts these figures while the page says so, instead of the person waiting for them:
    when one of the organisation's counts of the last two days (the snapshots kept) took
    PHARE_DASHBOARD_INLINE_SECONDS or longer (5 to 12 s at a million cases, long enough for a proxy to give up on
    the page, with a web process held all that time). The slowest, not the latest: a narrow filter counts
    quickly, and says nothing of the next one. A count queued longer ago than WORKER_GRACE_SECONDS and still not
    taken means no worker runs: the page counts."""
    from phare.jobs import queue
    from phare.jobs.models import Job

    snapshots = DashboardSnapshot.objects.filter(organisation_id=organisation_id)
    took = snapshots.aggregate(slowest=Max("seconds"))["slowest"]
    if took is None or took < settings.PHARE_DASHBOARD_INLINE_SECONDS:
        return False
    payload = filters.to_payload()
    waiting = Job.objects.filter(kind=REFRESH_JOB, organisation_id=organisation_id,
                                 status__in=(Job.Status.QUEUED, Job.Status.RUNNING))  # fmt: skip
    mine = waiting.filter(payload__key=payload["key"])
    if mine.filter(status=Job.Status.RUNNING).exists():
        return True
    queued = mine.order_by("created").values_list("created", flat=True).first()
    if queued is None:
        if waiting.count() >= WORKER_COUNTS_MAX:
            return False
        queue.enqueue(REFRESH_JOB, payload, organisation=organisation_id, max_attempts=1)
        return True
    return timezone.now() - queued < timedelta(seconds=WORKER_GRACE_SECONDS)


def refresh(organisation_id: int, filters: Filters, today: date, rows: Callable[[type[Any]], QuerySet[Any]] | None = None,
            mark: int | None = None) -> Raw:  # fmt: skip
    """Count now and store the snapshot. `rows` defaults to the organisation's rows (the worker's path: the
    job names the organisation, and the worker is not a signed-in user)."""
    mark = data_mark(organisation_id) if mark is None else mark
    started = time.perf_counter()
    raw = _compute(rows or (lambda m: m._default_manager.filter(organisation_id=organisation_id)), organisation_id,
                   filters, today)  # fmt: skip
    now = timezone.now()
    values = {"day": today, "mark": mark, "computed_at": now, "seconds": time.perf_counter() - started, "counts": raw}
    try:
        with transaction.atomic():
            DashboardSnapshot.objects.update_or_create(organisation_id=organisation_id, key=filters.key(),
                                                       defaults=values)  # fmt: skip
            # Snapshots of filters nobody looked at for two days would only grow the table.
            DashboardSnapshot.objects.filter(organisation_id=organisation_id, computed_at__lt=now - timedelta(days=2)).delete()
    except IntegrityError:
        pass  # another request stored the same counts first
    return raw


def request_refresh(organisation_id: int, filters: Filters) -> None:
    """Queue a recount for the worker, unless one is already waiting for these filters."""
    from phare.jobs import queue
    from phare.jobs.models import Job

    payload = filters.to_payload()
    waiting = Job.objects.filter(kind=REFRESH_JOB, organisation_id=organisation_id, status=Job.Status.QUEUED,
                                 payload__key=payload["key"])  # fmt: skip
    if not waiting.exists():
        queue.enqueue(REFRESH_JOB, payload, organisation=organisation_id, max_attempts=1)


def _compute(source: Callable[[type[Any]], QuerySet[Any]], organisation_id: int, filters: Filters, today: date) -> Raw:
    if connection.vendor != "postgresql":
        return _counts(source, organisation_id, filters, today)
    # PostgreSQL's default 4 MB per sort made it group the victims by sorting them on disk (2.0 s at a million cases,
    # 1.2 s in memory). And without JIT compilation: it guesses a hundred list items per victim (jsonb_array_elements_text)
    # where there are a few, which puts the multi-select count past the costs at which it inlines and optimises
    # the compiled code, and compiling took longer than the count (at a million cases, 3.4 s of a 3.9 s query;
    # 2.6 s without). Only the counting gets these settings: a setting local to a savepoint would last to the end
    # of the request's transaction, so the ones before are set back (a rollback sets them back by itself).
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT current_setting('work_mem'), current_setting('jit'), set_config('work_mem', %s, true),"
                    " set_config('jit', 'off', true)", [f"{settings.PHARE_DASHBOARD_WORK_MEM_MB}MB"])  # fmt: skip
        before = cur.fetchone()[:2]
        raw = _counts(source, organisation_id, filters, today)
        cur.execute("SELECT set_config('work_mem', %s, true), set_config('jit', %s, true)", list(before))
    return raw


def _counts(source: Callable[[type[Any]], QuerySet[Any]], organisation_id: int, filters: Filters, today: date) -> Raw:
    raw: Raw = {}
    cases = source(Case).filter(filters.case_q())
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
    refs = source(Referral)
    if filters.case_q("case__"):
        refs = refs.filter(filters.case_q("case__"))
    refs = refs.annotate(m=YearMonth(Coalesce("cas_IncomingReferralDate", "cas_OutgoingReferralDate", "created",
                                               output_field=DateField())))
    for r in refs.values("direction", "m").annotate(n=Count("id")):
        _add(raw, "referrals_" + ("in" if r["direction"] == "Incoming" else "out"), r["m"], r["n"])
    # 4. support plans due or overdue.
    plans = source(SupportPlan)
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
    # From the plans that have a start (one join, the same rows as every case's first start, kept when it has
    # one): all the cases, each joined to its plans, took 520 ms at a million cases on PostgreSQL, this 14 ms.
    plans = cases.filter(support_plans__spl_StartDate__isnull=False)
    inner = (
        plans.values("id", "cas_OpenedDate")
        .annotate(first=Min("support_plans__spl_StartDate"))
        .values("cas_OpenedDate", "first")
    )
    days = _days_between('t."first"', 't."cas_OpenedDate"')
    for d, n in _wrapped(inner, f"{days} AS d, COUNT(*)", "GROUP BY d"):
        _add(raw, "plan_days", max(int(d or 0), 0), n)
    # 6. the people assisted: victims' single-choice fields and age band, in one GROUP BY.
    victims = source(CaseParticipant).filter(role__in=VICTIM_ROLES)
    if filters.case_q("case__"):
        victims = victims.filter(filters.case_q("case__"))
    cols = {k: F(v) for k, v in SINGLE_FIELDS.items()}
    grouped = victims.annotate(**{f"s_{k}": e for k, e in cols.items()}, s_age=_age_band(),
                               s_age_reg=F("age_band_at_registration"))  # fmt: skip
    names = [f"s_{k}" for k in cols] + ["s_age", "s_age_reg"]
    for r in grouped.values(*names).annotate(n=Count("id")).order_by():
        raw.setdefault("people", {})
        _add(raw, "people", "total", r["n"])
        for k in cols:
            _add(raw, k, r[f"s_{k}"] or "", r["n"])
        _add(raw, "age_trafficked", r["s_age"] or "", r["n"])
        _add(raw, "age_registration", r["s_age_reg"] or "", r["n"])
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
    return counted(user, organisation_ids, filters, today).raw


def counted(user: Any, organisation_ids: list[int], filters: Filters, today: date | None = None,
            wait: bool = True) -> Counted:  # fmt: skip
    total: dict[str, Counter[str]] = {}
    as_of: datetime | None = None
    refreshing = pending = False
    for org_id in organisation_ids:
        one = org_counted(user, org_id, filters, today, wait)
        for fig, values in one.raw.items():
            total.setdefault(fig, Counter()).update(values)
        if one.as_of is not None:
            as_of = one.as_of if as_of is None else min(as_of, one.as_of)
        refreshing = refreshing or one.refreshing
        pending = pending or one.pending
    if pending:  # (a sum without one organisation's figures would be wrong, not partial)
        return Counted({}, None, True, pending=True)
    return Counted({fig: dict(c) for fig, c in total.items()}, as_of, refreshing)

