"""What each user sees of the work around cases. Every page, the API and the digest read tasks, approvals,
hand-overs and notifications through these functions, which follow `phare.cases.access.visible_cases`: a
task or a notification about a case its reader may not open is not shown, counted or mailed.

The exceptions are by design: a hand-over waiting for its receiver shows the receiver the case number and
the sender's reason (never the person), because deciding whether to accept is what it is for; and a hand-over
shows the case's previous owner the same, to tell them where their case went.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from phare import access
from phare.access import reads_personal
from phare.accounts.models import RestrictedAccess, Role
from phare.cases.access import can_manage, every_case_org, on_cases, sees_every_case, visible_cases
from phare.cases.models import Case, CaseAssignment
from phare.core.prepared import Prepared, PreparedObjects
from phare.work.models import ApprovalRequest, CaseFlag, Handover, Kind, Notification, SavedSearch, ServiceRequest, Task

# Roles that may be given a case's work: they write cases and read the person.
WORKING_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.CASE_WORKER, Role.HELPLINE)


def _on_visible_cases(user: Any, qs: QuerySet[Any]) -> QuerySet[Any]:
    if not reads_personal(user):
        return qs.none()
    if sees_every_case(user):
        # Every case of the organisation is theirs to see, and `qs` is already scoped to it (a row's case is in
        # its own organisation: tests/test_sharding.py): checking each row's case only cost PostgreSQL a scan of
        # every case (60 ms at 200,000 for the supervisor's team card).
        return qs
    return qs.filter(on_cases(visible_cases(user)))


def visible_tasks(user: Any) -> QuerySet[Task]:
    """Tasks on the cases the user may open (their free text is personal: no task for roles that never read it)."""
    return _on_visible_cases(user, access.scoped(user, Task))


def get_task(user: Any, uid: Any) -> Task:
    try:
        return visible_tasks(user).select_related("case", "assignee").get(uid=uid)
    except (Task.DoesNotExist, ValueError, ValidationError):
        raise Http404("Not found") from None


def my_notifications(user: Any) -> QuerySet[Notification]:
    """The user's own notifications, less those about a case they can no longer open, and offers of a
    hand-over that is no longer theirs to read (declined or cancelled: its link would lead nowhere)."""
    own = access.scoped(user, Notification).filter(recipient_id=getattr(user, "pk", None) or 0)
    offers = ~Q(kind=Kind.HANDOVER_OFFERED) | Q(subject_uid__in=visible_handovers(user).values("uid"))
    return own.filter(Q(case__isnull=True) | on_cases(visible_cases(user))).filter(offers)


_ANY_UNREAD = Prepared(lambda org_id, user_id: Notification.objects.filter(
    organisation_id=org_id, recipient_id=user_id, read_at__isnull=True).order_by().values_list("pk")[:1], int, int)


def _member(user: Any) -> tuple[int, int] | None:
    """(organisation id, user id) of an active user of an organisation, with tenant filtering on: what the queries
    built once per process for a user's own rows name. None for anyone else, who goes the ORM's way."""
    org_id, user_id = getattr(user, "organisation_id", None), getattr(user, "pk", None)
    if (access.ENFORCE_TENANT_FILTER and isinstance(org_id, int) and isinstance(user_id, int)
            and getattr(user, "is_active", True)):  # fmt: skip
        return org_id, user_id
    return None


def unread_count(user: Any) -> int:
    # The bell is on every page, and most of the time its reader has nothing unread at all: a plain look at their
    # own unread rows answers that. Only when there are some does the full query (its subqueries took longer to
    # build than any other query of a list page) count those they may still read.
    member = _member(user)
    if member is not None:
        # The query below for a user of an organisation, the same on every page: built once (phare.core.prepared).
        if not _ANY_UNREAD.rows(*member):
            return 0
    elif not access.scoped(user, Notification).filter(recipient_id=getattr(user, "pk", None) or 0,
                                                      read_at__isnull=True).exists():  # fmt: skip
        return 0
    return my_notifications(user).filter(read_at__isnull=True).count()


def visible_approvals(user: Any) -> QuerySet[ApprovalRequest]:
    """Supervisors and admins: the organisation's requests; others: their own, on cases they may open."""
    qs = _on_visible_cases(user, access.scoped(user, ApprovalRequest))
    if can_manage(user):
        return qs
    return qs.filter(requested_by_id=getattr(user, "pk", None) or 0)


def get_approval(user: Any, uid: Any) -> ApprovalRequest:
    try:
        return visible_approvals(user).select_related("case", "requested_by").get(uid=uid)
    except (ApprovalRequest.DoesNotExist, ValueError, ValidationError):
        raise Http404("Not found") from None


