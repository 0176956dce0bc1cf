"""A helpline's unit of work: the contact (a call, a message, a web report), most of which never become a case.

The caller's identity and every free text are encrypted like a person's (`EncryptedTextField`); the caller's
phone and e-mail are found again only through the blind-index side table `ContactIndex`. Every row carries its
organisation (row-level security, phare.rls). Thin models: the verbs live in `phare.helplines.actions`, the
reads in `phare.helplines.access`.
"""

from __future__ import annotations

from uuid import uuid4

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from phare.crypto.fields import EncryptedTextField

ORG = "accounts.Organisation"


class Channel(models.TextChoices):
    CALL = "call", _("Phone call")
    SMS = "sms", _("SMS")
    MESSAGING = "messaging", _("WhatsApp or other messaging")
    EMAIL = "email", _("E-mail")
    WEB = "web", _("Web form")
    WALK_IN = "walk_in", _("Walk-in")


class ContactDirection(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class CallerType(models.TextChoices):
    POSSIBLE_VICTIM = "possible_victim", _("Possible victim")
    FAMILY = "family", _("Family or friend")
    WITNESS = "witness", _("Witness or member of the public")
    PROFESSIONAL = "professional", _("Professional")
    ANONYMOUS = "anonymous", _("Anonymous")


class Reason(models.TextChoices):
    REPORT = "report", _("Reporting a situation")
    HELP = "help", _("Seeking help")
    INFORMATION = "information", _("Asking for information")
    FOLLOW_UP = "follow_up", _("Following up an earlier contact")
    OTHER = "other", _("Other")


class Risk(models.TextChoices):
    UNKNOWN = "unknown", _("Not assessed")
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    IMMEDIATE = "immediate", _("Immediate danger")


class Outcome(models.TextChoices):
    TRIAGE = "triage", _("Awaiting triage")
    INFORMATION = "information", _("Information given")
    REFERRED = "referred", _("Referred")
    CASE_OPENED = "case_opened", _("Case opened")
    LINKED = "linked", _("Linked to a case")
    NO_ACTION = "no_action", _("No action")


class Contact(models.Model):
    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+", db_index=False)
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    # What the operator and a public reporter quote: short, unguessable, unique per organisation.
    reference = models.CharField(_("Reference"), max_length=16)
    channel = models.CharField(_("Channel"), max_length=16, choices=Channel.choices, default=Channel.CALL)
    direction = models.CharField(_("Direction"), max_length=8, choices=ContactDirection.choices,
                                 default=ContactDirection.INBOUND)  # fmt: skip
    started_at = models.DateTimeField(_("Started"))
    ended_at = models.DateTimeField(_("Ended"), null=True, blank=True)
    caller_type = models.CharField(_("Caller"), max_length=16, choices=CallerType.choices,
                                   default=CallerType.ANONYMOUS)  # fmt: skip
    anonymous = models.BooleanField(_("Anonymous"), default=False)
    caller_name = EncryptedTextField(_("Caller's name"), blank=True)
    caller_phone = EncryptedTextField(_("Caller's phone"), blank=True)
    caller_email = EncryptedTextField(_("Caller's e-mail"), blank=True)
    language = models.CharField(_("Language"), max_length=3, blank=True)
    region = models.CharField(_("Region"), max_length=100, blank=True)
    reason = models.CharField(_("Reason"), max_length=16, choices=Reason.choices, default=Reason.REPORT)
    summary = EncryptedTextField(_("What was said"), blank=True)
    # A public report's answers to the organisation's own questions, each question with its answer (the
    # question as it was asked: the organisation may change its questions later).
    answers = EncryptedTextField(_("Answers to the form's questions"), blank=True)
    # HTCDS value names: vic_MethodsOfControl (the indicators observed) and vic_TypeOfExploitation.
    indicators = models.JSONField(_("Indicators observed"), default=list, blank=True)
    exploitation = models.JSONField(_("Type of exploitation"), default=list, blank=True)
    risk = models.CharField(_("Risk level"), max_length=16, choices=Risk.choices, default=Risk.UNKNOWN)
    outcome = models.CharField(_("Outcome"), max_length=16, choices=Outcome.choices, default=Outcome.TRIAGE)
    follow_up = models.BooleanField(_("Follow-up wanted"), default=False)
    callback_note = EncryptedTextField(_("How to call back safely"), blank=True)
    case = models.ForeignKey("cases.Case", models.SET_NULL, null=True, blank=True, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True,
                                    related_name="+", db_index=False)  # fmt: skip
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "reference"], name="contact_reference_per_org")]
        indexes = [
            models.Index(fields=["organisation", "started_at"], name="contact_org_started"),
            models.Index(fields=["organisation", "outcome"], name="contact_org_outcome"),
        ]

    def __str__(self) -> str:
        return self.reference


