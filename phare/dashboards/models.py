"""The dashboards' one table: which organisations a shared-service operator may see aggregates of."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

ORG = "accounts.Organisation"


class ServicePartnership(models.Model):
    """`operator` runs a shared service for `partner`: its aggregate-reader roles see the partner's dashboards,
    aggregated with the other partners' and with small cells suppressed, never a row."""

    operator = models.ForeignKey(ORG, models.CASCADE, related_name="+", verbose_name=_("Operator"))
    partner = models.ForeignKey(ORG, models.CASCADE, related_name="+", verbose_name=_("Partner"))
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["operator", "partner"], name="service_partnership_unique"),
            models.CheckConstraint(condition=~models.Q(operator=models.F("partner")), name="service_partnership_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.operator_id} → {self.partner_id}"


class DashboardSnapshot(models.Model):
    """One organisation's dashboard counts for one set of filters, as last computed. Counting 200,000 cases
    takes seconds; a snapshot lets the page answer at once and be recomputed in the background after a change.

    `mark` is the id of the organisation's latest data-changing audit event when counting began: a snapshot
    with the current mark and today's date is up to date."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    day = models.DateField()
    mark = models.BigIntegerField()
    computed_at = models.DateTimeField()
    seconds = models.FloatField(default=0)
    counts = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "key"], name="dashboard_snapshot_unique")]
