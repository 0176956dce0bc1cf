"""The audit log in words for the audit page: what happened ("viewed case 2024-000076"), who did it (by name), to
which record (a case by its number, a user by name) and the details as labelled fields, in the reader's language.

The log itself keeps its stable codes (`AuditEvent.action`); only the page translates them. An action this table
does not know yet is shown by its code, never hidden.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.formats import localize
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext, gettext_lazy

from htcds import codelists
from phare.audit.models import AuditEvent

_ = gettext_lazy

# What happened, as a phrase; %(record)s is the record's label ("case 2024-000076", "user jonas").
ACTIONS: dict[str, Promise] = {
    "signin": _("signed in"),
    "signout": _("signed out"),
    "signin.failed": _("failed to sign in as %(record)s"),
    "signin.locked": _("was refused sign-in as %(record)s (too many attempts)"),
    "mfa.verified": _("passed two-step sign-in"),
    "mfa.recovery_code_used": _("passed two-step sign-in with a recovery code"),
    "mfa.enrolled": _("set up an authenticator for two-step sign-in"),
    "mfa.failed": _("typed a wrong two-step sign-in code"),
    "mfa.enrolment_code_accepted": _("typed a valid enrolment code"),
    "user.created": _("created the account of %(record)s"),
    "user.permissions_changed": _("changed the account of %(record)s"),
    "user.deactivated": _("deactivated the account of %(record)s"),
    "user.reactivated": _("reactivated the account of %(record)s"),
    "user.mfa_reset": _("reset the two-step sign-in of %(record)s"),
    "user.enrolment_code_issued": _("gave an enrolment code to %(record)s"),
    "user.password_changed": _("changed their password"),
    "user.password_change_failed": _("typed a wrong current password when changing their password"),
    "user.language_set": _("changed their language"),
    "organisation.security_changed": _("changed the organisation's security settings"),
    "audit.search": _("searched the audit log"),
    "audit.chain_started": _("started an organisation's own audit chain"),
    "home.viewed": _("opened the home page"),
    "due.viewed": _("viewed everything due"),
    "case.list_viewed": _("viewed the case list"),
    "case.viewed": _("viewed %(record)s"),
    "case.open": _("opened %(record)s"),
    "case.update": _("updated %(record)s"),
    "case.assign": _("assigned %(record)s"),
    "case.reassign": _("reassigned %(record)s"),
    "case.close": _("closed %(record)s"),
    "case.reopen": _("reopened %(record)s"),
    "case.follow_up": _("set %(record)s to follow-up"),
    "case.programme_set": _("set the programme of %(record)s"),
    "case.comment.add": _("commented on %(record)s"),
    "case.consent.record": _("recorded consent in %(record)s"),
    "case.consent.withdraw": _("recorded a withdrawal of consent in %(record)s"),
    "case.assessment.record": _("recorded an assessment in %(record)s"),
    "case.assessment.viewed": _("viewed an assessment in %(record)s"),
    "case.participant.add": _("added a person to %(record)s"),
    "case.participant.update": _("updated a person in %(record)s"),
    "case.participant.viewed": _("viewed a person in %(record)s"),
    "case.referral.send": _("sent a referral from %(record)s"),
    "case.referral.receive": _("received a referral into %(record)s"),
    "case.referral.update": _("updated a referral in %(record)s"),
    "case.referral.viewed": _("viewed a referral in %(record)s"),
    "case.event.add": _("added an event to %(record)s"),
    "case.event.update": _("updated an event in %(record)s"),
    "case.event.viewed": _("viewed an event in %(record)s"),
    "case.support_plan.add": _("added a support plan to %(record)s"),
    "case.support_plan.update": _("updated a support plan in %(record)s"),
    "case.supportplan.viewed": _("viewed a support plan in %(record)s"),
    "case.anonymised": _("anonymised %(record)s"),
    "case.erased": _("erased %(record)s"),
    "person.create": _("recorded a new person"),
    "person.update": _("updated a person's details"),
    "person.viewed": _("viewed %(record)s"),
    "person.view": _("viewed %(record)s"),
    "person.lookup": _("looked a person up"),
    "person.exported": _("exported everything held on %(record)s"),
    "person.erased": _("erased %(record)s"),
    "access.requested": _("asked for access to %(record)s"),
    "access.granted": _("granted access to %(record)s"),
    "access.declined": _("declined access to %(record)s"),
    "access.requests_viewed": _("viewed the access requests"),
    "breakglass.granted": _("opened %(record)s with break-glass"),
    "breakglass.reviewed": _("reviewed a break-glass opening of %(record)s"),
    "import.upload": _("uploaded a file to import"),
    "import.confirm": _("confirmed an import"),
    "import.discard": _("discarded an uploaded file"),
    "import.run": _("ran an import"),
    "import.batch": _("imported a batch of rows"),
    "import.viewed": _("viewed an import's report"),
    "import.rejected_rows_read": _("downloaded an import's rejected rows"),
    "import.mapping_saved": _("saved a column mapping"),
    "export.cases": _("exported cases"),
    "export.requested": _("asked for an export of cases"),
    "export.aggregate": _("downloaded dashboard figures"),
    "export.ctdc": _("exported a de-identified CTDC file"),
    "export.synthetic": _("exported a synthetic dataset"),
    "api.token.create": _("created an API token"),
    "api.token.revoke": _("revoked an API token"),
    "api.case.list": _("listed cases through the API"),
    "api.case.read": _("read %(record)s through the API"),
    "api.case.bundle": _("downloaded %(record)s through the API"),
    "api.person.list": _("listed people through the API"),
    "api.person.read": _("read %(record)s through the API"),
    "directory.add": _("added an organisation to the referral directory"),
    "retention.policy_set": _("changed a retention schedule"),
    "retention.run": _("ran the retention schedules"),
    "legal_hold.placed": _("placed a legal hold on %(record)s"),
    "legal_hold.released": _("released a legal hold on %(record)s"),
    "backup.created": _("made a backup"),
    "backup.restored": _("restored a backup"),
    "keys.master_rotation": _("changed the master key"),
    "keys.org_rotated": _("changed the organisation's encryption keys"),
    "demo.generate": _("generated demo cases"),
    "sharing.budget": _("changed the organisation's privacy budget"),
    "sharing.research_dataset": _("added a research dataset"),
    "api.task.list": _("listed tasks through the API"),
    "api.contact.list": _("listed helpline contacts through the API"),
    "api.contact.read": _("read a helpline contact through the API"),
    "approval.request": _("asked for approval in %(record)s"),
    "approval.approve": _("approved a request in %(record)s"),
    "approval.return": _("sent a request back in %(record)s"),
    "approval.withdraw": _("withdrew a request in %(record)s"),
    "case.deleted": _("deleted %(record)s"),
    "case.printed": _("printed %(record)s"),
    "document.uploaded": _("added a document to %(record)s"),
    "document.viewed": _("opened a document in %(record)s"),
    "document.deleted": _("deleted a document from %(record)s"),
    "handover.offer": _("offered to hand over %(record)s"),
    "handover.accept": _("accepted the hand-over of %(record)s"),
    "handover.decline": _("declined the hand-over of %(record)s"),
    "handover.cancel": _("cancelled the hand-over of %(record)s"),
    "handover.done": _("handed over %(record)s"),
    "service.request": _("asked a colleague for a service in %(record)s"),
    "notification.read": _("read a notification"),
    "notify.digest": _("sent the daily digests"),
    "notify.overdue": _("sent reminders of overdue tasks"),
    "notify.consent_expiring": _("reminded case owners of consents about to expire"),
    "person.merged": _("merged two records of the same person"),
    "referral.consent.record": _("recorded consent to a referral in %(record)s"),
    "referral.directory.update": _("updated the referral directory"),
    "referral.keys.rotate": _("changed the keys for referral packages"),
    "referral.package.pack": _("packed a referral for a partner"),
    "referral.package.open": _("opened a referral package from a partner"),
    "referral.package.dry_run": _("checked a referral package before opening it"),
    "referral.package.refused": _("had a referral package refused"),
    "referral.package.acknowledge": _("acknowledged a referral package"),
    "referral.partner.trust": _("trusted a partner organisation's key"),
    "referral.preview_viewed": _("previewed a referral in %(record)s"),
    "referral.viewed": _("viewed a referral in %(record)s"),
    "task.create": _("created a task"),
    "task.update": _("updated a task"),
    "task.complete": _("completed a task"),
    "task.reopen": _("reopened a task"),
    "task.list_viewed": _("viewed the task list"),
    "work.settings_changed": _("changed the organisation's work settings"),
    "case.flag": _("flagged %(record)s"),
    "case.flag_clear": _("cleared a flag on %(record)s"),
    "search.save": _("saved a search of the case list"),
    "search.delete": _("deleted a saved search"),
    "contact.record": _("recorded a helpline contact"),
    "contact.update": _("updated a helpline contact"),
    "contact.lookup": _("looked up a caller"),
    "contact.case_opened": _("opened a case from a helpline contact"),
    "contact.linked": _("linked a helpline contact to a case"),
    "contact.report_form_changed": _("changed the public report form"),
    "helpline_service.add": _("added a service to the directory"),
    "helpline_service.update": _("updated a service in the directory"),
    "organisation.create": _("created the organisation and its first administrator"),
}

# The audit page's "what" filter: a family of actions each (the value is the code prefix the search matches).
FAMILIES: list[tuple[str, Promise]] = [
    ("signin", _("Sign-ins and sign-outs")),
    ("mfa.", _("Two-step sign-in")),
    ("user.", _("User accounts")),
    ("case.", _("Cases")),
    ("person.", _("People")),
    ("access.", _("Access requests")),
    ("breakglass.", _("Break-glass")),
    ("import.", _("Imports")),
    ("export.", _("Exports")),
    ("api.", _("API")),
    ("audit.", _("Audit log searches")),
    ("retention.", _("Retention")),
    ("legal_hold.", _("Legal holds")),
    ("organisation.", _("Organisation settings")),
    ("backup.", _("Backups")),
    ("keys.", _("Encryption keys")),
    ("sharing.", _("Safe sharing")),
    ("task.", _("Tasks")),
    ("approval.", _("Approvals")),
    ("handover.", _("Hand-overs")),
    ("document.", _("Documents")),
    ("referral.", _("Referrals")),
    ("notif", _("Notifications")),
    ("contact.", _("Helpline contacts")),
    ("helpline_service.", _("Services directory")),
]

# Labels of the detail fields (the keys events write in `detail`).
DETAIL_LABELS: dict[str, Promise] = {
    "username": _("Name typed"),
    "reason": _("Reason"),
    "step": _("Step"),
    "before": _("Before"),
    "after": _("After"),
    "role": _("Role"),
    "is_active": _("Active"),
    "password_reset": _("Password reset"),
    "had_device": _("Had an authenticator"),
    "require_mfa": _("Second factor required for every role"),
    "via": _("Through"),
    "case": _("Case"),
    "user": _("User"),
    "action": _("What"),
    "target": _("Record"),
    "since": _("Since"),
    "until": _("Until"),
    "viewed_only": _("Only reads"),
    "count": _("Number"),
    "rows": _("Rows"),
    "format": _("Format"),
    "filter": _("Filter"),
    "filters": _("Filters"),
    "fields": _("Fields"),
    "hours": _("Hours"),
    "note": _("Note"),
    "revoked": _("Revoked"),
    "revoke": _("Revoked"),
    "language": _("Language"),
    "status": _("Status"),
    "mode": _("Mode"),
    "dry_run": _("Check only"),
    "k": _("k (smallest group size)"),
    "epsilon": _("ε (privacy budget)"),
    "job": _("Job"),
    "scopes": _("Scopes"),
    "name": _("Name"),
    "cases_created": _("Cases created"),
    "cases_total": _("Cases in all"),
    "seed": _("Seed"),
    "cases": _("Cases"),
    "page": _("Page"),
    "search": _("Search"),
    "file": _("File"),
    "to": _("To"),
    "from": _("From"),
    "request": _("Request"),
    "records": _("Records"),
    "persons": _("People"),
    "person": _("Person"),
    "persons_shredded": _("People erased"),
    "documents_deleted": _("Documents deleted"),
    "hold": _("Legal hold"),
    "years": _("Years"),
    "withheld": _("Withheld"),
    "shown": _("Shown"),
    "tables": _("Tables"),
    "requester": _("Asked by"),
    "owner": _("Owner"),
    "owner_from": _("Owner before"),
    "owner_to": _("Owner after"),
    "override_reason": _("Reason for overriding"),
    "new": _("New"),
    "mapping": _("Mapping"),
    "expires_at": _("Expires"),
    "dry_run_job": _("Check"),
    "days": _("Days"),
    "created": _("Created"),
    "attributes": _("Attributes"),
    "active": _("Active"),
    "answered": _("Answered"),
    "status_from": _("Status before"),
    "to_tenant": _("To organisation"),
    "demo": _("Demo"),
    "total_epsilon": _("Total ε"),
    "total_delta": _("Total δ"),
    "source": _("Source"),
    "problems": _("Problems"),
    "service": _("Service"),
    "sent": _("Sent"),
    "tasks": _("Tasks"),
    "partner": _("Partner"),
    "fingerprint": _("Key fingerprint"),
    "package": _("Package"),
    "code": _("Code"),
    "old": _("Previous"),
    "admin": _("Administrator"),
    "break_glass": _("Emergency access"),
    "contacts": _("Contacts"),
    "delta": _("δ"),
    "rho": _("ρ"),  # noqa: RUF001 (the Greek letter of the privacy cost, as the sharing page shows it)
    "dropped": _("Left out of the file"),
    "enabled": _("Switched on"),
    "first_row": _("First row"),
    "for": _("For"),
    "form": _("Public report form"),
    "grant": _("Access granted"),
    "kind": _("Kind"),
    "names_shown": _("Names shown"),
    "organisations_added": _("Organisations added"),
    "organisations_matched": _("Organisations matched"),
    "parts": _("Parts"),
    "recipient": _("Recipient"),
    "reference": _("Reference"),
    "referral": _("Referral"),
    "size": _("Size"),
    "slug": _("Short name"),
    "type": _("Type"),
}

VALUE_WORDS: dict[str, Promise] = {
    "api": _("the API"),
    "mfa": _("second factor"),
    "enrol": _("setting up an authenticator"),
    "enrolment_code": _("enrolment code"),
    "password_change": _("changing the password"),
    "account": _("too many attempts on this account"),
    "address": _("too many attempts from this address"),
}

RECORD_KINDS: dict[str, Promise] = {
    "cases.case": _("case %(name)s"),
    "accounts.user": _("user %(name)s"),
    "cases.person": _("a person"),
    "accounts.organisation": _("the organisation"),
    "jobs.job": _("job %(name)s"),
    "api.apitoken": _("API token %(name)s"),
}


@dataclass
class Line:
    """One event as the audit page shows it."""

    event: AuditEvent
    who: str
    who_username: str
    what: str
    record: str
    record_id: str
    details: list[tuple[str, str]] = field(default_factory=list)


def describe(events: Iterable[AuditEvent]) -> list[Line]:
    """The events in words, resolving cases to their numbers and users to their names in a few queries."""
    from phare.accounts.models import User
    from phare.cases.models import Case

    rows = list(events)
    case_uids = {e.target_id for e in rows if e.target_type == "cases.case"}
    user_ids = {e.target_id for e in rows if e.target_type == "accounts.user" and e.target_id.isdigit()}
    user_ids |= {str(e.actor_id) for e in rows if e.actor_id}
    numbers: dict[str, str] = {}
    if case_uids:
        numbers = {str(uid): n for uid, n in Case.objects.filter(uid__in=_uuids(case_uids)).values_list("uid", "number")}
    people: dict[str, tuple[str, str]] = {}
    if user_ids:
        for pk, username, first, last in User.objects.filter(pk__in=[int(i) for i in user_ids]).values_list(
            "pk", "username", "first_name", "last_name"
        ):
            people[str(pk)] = (f"{first} {last}".strip() or username, username)
    return [_line(e, numbers, people) for e in rows]


def _uuids(values: set[str]) -> list[str]:
    from uuid import UUID

    out = []
    for v in values:
        try:
            out.append(str(UUID(v)))
        except ValueError:
            continue
    return out


def _line(e: AuditEvent, numbers: dict[str, str], people: dict[str, tuple[str, str]]) -> Line:
    who, username = people.get(str(e.actor_id), (e.actor_name, e.actor_name)) if e.actor_id else (e.actor_name, "")
    if not who:
        who = gettext("the system")
    record = _record(e, numbers, people)
    phrase = ACTIONS.get(e.action)
    if phrase is None:
        what = e.action + (f" ({record})" if record else "")
    else:
        what = str(phrase) % {"record": record or gettext("a record")}
    return Line(event=e, who=who, who_username=username, what=what, record=record, record_id=e.target_id,
                details=_details(e.detail, e.action))  # fmt: skip


def _record(e: AuditEvent, numbers: dict[str, str], people: dict[str, tuple[str, str]]) -> str:
    detail = e.detail if isinstance(e.detail, dict) else {}
    if e.target_type == "cases.case":
        name = numbers.get(e.target_id) or str(detail.get("case") or "") or e.target_id
        return str(RECORD_KINDS["cases.case"]) % {"name": name}
    if e.target_type == "accounts.user":
        name = people.get(e.target_id, ("", ""))[1] or str(detail.get("username") or "") or e.target_id
        return str(RECORD_KINDS["accounts.user"]) % {"name": name}
    if detail.get("case"):  # a record inside a case (a person's role, a referral, an event...)
        return str(RECORD_KINDS["cases.case"]) % {"name": detail["case"]}
    kind = RECORD_KINDS.get(e.target_type)
    if kind is not None:
        return str(kind) % {"name": e.target_id}
    if e.action.startswith("signin") and detail.get("username"):
        return str(RECORD_KINDS["accounts.user"]) % {"name": detail["username"]}
    return f"{e.target_type} {e.target_id}".strip()


def _details(detail: Any, action: str) -> list[tuple[str, str]]:
    if not isinstance(detail, dict):
        return [(gettext("Detail"), str(detail))] if detail else []
    out = []
    for key, value in detail.items():
        if key == "case":  # already named as the record
            continue
        if key in {"before", "after"} and isinstance(value, dict) and {"before", "after"} <= detail.keys():
            continue  # shown once below, as changes
        out.append((_label(key), _value(key, value)))
    before, after = detail.get("before"), detail.get("after")
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                out.append((_label(key), f"{_value(key, before.get(key))} → {_value(key, after.get(key))}"))
    return out


def _label(key: str) -> str:
    label = DETAIL_LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ").capitalize()


def _value(key: str, value: Any) -> str:
    from phare.accounts.models import Role

    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, int | float):
        return str(localize(value))
    if isinstance(value, dict):
        if {"before", "after"} <= value.keys():
            return f"{_value(key, value['before'])} → {_value(key, value['after'])}"
        return "; ".join(f"{_label(k)}: {_value(k, v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_value(key, v) for v in value)
    text = str(value)
    if key == "role" and text in Role.values:
        return str(Role(text).label)
    if key == "language":
        return codelists.language_name(text, (get_language() or "en")[:2])
    words = VALUE_WORDS.get(text)
    if words is not None:
        return str(words)
    # HTCDS values ("Victim", "ForcedLabour") have their labels in the catalogue's translations; any other text
    # is shown as it was recorded.
    return gettext(text)[:300] if text.isidentifier() else text[:300]
