"""Documents kept with a case or one of its people: ID papers, medical or legal letters, a signed consent form,
photos. The file itself lives sealed under DATA_DIR/files/documents (so backups carry it), with the key of the
person it is about (erasing the person shreds it); this row holds what the pages need to list it, its own
free text sealed too. Models are thin: the verbs live in `phare.documents.actions`."""

from __future__ import annotations

from uuid import uuid4

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from phare.crypto.fields import EncryptedTextField


class DocumentKind(models.TextChoices):
    IDENTITY = "identity", _("Identity document")
    MEDICAL = "medical", _("Medical letter or report")
    LEGAL = "legal", _("Legal letter or decision")
    CONSENT = "consent", _("Signed consent form")
    PHOTO = "photo", _("Photo")
    OTHER = "other", _("Other")


class Document(models.Model):
    organisation = models.ForeignKey("accounts.Organisation", models.CASCADE, related_name="+", db_index=False)
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    case = models.ForeignKey("cases.Case", models.CASCADE, related_name="documents")
    # The person the document is about, whose key seals it; empty for a document about the case as a whole
    # (sealed with the organisation's key).
    person = models.ForeignKey("cases.Person", models.CASCADE, null=True, blank=True, related_name="documents")
    subject = models.CharField(max_length=36, blank=True, default="", editable=False)  # the sealing person's uid
    kind = models.CharField(_("Kind of document"), max_length=16, choices=DocumentKind.choices)
    title = EncryptedTextField(_("Title"), blank=True)
    filename = EncryptedTextField(_("File name"))
    content_type = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    has_preview = models.BooleanField(default=False)
    consent = models.ForeignKey("cases.Consent", models.SET_NULL, null=True, blank=True, related_name="documents",
                                verbose_name=_("Signed consent of"))  # fmt: skip
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    uploaded_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["case", "uploaded_at"], name="document_case_uploaded")]

    def encryption_subject(self) -> str | None:
        """The person whose key seals the title and file name: the same key as the file's."""
        return self.subject or None
