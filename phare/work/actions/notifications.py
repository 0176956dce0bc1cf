"""Writing notifications. `notify` runs inside the verb that causes it (the verb's audit event covers it); an
e-mail, when the organisation asks for them, leaves after the commit and holds a link and the case number only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from phare.audit import log as audit
from phare.cases.models import Case
from phare.work.models import Kind, Notification, WorkSettings


def emails_on(organisation_id: int) -> bool:
    return WorkSettings.objects.filter(organisation_id=organisation_id, email_notifications=True).exists()


def notify(recipient: Any, kind: str, *, case: Case | None = None, subject: Any = None, actor: Any = None) -> Any:
    """One notification for `recipient` (nobody is notified of their own act). Returns it, or None."""
    if recipient is None or not getattr(recipient, "is_active", False):
        return None
    if actor is not None and getattr(actor, "pk", None) == recipient.pk:
        return None
    note = Notification.objects.create(
        organisation_id=recipient.organisation_id, recipient=recipient, kind=kind, case=case,
        subject_uid=getattr(subject, "uid", subject), actor=actor if getattr(actor, "pk", None) else None,
    )  # fmt: skip
    if recipient.email and emails_on(recipient.organisation_id):
        transaction.on_commit(lambda: send_notification_email(note.pk))
    return note


def notify_all(recipients: Iterable[Any], kind: str, **kw: Any) -> int:
    return sum(notify(r, kind, **kw) is not None for r in recipients)


def referral_received(actor: Any, case: Case, referral: Any) -> None:
    """Inside `receive_referral`: the case's owner hears of a referral someone else recorded on it."""
    notify(case.cas_CaseOwner, Kind.REFERRAL_RECEIVED, case=case, subject=referral, actor=actor)


def break_glass_used(actor: Any, row: Any) -> None:
    """Inside a break-glass grant: the organisation's supervisors hear of it (they may open every case, so the
    notification may name it)."""
    from django.contrib.auth import get_user_model

    from phare.accounts.models import Role

    case = row if isinstance(row, Case) else None
    bosses = get_user_model().objects.filter(organisation_id=actor.organisation_id, is_active=True,
                                             role=Role.SUPERVISOR)  # fmt: skip
    notify_all(bosses, Kind.BREAK_GLASS, case=case, actor=actor)


def email_body(kind: str, case_number: str, link: str) -> tuple[str, str]:
    """Subject and body of a notification e-mail: the kind's wording, the case number, a link. Nothing else,
    so that a mailbox never holds a victim's personal data."""
    subject = f"Phare: {Kind(kind).label}"
    lines = [str(Kind(kind).label) + "."]
    if case_number:
        lines.append(_("Case %(number)s.") % {"number": case_number})
    lines.append(_("Open Phare to see it: %(link)s") % {"link": link})
    return subject, "\n\n".join(lines)


def site_link(path: str) -> str:
    return (getattr(settings, "PHARE_SITE_URL", "") or "").rstrip("/") + path


def send_notification_email(notification_id: int) -> bool:
    note = Notification.objects.select_related("recipient", "case").filter(pk=notification_id,
                                                                           emailed_at__isnull=True).first()  # fmt: skip
    if note is None or not note.recipient.email:
        return False
    from phare.work.access import my_notifications

    if not my_notifications(note.recipient).filter(pk=note.pk).exists():
        # About a case the recipient can no longer open (a task kept after a hand-over): hidden from their bell,
        # so not mailed either, not even its case number.
        return False
    with translation.override(note.recipient.language or None):
        subject, body = email_body(note.kind, note.case.number if note.case else "", site_link(reverse("work:notifications")))
    send_mail(subject, body, None, [note.recipient.email], fail_silently=True)
    Notification.objects.filter(pk=note.pk).update(emailed_at=timezone.now())
    return True


def mark_read(actor: Any, notifications: Any, request: HttpRequest | None = None) -> int:
    """Mark the actor's own notifications (a queryset from `access.my_notifications`) read."""
    with transaction.atomic():
        uids = [str(u) for u in notifications.filter(recipient_id=actor.pk, read_at__isnull=True)
                .values_list("uid", flat=True)[:500]]  # fmt: skip
        if not uids:
            return 0
        n = Notification.objects.filter(uid__in=uids).update(read_at=timezone.now())
        audit.record("notification.read", actor=actor, request=request, target_type="work.notification",
                     detail={"count": n})  # fmt: skip
    return int(n)
