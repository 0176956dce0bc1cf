from __future__ import annotations

from django.conf import settings
from django.db import models

ORG = "accounts.Organisation"


class PrivacyBudget(models.Model):
    """The total differential-privacy budget an organisation allows for one dataset."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    dataset = models.CharField(max_length=64)
    total_epsilon = models.FloatField(default=10.0)
    total_delta = models.FloatField(default=1e-5)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "dataset"], name="one_budget_per_dataset")]


class PrivacySpend(models.Model):
    """One release's share of the budget. Append-only: the ledger is the sum of these rows."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    budget = models.ForeignKey(PrivacyBudget, models.PROTECT, related_name="spends")
    epsilon = models.FloatField()
    delta = models.FloatField(default=0.0)
    purpose = models.CharField(max_length=255)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)


class Release(models.Model):
    """A de-identified file that left Phare: what, by whom, with which guarantees, and any override."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16)  # ctdc, synthetic, aggregate
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    records = models.PositiveIntegerField(default=0)
    k = models.PositiveIntegerField(null=True)
    epsilon = models.FloatField(null=True)
    override_reason = models.TextField(blank=True)
    report = models.JSONField(default=dict)
