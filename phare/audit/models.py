from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One append-only, hash-chained entry: who did what to which record, when and from where."""

    organisation = models.ForeignKey("accounts.Organisation", models.PROTECT, null=True, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, null=True, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True, db_index=True)
    ip = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(db_index=True)
    detail = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # The organisation's own chain inside the global one: its n-th event (1, 2, ...) and the hash of its
    # previous one, both under the event's MAC, so that an organisation's log can be checked (and later kept)
    # on its own. 0 for events without an organisation and for events written before this chain existed.
    org_seq = models.BigIntegerField(default=0)
    org_prev_hash = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["id"]
        # The dashboards ask for an organisation's latest event; without it PostgreSQL scans the whole log.
        indexes = [models.Index(fields=["organisation", "id"], name="audit_org_id")]


class AuditHead(models.Model):
    """A chain's last link and length, MACed: deleting events from the end of a chain is detected too. One row per
    chain: `org:<id>` for an organisation's events, `instance` for events of no organisation, and `global` for the
    single chain of a log written before chains per organisation (no longer written)."""

    chain = models.CharField(max_length=40, unique=True)
    organisation = models.ForeignKey("accounts.Organisation", models.PROTECT, null=True, related_name="+")
    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    count = models.BigIntegerField(default=0)
    mac = models.CharField(max_length=64)
