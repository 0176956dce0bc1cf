"""Handing a case to a colleague, and asking a colleague for a service on a case without handing it over."""

from __future__ import annotations

from uuid import uuid4

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from phare.crypto.fields import EncryptedTextField

ORG = "accounts.Organisation"


class Handover(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for the receiver")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        CANCELLED = "cancelled", _("Cancelled")

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    case = models.ForeignKey("cases.Case", models.CASCADE, related_name="handovers")
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="handovers_in")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    reason = EncryptedTextField(_("Reason for the hand-over"))
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decline_reason = EncryptedTextField(_("Why you decline"), blank=True)

    class Meta:
        indexes = [models.Index(fields=["to_user", "state"], name="handover_to_state"),
                   models.Index(fields=["organisation", "state"], name="handover_org_state")]  # fmt: skip


class Service(models.TextChoices):
    LEGAL = "legal", _("Legal")
    MEDICAL = "medical", _("Medical")
    SHELTER = "shelter", _("Shelter")
    PSYCHOSOCIAL = "psychosocial", _("Psychosocial")
    OTHER = "other", _("Other")


class ServiceRequest(models.Model):
    """An internal referral: a colleague is asked to provide a service on the case and works on it beside the
    owner (a `CaseAssignment`), without the case changing hands."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    case = models.ForeignKey("cases.Case", models.CASCADE, related_name="service_requests")
    service = models.CharField(_("Service"), max_length=16, choices=Service.choices)
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="service_requests_in")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    note = EncryptedTextField(_("Note"), blank=True)
    created = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
