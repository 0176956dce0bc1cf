"""Tasks on a case: Phare's own records (HTCDS has none), exported in the case bundle under `x_phare_tasks`."""

from __future__ import annotations

from uuid import uuid4

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from phare.crypto.fields import EncryptedTextField

ORG = "accounts.Organisation"


class Task(models.Model):
    """Something to do on a case by a date, for one user who may work the case. The title and notes are free
    text about a person's situation, so they are encrypted like every other free text."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    case = models.ForeignKey("cases.Case", models.CASCADE, related_name="tasks")
    title = EncryptedTextField(_("Task"))
    notes = EncryptedTextField(_("Notes"), blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="tasks")
    due = models.DateField(_("Due date"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    # The last day the worker's overdue notice went out, so the daily run notifies once per task.
    overdue_notified = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["assignee", "done_at", "due"], name="task_assignee_open_due"),
            # Open tasks only: with done_at in the index SQLite's statistics average over every distinct
            # done time and take "done_at IS NULL" for a handful of rows, then prefer this index to the case's
            # (the case list's next task due scanned every open task of the organisation).
            models.Index(fields=["organisation", "due"], name="task_org_open", condition=models.Q(done_at__isnull=True)),
            models.Index(fields=["case", "due"], name="task_case_due"),
        ]

    @property
    def is_done(self) -> bool:
        return self.done_at is not None
