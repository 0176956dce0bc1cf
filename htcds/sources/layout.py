"""The column order of IOM's official HTCDS Excel templates, with their quirks corrected.

Exports and blank templates use this order so people who know the official sheet find their columns; the
misspelt field name is spelt right, the address labels follow the names, and the outgoing-referral reason
has its field name.
"""

from __future__ import annotations

from htcds.catalogue import Field, load

TEMPLATE_FIELDS: tuple[str, ...] = (
    "cas_CaseOwner", "prs_Salutation", "prs_FirstName", "prs_SecondName", "con_Consent", "prs_Birthdate",
    "prs_Gender", "prs_Citizenship", "prs_Title", "prs_Email", "prs_HomePhone", "prs_MobilePhone",
    "prs_MailingCity", "prs_MailingCountry", "prs_MailingState", "prs_MailingStreet", "prs_MailingPostalCode",
    "vic_TraffickingStatus", "vic_TraffickingStatusDecisionMakingOrg", "vic_MethodOfRecruitment",
    "vic_LocationOfRecruitment", "vic_MethodsOfControl", "vic_TypeOfExploitation", "vic_ForcedLabourIndustry",
    "vic_TypeOfSexExploitation", "vic_LocationOfExploitation", "cas_Status", "cas_ReferringOrganisation",
    "cas_IncomingReferralDate", "cas_ReferringPrimaryCaseWorker", "cas_ReasonForIncomingReferral",
    "cas_IncomingReferralDetails", "cas_ReferredOrganisation", "cas_ReferredPrimaryCaseWorker",
    "cas_ReasonForOutgoingReferral", "cas_OutgoingReferralDate", "cas_OutgoingReferralDetails",
    "cas_ReasonForCaseClosure",
)  # fmt: skip

# Entities a one-row-per-case sheet can hold: the case, its victim (person and context), consent, referrals.
ROW_ENTITIES = ("case", "person", "victim", "consent", "referral")
ID_COLUMN = "id"
# Phare's own exports: the uid of the row's victim record beside the case number, and the case's dates.
RECORD_COLUMN = "record_uid"
CASE_DATES = ("cas_OpenedDate", "cas_ClosedDate")
# What Phare adds to the rows an import rejected (htcds.sources.rejected), skipped when they come back corrected.
ROW_COLUMN, PROBLEMS_COLUMN = "phare_row", "phare_problems"
EXTRA_COLUMNS = frozenset({ROW_COLUMN, PROBLEMS_COLUMN})


def sheet_fields(extended: bool = False) -> list[Field]:
    """The template's fields, then (extended) every other non-deprecated field a case row can hold."""
    cat = load()
    fields = [cat[n] for n in TEMPLATE_FIELDS]
    if extended:
        fields += [f for f in cat.fields if f.name not in TEMPLATE_FIELDS and f.entity in ROW_ENTITIES
                   and f.status != "DEPRECATED"]  # fmt: skip
    return fields
