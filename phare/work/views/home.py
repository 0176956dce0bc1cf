"""Home: each role's day. Case workers and helpline operators see their own work; supervisors their team's;
analysts, auditors and admins the pages their work starts from. Every list has its count and a link to the
whole list; overdue is said in words, not only by colour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from phare import access
from phare.accounts.models import BreakGlassGrant, Role
from phare.accounts.permissions import MANAGE_CASES, READ_AUDIT, REVIEW_BREAK_GLASS, can
from phare.audit.log import record
from phare.audit.models import AuditEvent
from phare.cases.access import on_cases, owned_cases, sees_names, visible_cases
from phare.cases.consents import expiring
from phare.cases.forms import person_display
from phare.cases.models import Case, CaseStatus, Consent, Direction, Referral, SupportPlan
from phare.cases.views import LISTED_CASE_FIELDS, attach_people
from phare.core import lists
from phare.work.access import visible_approvals, visible_handovers, visible_tasks
from phare.work.models import ApprovalRequest, Handover, ServiceRequest

SHOWN = 8
SOON = 7  # days ahead a follow-up or task counts as due
PLANS_SOON = 14
OPEN = (CaseStatus.ACTIVE, CaseStatus.FOLLOW_UP)
# What an auditor looks at first: reads of people in bulk, exports, emergency access, erasure, keys, roles.
SENSITIVE = ("breakglass.", "export.", "person.erased", "person.exported", "case.erased", "keys.", "user.permissions",
             "user.mfa_reset", "signin.locked", "backup.", "legal_hold.", "organisation.security")  # fmt: skip


@dataclass
class Due:
    """One line of the due list: a task, a follow-up or a plan ending, on a case."""

    when: date
    what: str
    case: Case
    link: str
    overdue: bool


def _due_list(user: Any, mine: Any, today: date, shown: int = SHOWN) -> tuple[list[Due], int, int, bool]:
    """The user's tasks, follow-ups and plan ends due soon, soonest first (the first `shown`); with the number due
    and overdue, and whether a count stopped at lists.COUNT_CAP (a worker with 70,000 follow-ups past their date)."""
    horizon = today + timedelta(days=SOON)
    tasks = visible_tasks(user).filter(assignee=user, done_at__isnull=True, due__lte=horizon)
    follow = mine.filter(follow_up_date__isnull=False, follow_up_date__lte=horizon)
    plans = (access.scoped(user, SupportPlan).filter(on_cases(mine), spl_ActualEndDate__isnull=True,
                                                     spl_PlannedEndDate__lte=today + timedelta(days=PLANS_SOON)))  # fmt: skip
    consents = expiring(access.scoped(user, Consent).filter(on_cases(mine)), today + timedelta(days=PLANS_SOON))
    counts = {"due": 0, "overdue": 0}
    found: dict[str, int] = {}
    capped = False
    # Plans in the order of their index (plan_org_open_end), which holds each one's case before its id: rows of one
    # day are told apart by case, then id, which changes no count (they are all late or none is).
    plan_order = ("spl_PlannedEndDate", "case_id", "id")
    for qs, order in ((tasks, ("due", "id")), (follow, ("follow_up_date", "id")), (plans, plan_order),
                      (consents, ("con_ExpiryDate", "id"))):  # fmt: skip
        field = order[0]
        # Counted among the oldest COUNT_CAP + 1 only, so that the overdue come first and the count stays exact
        # below the cap.
        oldest = qs.order_by(*order).values("id", field)[: lists.COUNT_CAP + 1]
        got = oldest.aggregate(n=Count("id"), late=Count("id", filter=Q(**{f"{field}__lt": today})))
        n, more = lists.capped(got["n"])
        capped = capped or more
        counts["due"] += n
        counts["overdue"] += lists.capped(got["late"])[0]
        found[field] = got["n"]
    rows: list[Due] = []
    # Each list is read only when its count says it has rows: a page of queries saved on a quiet day.
    for t in tasks.select_related("case").order_by("due", "id")[:shown] if found["due"] else ():
        rows.append(Due(t.due, t.title, t.case, reverse("work:tasks") + f"#t-{t.uid}", t.due < today))
    for c in follow.order_by("follow_up_date", "id")[:shown] if found["follow_up_date"] else ():
        assert c.follow_up_date is not None
        rows.append(Due(c.follow_up_date, _("Follow-up"), c, reverse("cases:case", args=[c.number]),
                        c.follow_up_date < today))
    for p in plans.select_related("case").order_by(*plan_order)[:shown] if found["spl_PlannedEndDate"] else ():
        assert p.spl_PlannedEndDate is not None
        rows.append(Due(p.spl_PlannedEndDate, _("Support plan ends"), p.case,
                        reverse("cases:case", args=[p.case.number]) + "#plans", p.spl_PlannedEndDate < today))
    for k in consents.select_related("case").order_by("con_ExpiryDate", "id")[:shown] if found["con_ExpiryDate"] else ():
        assert k.con_ExpiryDate is not None
        rows.append(Due(k.con_ExpiryDate, _("Consent expires") if k.con_ExpiryDate >= today else _("Consent expired"),
                        k.case, reverse("cases:case", args=[k.case.number]) + "#consents", k.con_ExpiryDate < today))  # fmt: skip
    rows.sort(key=lambda d: (d.when, d.case.number))
    return rows[:shown], counts["due"], counts["overdue"], capped


def _worker(user: Any, today: date) -> dict[str, Any]:
    cases = visible_cases(user)
    mine = owned_cases(user).filter(cas_Status__in=OPEN)
    names = sees_names(user)
    open_cases = list(mine.select_related("primary_person").only(*LISTED_CASE_FIELDS).order_by("-cas_OpenedDate", "-id")[:SHOWN])
    attach_people(user, open_cases)
    due, due_count, overdue_count, due_capped = _due_list(user, mine, today)
    open_count, open_capped = lists.capped_count(mine)
    referrals = (access.scoped(user, Referral).filter(on_cases(mine), direction=Direction.INCOMING,
                                                      created__gte=timezone.now() - timedelta(days=14)))  # fmt: skip
    services = access.scoped(user, ServiceRequest).filter(to_user=user, done_at__isnull=True).filter(on_cases(cases))
    # Counted up to the cap as well: a busy helpline's workers receive hundreds of referrals a fortnight.
    referrals_count, referrals_capped = lists.capped_count(referrals)
    services_count, services_capped = lists.capped_count(services)
    waiting = visible_handovers(user).filter(to_user=user, state=Handover.State.PENDING)
    return {
        "open_cases": [(c, person_display(c.primary_person, names)) for c in open_cases],
        # Bounded like the case list's count: a worker with 500,000 open cases gets "1000+", not a count of them all.
        "open_count": open_count, "open_capped": open_capped,
        "due": due, "due_count": due_count, "overdue_count": overdue_count, "due_capped": due_capped,
        "handovers_in": list(waiting.select_related("case", "by").order_by("created")[:SHOWN]),
        "handovers_in_count": waiting.count(),
        "referrals": list(referrals.select_related("case").order_by("-created")[:SHOWN]),
        "referrals_count": referrals_count, "referrals_capped": referrals_capped,
        "services": list(services.select_related("case", "by").order_by("-created")[:SHOWN]),
        "services_count": services_count, "services_capped": services_capped,
    }  # fmt: skip


def _team(user: Any, today: date) -> dict[str, Any]:
    # Each member's overdue tasks and late follow-ups, counted up to the cap through their own index: a count of
    # every overdue item of the organisation read them all (26,000 at a million cases in the benchmark's data).
    tasks = visible_tasks(user).filter(assignee=OuterRef("pk"), done_at__isnull=True, due__lt=today)
    late = visible_cases(user).filter(cas_CaseOwner=OuterRef("pk"), cas_Status__in=OPEN, follow_up_date__lt=today)
    members = (access.scoped(user, get_user_model()).annotate(late_tasks=lists.CappedCount(tasks),
               late_follow_ups=lists.CappedCount(late)).values_list("username", "late_tasks", "late_follow_ups"))  # fmt: skip
    team = []
    for name, n_tasks, n_late in members:
        if n_tasks or n_late:
            (n_tasks, tasks_capped), (n_late, late_capped) = lists.capped(n_tasks), lists.capped(n_late)
            team.append({"name": name, "tasks": n_tasks, "tasks_capped": tasks_capped, "follow_ups": n_late,
                         "follow_ups_capped": late_capped})  # fmt: skip
    queue = visible_approvals(user).filter(state=ApprovalRequest.State.PENDING)
    handovers = visible_handovers(user).filter(state=Handover.State.PENDING)
    grants = access.scoped(user, BreakGlassGrant).filter(reviewed_by__isnull=True)
    return {
        "team": sorted(team, key=lambda w: (-(w["tasks"] + w["follow_ups"]), w["name"])),
        "approvals": list(queue.select_related("case", "requested_by").order_by("created")[:SHOWN]),
        "approvals_count": queue.count(),
        "handovers": list(handovers.select_related("case", "by", "to_user").order_by("created")[:SHOWN]),
        "handovers_count": handovers.count(),
        "grants_count": grants.count() if can(user, REVIEW_BREAK_GLASS) else None,
    }  # fmt: skip


def _auditor(user: Any) -> dict[str, Any]:
    sensitive = Q()
    for prefix in SENSITIVE:
        sensitive |= Q(action__startswith=prefix)
    events = access.scoped(user, AuditEvent).filter(sensitive).order_by("-id")
    grants = access.scoped(user, BreakGlassGrant).filter(reviewed_by__isnull=True)
    return {"events": list(events[:15]), "grants_count": grants.count()}


def _admin(user: Any) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    users = access.scoped(user, get_user_model())
    by_role = dict(users.filter(is_active=True).values_list("role").annotate(n=Count("id")).values_list("role", "n"))
    return {"users_active": sum(by_role.values()), "users_inactive": users.filter(is_active=False).count(),
            "by_role": [(Role(r).label, n) for r, n in sorted(by_role.items())],
            "require_mfa": bool(getattr(user.organisation, "require_mfa", False))}  # fmt: skip


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    today = timezone.localdate()
    role = getattr(user, "role", None)
    ctx: dict[str, Any] = {"today": today, "role": role}
    works = role in (Role.CASE_WORKER, Role.HELPLINE, Role.SUPERVISOR, Role.ADMIN)
    if works:
        work = _worker(user, today)
        # Supervisors and admins see their own lists only when something is in them; their team comes first.
        work["shown"] = role in (Role.CASE_WORKER, Role.HELPLINE) or any(
            work[k] for k in ("open_count", "due_count", "handovers_in_count", "referrals_count", "services_count"))
        ctx["work"] = work
    if can(user, MANAGE_CASES):
        ctx["team"] = _team(user, today)
    if role == Role.AUDITOR and can(user, READ_AUDIT):
        ctx["audit"] = _auditor(user)
    if role == Role.ADMIN:
        ctx["admin"] = _admin(user)
    if works and ctx["work"]["shown"] and sees_names(user) and (ctx["work"]["open_cases"] or ctx["work"]["due"]):
        shown = [c.number for c, _name in ctx["work"]["open_cases"]] + [d.case.number for d in ctx["work"]["due"]]
        record("home.viewed", actor=user, request=request, target_type="cases.case",
               detail={"cases": sorted(set(shown))})  # fmt: skip
    return render(request, "work/home.html", ctx)


DUE_SHOWN = 500


@login_required
def due_list(request: HttpRequest) -> HttpResponse:
    """The whole of the home page's "Due this week": tasks, follow-ups, plans ending and consents expiring on
    the user's open cases (the tasks page lists tasks only)."""
    from phare.cases.access import require_write

    user: Any = request.user
    require_write(user)
    today = timezone.localdate()
    mine = owned_cases(user).filter(cas_Status__in=OPEN)
    due, due_count, overdue_count, due_capped = _due_list(user, mine, today, shown=DUE_SHOWN)
    if due:  # task titles are free text about people: their reading is audited like the home page's
        record("due.viewed", actor=user, request=request, target_type="cases.case",
               detail={"cases": sorted({d.case.number for d in due})})  # fmt: skip
    return render(request, "work/due.html", {"due": due, "due_count": due_count, "overdue_count": overdue_count,
                                             "due_capped": due_capped})  # fmt: skip