def visible_handovers(user: Any) -> QuerySet[Handover]:
    """Hand-overs waiting for the user to decide (whether or not they may open the case yet), those of cases
    the user owned (what became of them, once they can no longer open the case), and those on cases they may
    open (supervisors: the organisation's). An offer the receiver declined, or its sender cancelled, is no
    longer the receiver's to read."""
    qs = access.scoped(user, Handover)
    if not reads_personal(user):
        return qs.none()
    me = getattr(user, "pk", None) or 0
    offered = Q(to_user_id=me, state=Handover.State.PENDING)
    return qs.filter(offered | Q(from_user_id=me) | on_cases(visible_cases(user)))


def get_handover(user: Any, uid: Any) -> Handover:
    try:
        return visible_handovers(user).select_related("case", "from_user", "to_user").get(uid=uid)
    except (Handover.DoesNotExist, ValueError, ValidationError):
        raise Http404("Not found") from None


def visible_service_requests(user: Any) -> QuerySet[ServiceRequest]:
    return _on_visible_cases(user, access.scoped(user, ServiceRequest))


def may_work(user: Any, case: Case) -> bool:
    """Whether `user` may be given work on `case`: an active colleague in a working role who can open it."""
    if user is None or not getattr(user, "is_active", False) or user.organisation_id != case.organisation_id:
        return False
    if getattr(user, "role", None) not in WORKING_ROLES:
        return False
    return visible_cases(user).filter(pk=case.pk).exists()


def workers_for(case: Case) -> QuerySet[Any]:
    """The colleagues who may work `case` (pickers for a task's assignee): supervisors and admins, the owner,
    the assigned workers and those named on a restricted case. The same rule as `may_work`, in one query."""
    users = get_user_model().objects.filter(organisation_id=case.organisation_id, is_active=True,
                                            role__in=WORKING_ROLES)  # fmt: skip
    assigned = CaseAssignment.objects.filter(case=case).values("user_id")
    named = RestrictedAccess.objects.filter(organisation_id=case.organisation_id, target_type="cases.case",
                                            target_uid=case.uid).values("user_id")  # fmt: skip
    mine = Q(role__in=(Role.ADMIN, Role.SUPERVISOR)) | Q(pk=case.cas_CaseOwner_id or 0) | Q(pk__in=assigned)
    return users.filter(mine | Q(pk__in=named)).order_by("username")


def receivers_for(case: Case) -> QuerySet[Any]:
    """Colleagues a case may be handed to: active users whose role works cases, other than its owner."""
    return (get_user_model().objects.filter(organisation_id=case.organisation_id, is_active=True,
                                            role__in=WORKING_ROLES)
            .exclude(pk=case.cas_CaseOwner_id or 0).order_by("username"))  # fmt: skip


def attention_case_ids(user: Any, what: str) -> Any:
    """Ids of the user's visible cases that need attention (a subquery for the case list's quick filters):
    `overdue` (a follow-up past its date, or an open task past its due date) or `approval` (a request
    waiting for a supervisor)."""
    from django.utils import timezone

    today = timezone.localdate()
    cases = visible_cases(user)
    if what == "overdue":
        late_tasks = visible_tasks(user).filter(done_at__isnull=True, due__lt=today).values("case_id")
        return cases.filter(Q(follow_up_date__lt=today) | Q(id__in=late_tasks)).values("id")
    if what == "approval":
        return visible_approvals(user).filter(state=ApprovalRequest.State.PENDING).values("case_id")
    if what == "flagged":
        return visible_flags(user).filter(cleared_at__isnull=True).values("case_id")
    return cases.none().values("id")


# The case list's and the case page's reads of a page of cases (at most PAGE ids), for a reader who sees every
# case of the organisation: built once per process (phare.core.prepared), the ids padded with the last one, which
# changes no answer. tests/test_prepared.py compares them with the queries below them.
PAGE = 25


def _padded(case_ids: list[int]) -> list[int]:
    return case_ids + case_ids[-1:] * (PAGE - len(case_ids))


def _every_case_org(user: Any, case_ids: list[int]) -> int | None:
    """The organisation whose prepared page reads answer for `user` (who reads every case and its work), else None."""
    if not 0 < len(case_ids) <= PAGE or not all(isinstance(i, int) for i in case_ids):
        return None
    org_id = every_case_org(user)
    return org_id if org_id is not None and reads_personal(user) else None


def _next_due(tasks: QuerySet[Task], case_ids: Any) -> QuerySet[Any]:
    from django.db.models import Min

    return (tasks.filter(case_id__in=case_ids, done_at__isnull=True).values("case_id")
            .annotate(d=Min("due")).values_list("case_id", "d"))  # fmt: skip


def _open_flags(flags: QuerySet[CaseFlag], case_ids: Any) -> QuerySet[Any]:
    return flags.filter(case_id__in=case_ids, cleared_at__isnull=True).order_by("kind").values_list(
        "case_id", "kind").distinct()  # fmt: skip


_EVERY_CASE_NEXT_DUE = Prepared(lambda org_id, *ids: _next_due(Task._default_manager.filter(organisation_id=org_id), ids),
                                int, *[int] * PAGE)  # fmt: skip
