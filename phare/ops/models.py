from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

ORG = "accounts.Organisation"


class RetentionPolicy(models.Model):
    """How long an organisation keeps a closed case before it is anonymised or erased."""

    class Action(models.TextChoices):
        ANONYMISE = "anonymise", _("Anonymise (keep statistics, destroy identities and free text)")
        ERASE = "erase", _("Erase the case entirely")

    organisation = models.OneToOneField(ORG, models.CASCADE, related_name="+")
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.ANONYMISE)
    years_after_closure = models.PositiveSmallIntegerField(default=5)
    active = models.BooleanField(default=True)
    updated = models.DateTimeField(auto_now=True)


class LegalHold(models.Model):
    """A case under legal hold is never purged, whatever the retention policy says."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    case = models.ForeignKey("cases.Case", models.CASCADE, related_name="legal_holds")
    reason = models.TextField()
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+")
    placed_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["organisation", "released_at"])]


class PurgeRecord(models.Model):
    """What a purge did to a case; makes a re-run a no-op and answers "what happened to case X"."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    case_number = models.CharField(max_length=32)
    case_id_at_purge = models.BigIntegerField()
    action = models.CharField(max_length=10)
    persons_shredded = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "case_id_at_purge"], name="one_purge_per_case")]
