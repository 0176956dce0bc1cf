"""In-app notifications. A notification holds a kind, a case (when it is about one) and who caused it: never
free text, so nothing in it can carry a person's data. Pages word it from the kind; e-mails carry the case
number and a link only."""

from __future__ import annotations

from uuid import uuid4

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

ORG = "accounts.Organisation"


class Kind(models.TextChoices):
    CASE_ASSIGNED = "case_assigned", _("A case was assigned to you")
    HANDOVER_OFFERED = "handover_offered", _("A case is offered to you")
    HANDOVER_ACCEPTED = "handover_accepted", _("Your hand-over was accepted")
    HANDOVER_DECLINED = "handover_declined", _("Your hand-over was declined")
    HANDED_AWAY = "handed_away", _("A case of yours was handed to a colleague")
    APPROVAL_REQUESTED = "approval_requested", _("An approval is requested")
    APPROVAL_APPROVED = "approval_approved", _("Your request was approved")
    APPROVAL_RETURNED = "approval_returned", _("Your request was sent back")
    TASK_ASSIGNED = "task_assigned", _("A task was assigned to you")
    TASK_OVERDUE = "task_overdue", _("A task of yours is overdue")
    REFERRAL_RECEIVED = "referral_received", _("A referral was received")
    SERVICE_REQUESTED = "service_requested", _("A colleague asks you for a service")
    BREAK_GLASS = "break_glass", _("Emergency access was used on your team")
    CONSENT_EXPIRING = "consent_expiring", _("A consent on your case is about to expire")


class Notification(models.Model):
    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    case = models.ForeignKey("cases.Case", models.CASCADE, null=True, blank=True, related_name="+")
    # The hand-over, approval or task it is about (its uid): the page links to it.
    subject_uid = models.UUIDField(null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["recipient", "read_at", "created"], name="notif_recipient_unread"),
            models.Index(fields=["case"], name="notif_case", condition=models.Q(case__isnull=False)),
        ]
