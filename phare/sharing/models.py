from __future__ import annotations

from django.conf import settings
from django.db import models

ORG = "accounts.Organisation"


class PrivacyBudget(models.Model):
    """The total differential-privacy budget of an organisation's people: one ledger for every DP release
    (synthetic data, aggregate tables), since they are all drawn from the same people (htcds.deid.budget)."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    total_epsilon = models.FloatField(default=10.0)
    total_delta = models.FloatField(default=1e-5)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation"], name="one_privacy_budget_per_organisation")]


class PrivacySpend(models.Model):
    """One release's share of the budget. Append-only: the ledger is rebuilt from these rows."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    budget = models.ForeignKey(PrivacyBudget, models.PROTECT, related_name="spends")
    release = models.ForeignKey("Release", models.PROTECT, null=True, related_name="spends")
    epsilon = models.FloatField()
    delta = models.FloatField(default=0.0)
    rho = models.FloatField(default=0.0)  # its cost in zero-concentrated DP
    purpose = models.CharField(max_length=255)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)


class Release(models.Model):
    """A de-identified file that left Phare: what, by whom, with which guarantees, and any override.

    ``report`` is what went out with the file (for a DP release: DP or public quantities only);
    ``internal_report`` holds what was measured on the raw data (filter counts, utility) and never leaves.
    """

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16)  # ctdc, synthetic, aggregate
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    records = models.PositiveIntegerField(default=0)
    k = models.PositiveIntegerField(null=True)
    epsilon = models.FloatField(null=True)
    delta = models.FloatField(null=True)
    override_reason = models.TextField(blank=True)
    report = models.JSONField(default=dict)
    internal_report = models.JSONField(default=dict)


class ResearchDataset(models.Model):
    """Counts from a published CTDC file, for comparing an organisation's figures with CTDC's. Aggregate only:
    CTDC rows are not people to manage, so they never become cases, and no row is kept."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    name = models.CharField(max_length=255)
    source = models.CharField(max_length=255)  # the file's name, as loaded
    loaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+")
    loaded_at = models.DateTimeField(auto_now_add=True)
    records = models.PositiveIntegerField(default=0)
    marginals = models.JSONField(default=dict)  # column -> value -> count
    pairs = models.JSONField(default=dict)  # "a x b" -> [[value of a, value of b, count], ...]
    reading = models.JSONField(default=dict)  # what the reader did: banner, problems
