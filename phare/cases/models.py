"""The HTCDS 2.0 case model, after the standard's Salesforce package.

Field names are the catalogue's (`prs_FirstName`, `vic_TypeOfExploitation`...), picklists store the standard's
value names, multi-selects are JSON lists. Identifying fields and free text are encrypted at rest and can only
be found through the blind-index side table `PersonIndex`. Every row carries its organisation (the tenant).
Models are thin: the verbs live in `phare.cases.actions`.
"""

from __future__ import annotations

from uuid import uuid4

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from phare.crypto.fields import EncryptedDateField, EncryptedTextField

ORG = "accounts.Organisation"


def _where_set(prefix: str, **fields: str) -> list[models.Index]:
    """Indexes on optional links, only over the rows that have one: most rows have none, and a plain index
    costs every insert for NULLs nobody looks up (deleting what they point at is what uses these)."""
    return [models.Index(fields=[f], name=f"{prefix}_{short}_set", condition=models.Q(**{f"{f}__isnull": False}))
            for f, short in fields.items()]  # fmt: skip


class CaseStatus(models.TextChoices):
    ACTIVE = "Active", _("Active")
    FOLLOW_UP = "FollowUp", _("Follow Up")
    CLOSED = "Closed", _("Closed")
    CLOSED_REFERRED = "ClosedReferred", _("Closed Referred")


CLOSED_STATUSES = frozenset({CaseStatus.CLOSED, CaseStatus.CLOSED_REFERRED})


class ParticipantRole(models.TextChoices):
    VICTIM = "Victim", _("Victim")
    POTENTIAL_VICTIM = "PotentialVictim", _("Potential victim")
    PERPETRATOR = "Perpetrator", _("Perpetrator")
    OTHER = "Other", _("Other")


class Direction(models.TextChoices):
    INCOMING = "Incoming", _("Incoming")
    OUTGOING = "Outgoing", _("Outgoing")


