"""Flags on a case (safety risk, child, medical urgency, court date), each with a reason and who set it; and
each user's named saved searches of the case list."""

from __future__ import annotations

from uuid import uuid4

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from phare.crypto.fields import EncryptedTextField

ORG = "accounts.Organisation"


class FlagKind(models.TextChoices):
    SAFETY = "safety", _("Safety risk")
    CHILD = "child", _("Child")
    MEDICAL = "medical", _("Medical urgency")
    COURT = "court", _("Court date")
    OTHER = "other", _("Other")


class CaseFlag(models.Model):
    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    case = models.ForeignKey("cases.Case", models.CASCADE, related_name="flags")
    kind = models.CharField(_("Flag"), max_length=16, choices=FlagKind.choices)
    reason = EncryptedTextField(_("Reason"))
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["case", "cleared_at"], name="flag_case_open"),
                   models.Index(fields=["organisation", "cleared_at"], name="flag_org_open")]  # fmt: skip


class SavedSearch(models.Model):
    """A user's named case-list query (the list's own filters, as its query string)."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="saved_searches")
    name = models.CharField(_("Name"), max_length=80)
    query = models.CharField(max_length=1000)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="saved_search_name_per_user")]
