"""Tenants and the people who sign in.

An Organisation is a tenant: every tenant-owned row elsewhere carries a foreign key to it, so isolation can
be enforced by PostgreSQL row-level security and the data distributed by organisation later.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Organisation admin")
    SUPERVISOR = "supervisor", _("Supervisor")
    CASE_WORKER = "case_worker", _("Case worker")
    HELPLINE = "helpline", _("Helpline operator")
    ANALYST = "analyst", _("Data analyst")
    AUDITOR = "auditor", _("Auditor / data-protection officer")


# Roles that may see a person's identifying fields; they must use multi-factor authentication.
PERSONAL_DATA_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.CASE_WORKER, Role.HELPLINE})


class Organisation(models.Model):
    slug = models.SlugField(unique=True)
    # HTCDS org_ fields describe the tenant itself.
    org_Name = models.CharField(_("Organisation Name"), max_length=255)
    org_Type = models.CharField(_("Type"), max_length=64, blank=True)
    org_ShippingCountry = models.CharField(_("Shipping Country"), max_length=2, blank=True)
    org_Phone = models.CharField(_("Phone"), max_length=32, blank=True)
    language = models.CharField(_("Default language"), max_length=8, default="en")
    k_threshold = models.PositiveIntegerField(_("Minimum k for shared data"), default=11)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["org_Name"]

    def __str__(self) -> str:
        return self.org_Name


class User(AbstractUser):
    organisation = models.ForeignKey(Organisation, models.PROTECT, null=True, blank=True, related_name="users")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CASE_WORKER)
    language = models.CharField(max_length=8, blank=True)

    @property
    def sees_personal_data(self) -> bool:
        return self.role in PERSONAL_DATA_ROLES
