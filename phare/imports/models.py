"""What was imported from where: a re-import of the same source finds its cases here instead of duplicating."""

from __future__ import annotations

from django.db import models


class ImportedRecord(models.Model):
    """One source row (source name + the source's own id or a content fingerprint) → the case it became.

    Written in the same transaction as the case, so a killed import leaves either both or neither.
    `content_hash` tells an updated row from an unchanged one on the next import.
    """

    organisation = models.ForeignKey("accounts.Organisation", models.CASCADE, related_name="+", db_index=False)
    source = models.CharField(max_length=120)
    source_key = models.CharField(max_length=200)
    case = models.ForeignKey("cases.Case", models.CASCADE, related_name="+")
    content_hash = models.CharField(max_length=40)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "source", "source_key"], name="imported_record_unique")
        ]


class SavedMapping(models.Model):
    """A legacy spreadsheet's column mapping (YAML, `htcds.sources.mapped`), saved from the mapping page so
    that the next file of the same shape imports without mapping it again."""

    organisation = models.ForeignKey("accounts.Organisation", models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    body = models.TextField()
    created_by = models.ForeignKey("accounts.User", models.SET_NULL, null=True, related_name="+")
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="saved_mapping_unique")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
