"""Referrals that travel: the directory of organisations that accept them, the referral in flight between two
tenants of this instance, the consent it needs, and (between instances) organisation key pairs, trusted partner
cards and the packages already opened.

Thin models: the verbs live in `phare.referrals.actions` (one instance) and `phare.referrals.packages` (between
instances).

Row-level security (phare.rls): `Transfer` rows belong to two parties, the sender (`organisation`) and the
receiver; both read them, only the sender creates them, and either updates them through the verbs. Directory
listings are read by every tenant of the instance and written by their own organisation only. Everything else
here is an ordinary tenant table.
"""

from __future__ import annotations

from uuid import uuid4

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from phare.crypto.fields import EncryptedTextField

ORG = "accounts.Organisation"


class Urgency(models.TextChoices):
    ROUTINE = "routine", _("Routine")
    URGENT = "urgent", _("Urgent")
    EMERGENCY = "emergency", _("Emergency")


class Status(models.TextChoices):
    # The sender's side: delivered to the receiver's inbox, or taken back.
    RECEIVED = "received", _("Received")
    WITHDRAWN = "withdrawn", _("Withdrawn by the sender")
    # The receiver's side.
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    SERVICES_STARTED = "services_started", _("Services started")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = frozenset({Status.RECEIVED})
LIVE_STATUSES = frozenset({Status.RECEIVED, Status.ACCEPTED, Status.SERVICES_STARTED})


class DirectoryListing(models.Model):
    """How an organisation of this instance appears in the referral directory: whether it accepts referrals,
    the services it offers and where. Not personal data: every tenant of the instance reads every listing."""

    organisation = models.OneToOneField(ORG, models.CASCADE, related_name="+")
    accepts_referrals = models.BooleanField(_("Accepts referrals"), default=True)
    services = models.JSONField(_("Services offered"), default=list, blank=True)
    countries = models.JSONField(_("Countries served"), default=list, blank=True)
    area = models.CharField(_("Area served"), max_length=255, blank=True)
    description = models.TextField(_("About the organisation"), blank=True, max_length=2000)
    updated = models.DateTimeField(auto_now=True)


class ReferralConsent(models.Model):
    """The person's consent to be referred to one named organisation: an HTCDS consent (purpose Referral)
    of the sending organisation, scoped to that recipient. Withdrawing the consent stops the referral."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    consent = models.OneToOneField("cases.Consent", models.CASCADE, related_name="referral_scope")
    # An organisation of this instance, or a partner on another system (its card's `id`).
    recipient = models.ForeignKey(ORG, models.CASCADE, null=True, related_name="+", db_index=False)
    partner = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organisation", "recipient"], name="refconsent_org_recipient")]


class Transfer(models.Model):
    """A referral from one tenant (`organisation`, the sender) to another (`receiver`) of this instance.

    `payload` holds the chosen parts of the case bundle, sealed under the receiver's data key (AES-GCM with the
    transfer's identity as associated data), and is erased once the receiver has its own copy or the referral
    ends without one. What travels back is `status` and its dates, and a decline reason: nothing else of the
    receiver's case."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    receiver = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    case = models.ForeignKey("cases.Case", models.CASCADE, related_name="+")
    referral = models.ForeignKey("cases.Referral", models.SET_NULL, null=True, related_name="+", db_index=False)
    consent = models.ForeignKey("cases.Consent", models.SET_NULL, null=True, related_name="+", db_index=False)
    services = models.JSONField(default=list)
    urgency = models.CharField(max_length=16, choices=Urgency.choices, default=Urgency.ROUTINE)
    parts = models.JSONField(default=list)
    payload = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    # [{"status": ..., "at": ISO time}]: statuses and times only, never free text.
    history = models.JSONField(default=list)
    consent_withdrawn = models.BooleanField(default=False)
    reason = EncryptedTextField(blank=True)  # the decline or withdrawal reason, sealed by the sender's data key
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    sent_at = models.DateTimeField()
    # The receiver's side, set on acceptance.
    receiver_case = models.ForeignKey("cases.Case", models.SET_NULL, null=True, related_name="+", db_index=False)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["receiver", "status"], name="transfer_receiver_status"),
            models.Index(fields=["organisation", "case"], name="transfer_org_case"),
        ]


class OrganisationKeyPair(models.Model):
    """An organisation's keys for referral packages between instances: Ed25519 to sign, X25519 to receive.
    The private keys are sealed with the organisation's data key (its key-encryption key); rotating makes a new
    active pair and keeps the old one for opening packages still addressed to it."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    kid = models.CharField(max_length=64)
    sign_public = models.TextField()  # JWK (JSON) of the public keys
    enc_public = models.TextField()
    sealed_private = models.TextField()  # JSON {"sign": JWK, "enc": JWK}, sealed by the data key
    wrapping_key_id = models.IntegerField()
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation"], condition=models.Q(active=True), name="one_active_keypair"),
            models.UniqueConstraint(fields=["organisation", "kid"], name="one_keypair_per_kid"),
        ]


class TrustedCard(models.Model):
    """A partner's organisation card this organisation trusts (after checking its fingerprint out of band)."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    partner_id = models.CharField(max_length=255)  # the card's `id` (an organisation URN)
    name = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    card = models.JSONField()
    trusted_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "fingerprint"], name="one_trust_per_card")]


class OpenedPackage(models.Model):
    """A package this organisation opened (imported or refused after decryption): its id may not come again."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    package_id = models.CharField(max_length=64)
    sender = models.CharField(max_length=255)
    case = models.ForeignKey("cases.Case", models.SET_NULL, null=True, related_name="+", db_index=False)
    opened_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "package_id"], name="one_open_per_package")]
