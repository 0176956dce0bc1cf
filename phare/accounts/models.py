"""Tenants, the people who sign in, and the trust layer's own tables.

An Organisation is a tenant: every tenant-owned row elsewhere carries a foreign key to it, so isolation can
be enforced by PostgreSQL row-level security and the data distributed by organisation later.

Besides users, this module holds the key hierarchy (organisation and person keys, wrapped: never a clear key
in the database), multi-factor devices, recovery and enrolment codes, sign-in attempts (for throttling), restricted-case
membership, break-glass grants and records shared with another organisation by referral.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from phare.crypto.fields import EncryptedDateField, EncryptedTextField


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
    # Roles that read personal data always need the second factor; this extends it to every role. On for new
    # organisations; organisations that existed before the setting keep their behaviour (migration 0004).
    require_mfa = models.BooleanField(_("Require a second factor for every role"), default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["org_Name"]

    def __str__(self) -> str:
        return self.org_Name


class User(AbstractUser):
    organisation = models.ForeignKey(Organisation, models.PROTECT, null=True, blank=True, related_name="users")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CASE_WORKER)
    language = models.CharField(max_length=8, blank=True)
    # Bumped to end every session of the user at once (see get_session_auth_hash).
    session_epoch = models.PositiveIntegerField(default=0)

    @property
    def sees_personal_data(self) -> bool:
        return self.role in PERSONAL_DATA_ROLES

    @property
    def needs_mfa(self) -> bool:
        if self.role in PERSONAL_DATA_ROLES:
            return True
        org = self.organisation
        if org is not None and org.require_mfa:
            return True
        return MFADevice.objects.filter(user=self, confirmed=True).exists()

    def get_session_auth_hash(self) -> str:
        """Django stores this in the session and compares it on every request: any change to the password,
        role, organisation, active flag or epoch ends the user's sessions at once."""
        material = f"{self.password}|{self.role}|{self.organisation_id}|{self.is_active}|{self.session_epoch}"
        key = hashlib.sha256(f"{settings.SECRET_KEY}:phare-session".encode()).digest()
        return hmac.new(key, material.encode(), hashlib.sha256).hexdigest()


class KeyPurpose(models.TextChoices):
    DATA = "data", "Encrypts personal fields"
    INDEX = "index", "Keys blind indexes"
    AUDIT = "audit", "Keys the audit hash chain (organisation empty)"
    MFA = "mfa", "Encrypts TOTP secrets (organisation empty)"


class OrganisationKey(models.Model):
    """A 256-bit key wrapped (AES-GCM) by the master key, which lives outside the database."""

    organisation = models.ForeignKey(Organisation, models.PROTECT, null=True, related_name="+")
    purpose = models.CharField(max_length=8, choices=KeyPurpose.choices)
    wrapped = models.TextField()
    master_kid = models.CharField(max_length=32)
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "purpose"], condition=Q(active=True), name="one_active_key_per_purpose"
            )
        ]


class PersonKey(models.Model):
    """One key per person, wrapped by the organisation's data key. Destroying it erases the person's data."""

    organisation = models.ForeignKey(Organisation, models.PROTECT, related_name="+")
    subject = models.UUIDField(unique=True)
    wrapped = models.TextField(blank=True)
    wrapping_key = models.ForeignKey(OrganisationKey, models.PROTECT, null=True, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Every request asks for the latest destruction (keys.forget_shredded): an index answers at once.
        indexes = [models.Index(fields=["destroyed_at"], name="personkey_destroyed_at")]


class MFADevice(models.Model):
    """A TOTP authenticator (RFC 6238). The secret is encrypted with the instance MFA key."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="mfa_device")
    secret = models.TextField()
    confirmed = models.BooleanField(default=False)
    last_t = models.BigIntegerField(default=-1)
    created = models.DateTimeField(auto_now_add=True)


class RecoveryCode(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)


class EnrolmentCode(models.Model):
    """A one-time code an administrator hands over so that a user can enrol a second factor (first enrolment,
    or again after a reset): the password alone never enrols an authenticator. Stored as a SHA-256 hash of an
    80-bit random code; single use; expires (phare.accounts.enrolment)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="enrolment_codes")
    code_hash = models.CharField(max_length=64)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    created = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class SignInAttempt(models.Model):
    """Each password, second-factor or enrolment-code guess. `username` holds the account key
    (phare.accounts.throttle.account_key), never the raw typed form; `ip` the real client address."""

    username = models.CharField(max_length=150, db_index=True)
    ip = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=16, default="password")
    ok = models.BooleanField(default=False)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["ip", "at"], name="signinattempt_ip_at")]


class RestrictedAccess(models.Model):
    """A named user allowed to see a restricted record (a case with `restricted=True`)."""

    organisation = models.ForeignKey(Organisation, models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="restricted_access")
    target_type = models.CharField(max_length=64)
    target_uid = models.UUIDField()
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "target_type", "target_uid"], name="one_membership")]


class BreakGlassGrant(models.Model):
    """Emergency access to one restricted record of the user's own organisation, with a reason, for at most
    three hours; every grant waits in the organisation admin's review queue."""

    MAX_DURATION_HOURS = 3

    organisation = models.ForeignKey(Organisation, models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="break_glass")
    target_type = models.CharField(max_length=64)
    target_uid = models.UUIDField()
    reason = models.TextField()
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-granted_at"]

    @property
    def is_active(self) -> bool:
        return self.expires_at > timezone.now()


class SharedRecord(models.Model):
    """A record of another organisation (`owner`) made readable to `organisation` by an accepted referral."""

    organisation = models.ForeignKey(Organisation, models.CASCADE, related_name="+")
    owner = models.ForeignKey(Organisation, models.CASCADE, related_name="+")
    target_type = models.CharField(max_length=64)
    target_uid = models.UUIDField()
    created = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "target_type", "target_uid"], name="one_share")]


class OrganisationNote(models.Model):
    """A tenant-owned note with personal content: the smallest real user of the encrypted fields (and the
    trust layer's test subject). `subject` links it to a person's key when it is about one person."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(Organisation, models.CASCADE, related_name="+")
    subject = models.UUIDField(null=True, blank=True)
    body = EncryptedTextField(blank=True, null=True)
    noted_on = EncryptedDateField(blank=True, null=True)

    def encryption_subject(self) -> Any:
        return self.subject
