"""Factories for the referral tests: two organisations of one instance, a case to refer (plain functions)."""

from __future__ import annotations

from datetime import date

from phare.accounts.models import Organisation, Role, User
from phare.cases import actions
from phare.cases.models import Case
from phare.referrals import actions as referrals

PASSWORD = "correct horse battery staple"


def org(slug: str, name: str = "", listed: bool = True, services: tuple[str, ...] = ("Legal", "Health")) -> Organisation:
    o = Organisation.objects.create(slug=slug, org_Name=name or slug.title(), org_ShippingCountry="NG")
    if listed:
        admin = user(o, Role.ADMIN, f"{slug}-admin")
        referrals.list_organisation(admin, {"services": list(services), "countries": ["ng"], "area": "Lagos"})
    return o


def user(o: Organisation, role: str = Role.CASE_WORKER, username: str = "") -> User:
    return User.objects.create_user(username=username or f"{o.slug}-{role}", password=PASSWORD, organisation=o, role=role)


def rich_case(actor: User) -> Case:
    """A case with something in every part, and things no part carries (a perpetrator, a comment)."""
    case = actions.open_case(actor, person_data={
        "prs_FirstName": "Amaka", "prs_SecondName": "Obi", "prs_Gender": "Feminine", "prs_Birthdate": date(1999, 4, 2),
        "prs_MobilePhone": "+2348031234567", "prs_Email": "amaka@example.org", "prs_IdentityNumber": "A1234567",
        "prs_MailingCity": "Lagos", "prs_MailingStreet": "12 Marina", "prs_PrimaryLanguage": "yor",
    }, context={"vic_TypeOfExploitation": ["ForcedLabour"], "vic_TraffickingStatus": "PossibleVictimOfTrafficking",
                "vic_Vulnerabilities": ["Poverty"], "vic_DetailsOfVulnerabilities": "Lost her job in March."})  # fmt: skip
    actions.add_participant(actor, case, role="Perpetrator", person_data={"prs_FirstName": "Bad", "prs_SecondName": "Actor"},
                            context={"per_RoleDetails": "Recruiter"})  # fmt: skip
    actions.add_comment(actor, case, "Private note: she fears her uncle.")
    actions.add_event(actor, case, {"hte_Type": "Exploitation", "hte_Country": "NG", "hte_Description": "Farm near Ibadan"})
    actions.add_support_plan(actor, case, {"spl_Type": "Legal", "spl_Objectives": "Residence permit",
                                           "spl_ActionPlan": "Meet the lawyer on Monday"})  # fmt: skip
    return case
