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