class ExternalOrganisation(models.Model):
    """The organisation's directory of partners, police units, employers, places of work (HTCDS org_)."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    org_Name = models.CharField(_("Organisation Name"), max_length=255)
    org_Type = models.CharField(_("Type"), max_length=64, blank=True)
    org_ShippingStreet = models.CharField(_("Shipping Street"), max_length=255, blank=True)
    org_ShippingCity = models.CharField(_("Shipping City"), max_length=255, blank=True)
    org_ShippingState = models.CharField(_("Shipping State/Province"), max_length=255, blank=True)
    org_ShippingPostalCode = models.CharField(_("Shipping Zip/Postal Code"), max_length=32, blank=True)
    org_ShippingCountry = models.CharField(_("Shipping Country"), max_length=2, blank=True)
    org_ShippingLatitude = models.FloatField(_("Latitude"), null=True, blank=True)
    org_ShippingLongitude = models.FloatField(_("Longitude"), null=True, blank=True)
    org_Phone = models.CharField(_("Phone"), max_length=32, blank=True)
    # Set when the partner is itself a Phare tenant: referrals to it travel inside the system.
    tenant = models.ForeignKey(ORG, models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["org_Name"]
        indexes = [models.Index(fields=["organisation", "org_Name"])]

    def __str__(self) -> str:
        return self.org_Name


class Place(models.Model):
    """A place of recruitment or exploitation that is not an organisation (a town, a fishing ground)."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    name = models.CharField(_("Place"), max_length=255)
    city = models.CharField(_("City"), max_length=255, blank=True)
    country = models.CharField(_("Country"), max_length=2, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    prs_Salutation = EncryptedTextField(_("Salutation"), blank=True)
    prs_FirstName = EncryptedTextField(_("First Name"), blank=True)
    prs_MiddleName = EncryptedTextField(_("Middle Name"), blank=True)
    prs_SecondName = EncryptedTextField(_("Second Name"), blank=True)
    prs_Birthdate = EncryptedDateField(_("Birthdate"), null=True, blank=True)
    # Not an HTCDS field: the name a person gives when they will not give theirs, or one the worker makes up.
    alias = EncryptedTextField(_("Alias or pseudonym"), blank=True, default="")
    prs_Gender = models.CharField(_("Gender"), max_length=32, blank=True)
    prs_Deceased = models.BooleanField(_("Deceased"), null=True, blank=True)
    prs_MaritalStatus = models.CharField(_("Marital Status"), max_length=32, blank=True)
    prs_NumberOfChildren = models.PositiveSmallIntegerField(_("Number of Children"), null=True, blank=True)
    prs_PrimaryLanguage = models.CharField(_("Primary Language"), max_length=3, blank=True)
    prs_SecondaryLanguage = models.CharField(_("Secondary Language"), max_length=3, blank=True)
    prs_HighestLevelOfEducation = models.CharField(_("Highest Level of Education"), max_length=64, blank=True)
    prs_Citizenship = models.JSONField(_("Citizenship"), default=list, blank=True)
    prs_IdentityNumber = EncryptedTextField(_("Identity Number"), blank=True)
    prs_Title = EncryptedTextField(_("Title"), blank=True)
    prs_Email = EncryptedTextField(_("Email"), blank=True)
    prs_HomePhone = EncryptedTextField(_("Home Phone"), blank=True)
    prs_MobilePhone = EncryptedTextField(_("Mobile Phone"), blank=True)
    prs_MailingStreet = EncryptedTextField(_("Mailing Street"), blank=True)
    prs_MailingCity = EncryptedTextField(_("Mailing City"), blank=True)
    prs_MailingState = EncryptedTextField(_("Mailing State/Province"), blank=True)
    prs_MailingPostalCode = EncryptedTextField(_("Mailing Zip/Postal Code"), blank=True)
    prs_MailingCountry = models.CharField(_("Mailing Country"), max_length=2, blank=True)
    prs_MailingLatitude = EncryptedTextField(_("Latitude"), blank=True)
    prs_MailingLongitude = EncryptedTextField(_("Longitude"), blank=True)
    prs_MigrationStatus = models.JSONField(_("Migration and protection status"), default=list, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    # Who registered the person: until they are on a case, only that user (and supervisors) may see them.
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+",
                                   db_index=False, editable=False)  # fmt: skip

    def __str__(self) -> str:
        name = " ".join(p for p in (self.prs_FirstName, self.prs_SecondName) if p)
        return name or (f"«{self.alias}»" if self.alias else str(_("(no name)")))


class PersonIndex(models.Model):
    """Blind-index side table: keyed hashes of a person's name tokens, birth date, phones, e-mail, identity
    number, so that search and duplicate detection never decrypt."""

    # No index of its own on organisation or case where a composite index starts with it (here personindex_lookup,
    # below the unique constraints and the (case, ...) indexes): each costs every bulk insert and helps no query.
    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+", db_index=False)
    person = models.ForeignKey(Person, models.CASCADE, related_name="index_entries")
    kind = models.CharField(max_length=16)
    digest = models.CharField(max_length=64)

    class Meta:
        # Person last: a duplicate check that only wants people older than an import reads the index alone.
        indexes = [models.Index(fields=["organisation", "kind", "digest", "person"], name="personindex_lookup")]


class Case(models.Model):
    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+", db_index=False)
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    number = models.CharField(_("Case number"), max_length=32)
    seq = models.PositiveIntegerField()
    cas_Status = models.CharField(_("Status"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.ACTIVE)
    cas_ReasonForCaseClosure = EncryptedTextField(_("Reason for Case Closure"), blank=True)
    cas_CaseOwner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="owned_cases",
        verbose_name=_("Case Owner"), db_index=False,
    )  # fmt: skip
    cas_OpenedDate = models.DateField(_("Date opened"))
    cas_ClosedDate = models.DateField(_("Date closed"), null=True, blank=True)
    follow_up_date = models.DateField(_("Follow-up due"), null=True, blank=True)
    # Not an HTCDS field: the organisation's own programme or service (shelter, helpline...), for its dashboards.
    programme = models.CharField(_("Programme"), max_length=100, blank=True, default="")
    restricted = models.BooleanField(
        _("Restricted"), default=False, help_text=_("Only the owner, assigned workers and supervisors see it.")
    )
    # Denormalised summary of the victims' context, kept by the actions, for filtering the list without joins.
    primary_person = models.ForeignKey(Person, models.SET_NULL, null=True, blank=True, related_name="+")
    exploitation_summary = models.CharField(max_length=255, blank=True, default="")  # "|ForcedLabour|Servitude|"
    trafficking_status = models.CharField(max_length=32, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "number"], name="case_number_unique_per_org"),
            models.UniqueConstraint(fields=["organisation", "seq"], name="case_seq_unique_per_org"),
        ]
        indexes = [
            models.Index(fields=["organisation", "cas_Status", "cas_OpenedDate"], name="case_org_status_opened"),
            models.Index(fields=["organisation", "cas_OpenedDate", "id"], name="case_org_opened"),
            models.Index(fields=["cas_CaseOwner", "cas_Status"], name="case_owner_status"),
            models.Index(fields=["organisation", "trafficking_status"], name="case_org_tstatus"),
            models.Index(fields=["organisation", "programme"], name="case_org_programme"),
            # Follow-ups due (home pages, the case list's "overdue"): the few cases that have a date. Status and
            # owner in the index let a supervisor's team's late follow-ups be counted from the index alone; on
            # PostgreSQL that also needs the columns row-level security reads (uid) and the id counted.
            models.Index(fields=["organisation", "follow_up_date", "cas_Status", "cas_CaseOwner"], name="case_org_follow_up",
                         condition=models.Q(follow_up_date__isnull=False), include=["uid", "id"]),
            models.Index(fields=["cas_CaseOwner", "follow_up_date", "cas_Status", "organisation"], name="case_owner_follow_up",
                         condition=models.Q(follow_up_date__isnull=False), include=["uid", "id"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_closed(self) -> bool:
        return self.cas_Status in CLOSED_STATUSES

    @property
    def owner_name(self) -> str:
        """The owner's full name, or their username without one; empty for a case without an owner (SET_NULL)."""
        owner = self.cas_CaseOwner
        return (owner.get_full_name() or owner.username) if owner is not None else ""

    @property
    def exploitation_types(self) -> list[str]:
        return [t for t in self.exploitation_summary.split("|") if t]


class CaseAssignment(models.Model):
    """A case worker other than the owner who works on the case."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="case_assignments")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "user"], name="case_assignment_unique")]


class CaseParticipant(models.Model):
    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, models.CASCADE, related_name="participants", db_index=False)
    person = models.ForeignKey(Person, models.PROTECT, related_name="participations")
    role = models.CharField(_("Role"), max_length=16, choices=ParticipantRole.choices)
    # The CTDC age band on the day the case was opened, derived from the encrypted birth date by the actions
    # that set either, so that the dashboards can count it without decrypting anything.
    age_band_at_registration = models.CharField(max_length=8, blank=True, default="", editable=False)
    # Victim context (vic_)
    vic_AgreementToManagePersonalData = models.BooleanField(
        _("Agreement to Manage Personal Data"), null=True, blank=True
    )
    vic_TraffickingStatus = models.CharField(_("Trafficking Status"), max_length=32, blank=True)
    vic_TraffickingStatusDecisionMakingOrg = models.CharField(
        _("Trafficking Status Decision Making Organization"), max_length=64, blank=True
    )
    vic_RelationshipToTrafficker = models.CharField(_("Relationship to Trafficker"), max_length=64, blank=True)
    vic_AgeWhenTrafficked = models.PositiveSmallIntegerField(_("Age when Trafficked"), null=True, blank=True)
    vic_RecruitmentWebsitesAndApps = models.JSONField(_("Recruitment Websites and Apps"), default=list, blank=True)
    vic_MethodOfRecruitment = models.JSONField(_("Method of Recruitment"), default=list, blank=True)
    vic_LocationOfRecruitment = models.ForeignKey(
        ExternalOrganisation, models.SET_NULL, null=True, blank=True, related_name="+", db_index=False,
        verbose_name=_("Location of Recruitment"),
    )  # fmt: skip
    vic_PlaceOfRecruitment = models.ForeignKey(
        Place, models.SET_NULL, null=True, blank=True, related_name="+", db_index=False, verbose_name=_("Place of recruitment")
    )
    vic_MethodsOfControl = models.JSONField(_("Methods of Control"), default=list, blank=True)
    vic_TypeOfExploitation = models.JSONField(_("Type of Exploitation"), default=list, blank=True)
    vic_ForcedLabourIndustry = models.CharField(_("Forced Labour Industry"), max_length=128, blank=True)
    vic_ForcedLabourIndustryTier2 = models.CharField(_("Forced labour industry (tier 2)"), max_length=128, blank=True)
    vic_ForcedLabourIndustryTier3 = models.CharField(_("Forced labour industry (tier 3)"), max_length=128, blank=True)
    vic_TypeOfSexExploitation = models.JSONField(_("Type of Sex Exploitation"), default=list, blank=True)
    vic_LocationOfExploitation = models.ForeignKey(
        ExternalOrganisation, models.SET_NULL, null=True, blank=True, related_name="+", db_index=False,
        verbose_name=_("Location of Exploitation"),
    )  # fmt: skip
    vic_PlaceOfExploitation = models.ForeignKey(
        Place, models.SET_NULL, null=True, blank=True, related_name="+", db_index=False, verbose_name=_("Place of exploitation")
    )
    vic_ExploitationWebsitesAndApps = models.JSONField(_("Exploitation Websites and Apps"), default=list, blank=True)
    vic_Vulnerabilities = models.JSONField(_("Vulnerabilities"), default=list, blank=True)
    vic_DetailsOfVulnerabilities = EncryptedTextField(_("Details Of Vulnerabilities"), blank=True)
    # Perpetrator context (per_)
    per_RoleInProcess = models.JSONField(_("Role in Process"), default=list, blank=True)
    per_RoleDetails = EncryptedTextField(_("Role Details"), blank=True)
    per_Organisation = models.ForeignKey(
        ExternalOrganisation, models.SET_NULL, null=True, blank=True, related_name="+", db_index=False,
        verbose_name=_("Organisation of the perpetrator"),
    )  # fmt: skip

    class Meta:
        indexes = [models.Index(fields=["case", "role"]),
                   *_where_set("part", vic_LocationOfRecruitment="locrec", vic_PlaceOfRecruitment="placerec",
                               vic_LocationOfExploitation="locexp", vic_PlaceOfExploitation="placeexp",
                               per_Organisation="perorg")]  # fmt: skip


class Referral(models.Model):
    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, models.CASCADE, related_name="referrals")
    direction = models.CharField(_("Direction"), max_length=8, choices=Direction.choices)
    cas_ReferringOrganisation = models.ForeignKey(
        ExternalOrganisation, models.SET_NULL, null=True, blank=True, related_name="+", db_index=False,
        verbose_name=_("Referring Organisation"),
    )  # fmt: skip
    cas_IncomingReferralDate = models.DateField(_("Incoming Referral Date"), null=True, blank=True)
    cas_ReferringPrimaryCaseWorker = EncryptedTextField(_("Referring Primary Case Worker"), blank=True)
    cas_ReasonForIncomingReferral = models.CharField(_("Reason for Incoming Referral"), max_length=64, blank=True)
    cas_IncomingReferralDetails = EncryptedTextField(_("Incoming Referral Details"), blank=True)
    cas_ReferredOrganisation = models.ForeignKey(
        ExternalOrganisation, models.SET_NULL, null=True, blank=True, related_name="+", db_index=False,
        verbose_name=_("Referred Organisation"),
    )  # fmt: skip
    cas_ReferredPrimaryCaseWorker = EncryptedTextField(_("Referred Primary Case Worker"), blank=True)
    cas_ReasonForOutgoingReferral = models.CharField(_("Reason for Outgoing Referral"), max_length=64, blank=True)
    cas_OutgoingReferralDate = models.DateField(_("Outgoing Referral Date"), null=True, blank=True)
    cas_OutgoingReferralDetails = EncryptedTextField(_("Outgoing Referral Details"), blank=True)
    # In-system referrals: the other tenant, and the case it opened from this referral.
    to_tenant = models.ForeignKey(ORG, models.SET_NULL, null=True, blank=True, related_name="+", db_index=False)
    source_referral = models.ForeignKey("self", models.SET_NULL, null=True, blank=True, related_name="+", db_index=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The home page's new incoming referrals, newest first: without it PostgreSQL joined every referral of
        # the worker's open cases to sort them (20 ms at 200,000 cases).
        indexes = [*_where_set("ref", cas_ReferringOrganisation="referring", cas_ReferredOrganisation="referred",
                               to_tenant="totenant", source_referral="source"),
                   models.Index(fields=["organisation", "direction", "-created"], name="ref_org_direction_new")]  # fmt: skip


class CaseComment(models.Model):
    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    cco_CaseComment = EncryptedTextField(_("Case Comment"))
    cco_CreatedDate = models.DateField(_("Date"))
    created = models.DateTimeField(auto_now_add=True)


class TraffickingEvent(models.Model):
    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, models.CASCADE, related_name="events")
    person = models.ForeignKey(Person, models.SET_NULL, null=True, blank=True, related_name="+")
    hte_Type = models.CharField(_("Type"), max_length=16, blank=True)
    hte_Date = models.DateField(_("Date"), null=True, blank=True)
    hte_Street = EncryptedTextField(_("Street"), blank=True)
    hte_City = models.CharField(_("City"), max_length=255, blank=True)
    hte_State = models.CharField(_("State"), max_length=255, blank=True)
    hte_PostalCode = EncryptedTextField(_("PostalCode"), blank=True)
    hte_Country = models.CharField(_("Country"), max_length=2, blank=True)
    hte_Latitude = EncryptedTextField(_("Latitude"), blank=True)
    hte_Longitude = EncryptedTextField(_("Longitude"), blank=True)
    hte_Description = EncryptedTextField(_("Description"), blank=True)
    created = models.DateTimeField(auto_now_add=True)


class SupportPlan(models.Model):
    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, models.CASCADE, related_name="support_plans")
    person = models.ForeignKey(Person, models.SET_NULL, null=True, blank=True, related_name="+")
    spl_Type = models.CharField(_("Type"), max_length=64, blank=True)
    spl_Objectives = EncryptedTextField(_("Objectives"), blank=True)
    spl_ActionPlan = EncryptedTextField(_("Action Plan"), blank=True)
    spl_StartDate = models.DateField(_("Start Date"), null=True, blank=True)
    spl_PlannedEndDate = models.DateField(_("Planned End Date"), null=True, blank=True)
    spl_ActualEndDate = models.DateField(_("Actual End Date"), null=True, blank=True)

    class Meta:
        # The home page's "due this week" walks the open plans by planned end, oldest first, until it has found
        # enough on the reader's open cases: only open plans, and each one's case beside it, so that the walk
        # reads no plan row (at 1,000,000 generated cases on SQLite, 140 ms a home page; 62 ms with this index).
        indexes = [models.Index(fields=["organisation", "spl_PlannedEndDate", "case"], name="plan_org_open_end",
                                condition=models.Q(spl_ActualEndDate__isnull=True))]  # fmt: skip


class Consent(models.Model):
    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, models.CASCADE, related_name="consents")
    person = models.ForeignKey(Person, models.SET_NULL, null=True, blank=True, related_name="+")
    con_Consent = models.BooleanField(_("Consent"), default=True)
    con_Purpose = models.JSONField(_("Purposes consented to"), default=list, blank=True)
    con_Date = models.DateField(_("Date of consent"), null=True, blank=True)
    con_HowInformed = models.CharField(_("How the person was informed"), max_length=32, blank=True)
    con_WithdrawnDate = models.DateField(_("Date consent was withdrawn"), null=True, blank=True)
    # A time-limited consent: the last day it holds. Past it, it counts as no consent (referrals, research).
    con_ExpiryDate = models.DateField(_("Date consent expires"), null=True, blank=True)
    withdrawn_reason = EncryptedTextField(_("Reason for withdrawal"), blank=True)

    class Meta:
        # The home page's "consents expiring" reads only the few consents that expire: without this index
        # PostgreSQL under row-level security walked every consent of the organisation (40-55 ms).
        indexes = [models.Index(fields=["organisation", "con_ExpiryDate"], name="consent_org_expiry",
                                condition=models.Q(con_ExpiryDate__isnull=False))]  # fmt: skip


class QuestionSet(models.Model):
    """The organisation's risk and vulnerability questions; defaults to the standard's examples."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    name = models.CharField(_("Name"), max_length=255)
    # [{"code": ..., "level": "Individual", "text": ..., "answers": [...]}]
    questions = models.JSONField(default=list)
    active = models.BooleanField(default=True)


class Assessment(models.Model):
    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, models.CASCADE, related_name="assessments")
    person = models.ForeignKey(Person, models.SET_NULL, null=True, blank=True, related_name="+")
    question_set = models.ForeignKey(QuestionSet, models.SET_NULL, null=True, blank=True, related_name="+")
    asm_Level = models.CharField(_("Assessment level"), max_length=16)
    asm_Date = models.DateField(_("Assessment date"), null=True, blank=True)
    # [{"question": code, "answer": value}] : no free text here, answer notes go to the encrypted notes.
    answers = models.JSONField(default=list, blank=True)
    # JSON {code: note} of per-answer notes, encrypted since it is free text.
    answer_notes = EncryptedTextField(blank=True)
    asm_Notes = EncryptedTextField(_("Notes"), blank=True)


class CaseEvent(models.Model):
    """The case's lifecycle: opened, status changed, closed, reopened, reassigned, referred."""

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, models.CASCADE, related_name="lifecycle", db_index=False)
    kind = models.CharField(max_length=32)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    detail = models.JSONField(default=dict, blank=True)  # status values and user ids only, never free text
    note = EncryptedTextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["case", "at"])]


class AccessRequest(models.Model):
    """A user's request to work on a person's cases they cannot open, made when the duplicate check found a
    possible match among them. The requester never learns whom it matched; a supervisor decides."""

    class Outcome(models.TextChoices):
        PENDING = "", _("Waiting")
        GRANTED = "granted", _("Granted")
        DECLINED = "declined", _("Declined")

    organisation = models.ForeignKey(ORG, models.CASCADE, related_name="+")
    uid = models.UUIDField(default=uuid4, unique=True, editable=False)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="+")
    person = models.ForeignKey(Person, models.CASCADE, related_name="+", db_index=False)
    note = EncryptedTextField(_("Why you need access"), blank=True)
    created = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, blank=True, default="")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organisation", "outcome", "created"], name="accessreq_org_pending")]
