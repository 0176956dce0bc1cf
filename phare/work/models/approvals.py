"""Actions an organisation asks a supervisor to approve before they happen."""

from __future__ import annotations

from uuid import uuid4

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from phare.crypto.fields import EncryptedTextField

ORG = "accounts.Organisation"


class Gated(models.TextChoices):
    CLOSE = "close", _("Closing a case")
    SUPPORT_PLAN = "support_plan", _("A support plan")
    REFERRAL = "referral", _("An outgoing referral")
    REASSIGN = "reassign", _("A reassignment")


class WorkSettings(models.Model):
    """An organisation's choices for the work around cases (admin settings)."""

    organisation = models.OneToOneField(ORG, models.CASCADE, related_name="work_settings")
    approve_close = models.BooleanField(_("Closing a case needs a supervisor's approval"), default=False)
    approve_support_plan = models.BooleanField(_("A new support plan needs a supervisor's approval"), default=False)
    approve_referral = models.BooleanField(_("An outgoing referral needs a supervisor's approval"), default=False)
    approve_reassign = models.BooleanField(_("A reassignment needs a supervisor's approval"), default=False)
    handover_acceptance = models.BooleanField(_("The receiver accepts a hand-over before it happens"), default=False)
    email_notifications = models.BooleanField(
        _("Also send notifications by e-mail (a link and the case number only)"), default=False
    )

    def needs_approval(self, gated: str) -> bool:
        return bool(getattr(self, f"approve_{gated}", False))


class ApprovalRequest(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        RETURNED = "returned", _("Sent back")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    case = models.ForeignKey("cases.Case", models.CASCADE, related_name="approval_requests")
    action = models.CharField(_("Action"), max_length=16, choices=Gated.choices)
    # The action's own arguments as JSON, encrypted: a closing reason or a plan's objectives are personal.
    payload = EncryptedTextField()
    note = EncryptedTextField(_("Note to the supervisor"), blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = EncryptedTextField(_("Reason"), blank=True)

    class Meta:
        indexes = [models.Index(fields=["organisation", "state", "created"], name="approval_org_state")]