class ContactIndex(models.Model):
    """Blind-index side table: keyed hashes of a caller's phone and e-mail, so that lookup never decrypts."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+", db_index=False)
    contact = models.ForeignKey(Contact, models.CASCADE, related_name="index_entries")
    kind = models.CharField(max_length=16)
    digest = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["organisation", "kind", "digest", "contact"], name="contactindex_lookup")]


class ReportForm(models.Model):
    """An organisation's public report form at /report/ORG_SLUG/: off until the organisation switches it on."""

    organisation = models.OneToOneField(ORG, models.CASCADE, related_name="+")
    enabled = models.BooleanField(_("Public report form switched on"), default=False)
    intro = models.TextField(_("Text shown above the form"), blank=True, max_length=2000)
    ask_region = models.BooleanField(_("Ask where it happened"), default=True)
    ask_language = models.BooleanField(_("Ask which language the reporter prefers"), default=True)
    ask_contact = models.BooleanField(_("Ask how to reach the reporter"), default=True)
    # The organisation's own questions (plain texts, at most QUESTIONS_MAX), each answered in free text that
    # lands, encrypted, in the contact's summary.
    questions = models.JSONField(_("Own questions"), default=list, blank=True)
    updated = models.DateTimeField(auto_now=True)


class ReportAttempt(models.Model):
    """One submission of a public report form, for its rate limits: a keyed hash of the form and the sender's
    address (never the address itself), and when. Kept for a day."""

    form_digest = models.CharField(max_length=64)
    address_digest = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["form_digest", "at"], name="reportattempt_form_at"),
                   models.Index(fields=["address_digest", "at"], name="reportattempt_addr_at")]  # fmt: skip


class ServiceKind(models.TextChoices):
    SHELTER = "shelter", _("Shelter")
    LEGAL = "legal", _("Legal")
    MEDICAL = "medical", _("Medical")
    PSYCHOSOCIAL = "psychosocial", _("Psychosocial")
    RETURN = "return", _("Return and reintegration")
    HOTLINE = "hotline", _("Hotline")
    OTHER = "other", _("Other")


class Service(models.Model):
    """A service the helpline refers callers to (a shelter, a lawyer, a clinic): the organisation's directory,
    searched during a call. About organisations, not people: nothing here is personal data."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+", db_index=False)
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    name = models.CharField(_("Name"), max_length=200)
    provider = models.CharField(_("Organisation providing it"), max_length=200, blank=True)
    kind = models.CharField(_("Kind of service"), max_length=16, choices=ServiceKind.choices)
    region = models.CharField(_("Region"), max_length=100, blank=True)
    languages = models.JSONField(_("Languages"), default=list, blank=True)  # ISO 639-3 codes
    hours = models.CharField(_("Opening hours"), max_length=200, blank=True)
    eligibility = models.TextField(_("Who is eligible"), max_length=1000, blank=True)
    contact = models.TextField(_("How to reach the service"), max_length=500, blank=True)
    active = models.BooleanField(_("In use"), default=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["organisation", "kind"], name="service_org_kind")]

    def __str__(self) -> str:
        return self.name
