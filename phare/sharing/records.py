"""Flat HTCDS records of an organisation's victims, the input of every de-identified release.

One record per victim participant of a case, keyed by HTCDS names (what `htcds.deid.ctdc` expects), with the
person's row id under PERSON_FIELD so that a release can keep one row per person.
Read in a handful of bulk queries rather than per case, so that a release over 200,000 cases stays a
matter of seconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from django.utils import timezone

from phare.cases.consents import live
from phare.cases.models import Case as CaseModel
from phare.cases.models import CaseParticipant, Consent, Person, TraffickingEvent

VICTIM_FIELDS = [
    "vic_TraffickingStatus", "vic_RelationshipToTrafficker", "vic_AgeWhenTrafficked", "vic_MethodOfRecruitment",
    "vic_MethodsOfControl", "vic_TypeOfExploitation", "vic_ForcedLabourIndustry", "vic_TypeOfSexExploitation",
]  # fmt: skip


PERSON_FIELD = "person_id"


def victim_records(organisation_id: int, chunk: int = 20000) -> Iterator[dict[str, Any]]:
    participants = (
        CaseParticipant.objects.filter(organisation_id=organisation_id, role__in=["Victim", "PotentialVictim"])
        .order_by("id")
        .values("id", "case_id", "person_id", *VICTIM_FIELDS)
    )
    last = 0
    while True:
        batch = list(participants.filter(id__gt=last)[:chunk])
        if not batch:
            return
        last = batch[-1]["id"]
        case_ids = {p["case_id"] for p in batch}
        person_ids = {p["person_id"] for p in batch}
        cases = {c["id"]: c for c in CaseModel.objects.filter(id__in=case_ids).values("id", "cas_OpenedDate")}
        persons = {
            p["id"]: p
            for p in Person.objects.filter(id__in=person_ids).values("id", "prs_Gender", "prs_Birthdate", "prs_Citizenship")
        }
        events: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for e in TraffickingEvent.objects.filter(case_id__in=case_ids).values("case_id", "hte_Type", "hte_Country"):
            events[e["case_id"]].append({"hte_Type": e["hte_Type"], "hte_Country": e["hte_Country"]})
        purposes: dict[tuple[int, int | None], set[str]] = defaultdict(set)
        consents = live(Consent.objects.filter(case_id__in=case_ids), timezone.localdate())
        for c in consents.values("case_id", "person_id", "con_Purpose"):
            purposes[(c["case_id"], c["person_id"])].update(c["con_Purpose"] or [])
        for p in batch:
            person: dict[str, Any] = dict(persons.get(p["person_id"]) or {})
            yield {
                **{f: p[f] for f in VICTIM_FIELDS},
                "prs_Gender": person.get("prs_Gender"),
                "prs_Birthdate": person.get("prs_Birthdate"),
                "prs_Citizenship": person.get("prs_Citizenship") or [],
                "cas_OpenedDate": cases[p["case_id"]]["cas_OpenedDate"],
                "hte_Events": events.get(p["case_id"], []),
                "con_Purpose": sorted(purposes.get((p["case_id"], p["person_id"]), set())),
                PERSON_FIELD: p["person_id"],
                "case_id": p["case_id"],
            }