_EVERY_CASE_OPEN_FLAGS = Prepared(
    lambda org_id, *ids: _open_flags(CaseFlag._default_manager.filter(organisation_id=org_id), ids), int, *[int] * PAGE)


def next_due(user: Any, case_ids: list[int]) -> dict[int, Any]:
    """The earliest open task due date per case, among the tasks the user may see (one query for a page)."""
    org_id = _every_case_org(user, case_ids)
    if org_id is not None:
        return dict(_EVERY_CASE_NEXT_DUE.rows(org_id, *_padded(case_ids)))
    return dict(_next_due(visible_tasks(user), case_ids))


def visible_flags(user: Any) -> QuerySet[CaseFlag]:
    """Flags on the cases the user may open (their reasons are free text: none for roles that never read it)."""
    return _on_visible_cases(user, access.scoped(user, CaseFlag))


def get_flag(user: Any, uid: Any) -> CaseFlag:
    try:
        return visible_flags(user).select_related("case").get(uid=uid)
    except (CaseFlag.DoesNotExist, ValueError, ValidationError):
        raise Http404("Not found") from None


def open_flags(user: Any, case_ids: list[int]) -> dict[int, list[str]]:
    """The open flags' labels per case, for a page of the case list (one query)."""
    from phare.work.models import FlagKind

    org_id = _every_case_org(user, case_ids)
    if org_id is not None:
        rows = _EVERY_CASE_OPEN_FLAGS.rows(org_id, *_padded(case_ids))
    else:
        rows = list(_open_flags(visible_flags(user), case_ids))
    out: dict[int, list[str]] = {}
    for case_id, kind in rows:
        out.setdefault(case_id, []).append(str(FlagKind(kind).label) if kind in FlagKind.values else kind)
    return out


def my_searches(user: Any) -> QuerySet[SavedSearch]:
    return access.scoped(user, SavedSearch).filter(user_id=getattr(user, "pk", None) or 0).order_by("name")


_MY_SEARCHES = PreparedObjects(lambda org_id, user_id: SavedSearch._default_manager.filter(
    organisation_id=org_id).filter(user_id=user_id).order_by("name"), int, int)  # fmt: skip


def saved_searches(user: Any) -> list[SavedSearch]:
    """`my_searches` as the case list shows them on every page: for a signed-in user of an organisation, the query
    built once per process (phare.core.prepared)."""
    member = _member(user)
    if member is not None:
        found: list[SavedSearch] = _MY_SEARCHES.objects(*member)
        return found
    return list(my_searches(user))


# The case page's work panel (phare.work.templatetags.work): a case's tasks, approval requests and open flags. For a
# reader who sees every case and may decide requests, each query is built once per process (tests/test_prepared.py
# compares them with the ORM's).
def _case_tasks(tasks: QuerySet[Task], case_id: int) -> QuerySet[Task]:
    return tasks.filter(case_id=case_id).select_related("assignee").order_by("done_at", "due", "id")[:50]


def _case_approvals(approvals: QuerySet[ApprovalRequest], case_id: int) -> QuerySet[ApprovalRequest]:
    return approvals.filter(case_id=case_id).select_related("requested_by", "decided_by").order_by("-created")[:20]


def _case_flags(flags: QuerySet[CaseFlag], case_id: int) -> QuerySet[CaseFlag]:
    return flags.filter(case_id=case_id, cleared_at__isnull=True).select_related("set_by").order_by("created")


_EVERY_CASE_TASKS = PreparedObjects(
    lambda org_id, case_id: _case_tasks(Task._default_manager.filter(organisation_id=org_id), case_id), int, int)
_EVERY_CASE_APPROVALS = PreparedObjects(
    lambda org_id, case_id: _case_approvals(ApprovalRequest._default_manager.filter(organisation_id=org_id), case_id),
    int, int)  # fmt: skip
_EVERY_CASE_FLAGS = PreparedObjects(
    lambda org_id, case_id: _case_flags(CaseFlag._default_manager.filter(organisation_id=org_id), case_id), int, int)


def case_work(user: Any, case_id: int) -> tuple[list[Task], list[ApprovalRequest], list[CaseFlag]]:
    """The tasks (at most 50), approval requests (the latest 20) and open flags of one case that `user` may see."""
    org_id = _every_case_org(user, [case_id])
    if org_id is not None and can_manage(user):
        return (_EVERY_CASE_TASKS.objects(org_id, case_id), _EVERY_CASE_APPROVALS.objects(org_id, case_id),
                _EVERY_CASE_FLAGS.objects(org_id, case_id))  # fmt: skip
    return (list(_case_tasks(visible_tasks(user), case_id)), list(_case_approvals(visible_approvals(user), case_id)),
            list(_case_flags(visible_flags(user), case_id)))  # fmt: skip
