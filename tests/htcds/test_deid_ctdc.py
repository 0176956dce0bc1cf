"""The HTCDS 2.0 -> CTDC crosswalk on hand-built records."""

from __future__ import annotations

from htcds.catalogue import load
from htcds.deid.ctdc import (
    CROSSWALK,
    CTDC_COLUMNS,
    SYNTHETIC_COLUMNS,
    crosswalk_table,
    to_ctdc_row,
    to_ctdc_rows,
)

RECORD: dict[str, object] = {
    "con_Purposes": ["CaseManagement", "Research"],
    "vic_TraffickingStatus": "ActualVictimOfTrafficking",
    "prs_Gender": "Feminine",
    "prs_Birthdate": "2000-06-15",
    "cas_OpenedDate": "2018-06-14",
    "prs_Citizenship": ["PH", "US"],
    "vic_AgeWhenTrafficked": 16,
    "vic_RelationshipToTrafficker": "Familial",
    "vic_MethodsOfControl": ["DebtBondage ", "ThreatsLawEnforcement", "PsychoactiveSubstance"],
    "vic_TypeOfExploitation": ["ForcedLabour", "ForcedBegging"],
    "vic_ForcedLabourIndustry": "T_ActivitiesOfHouseholdsAsEmployers",
    "hte_Events": [
        {"hte_Type": "Recruitment", "hte_Country": "PH"},
        {"hte_Type": "Exploitation", "hte_Country": "my"},
        {"hte_Type": "Exploitation", "hte_Country": "SG"},
    ],
}


def test_it_derives_a_full_ctdc_row() -> None:
    row = to_ctdc_row(RECORD)
    assert list(row) == list(CTDC_COLUMNS)
    assert row["yearOfRegistration"] == "2018"
    assert row["Datasource"] == "Case Management"
    assert row["gender"] == "Female"
    # One day before the 18th birthday on the opening date: still a minor.
    assert (row["ageBroad"], row["majorityStatus"]) == ("9--17", "Minor")
    assert row["majorityEntry"] == row["majorityStatusAtExploit"] == "Minor"
    assert row["citizenship"] == "PH"
    assert row["CountryOfExploitation"] == "MY"
    assert row["meansOfControlDebtBondage"] == "1"
    assert row["meansOfControlThreatOfLawEnforcement"] == "1"
    assert row["meansOfControlPsychoactiveSubstances"] == "1"
    assert row["meansOfControlPhysicalAbuse"] == "0"
    assert row["meansOfControlRestrictsMovement"] == "(missing)"
    assert row["meansOfControlNotSpecified"] == "0"
    assert (row["isForcedLabour"], row["isSexualExploit"], row["isOtherExploit"]) == ("1", "0", "0")
    assert row["typeOfLabourDomesticWork"] == "1" and row["typeOfLabourBegging"] == "1"
    assert row["typeOfLabourAgriculture"] == "0" and row["typeOfLabourOther"] == "0"
    assert row["typeOfLabourPeddling"] == "(missing)" and row["typeOfLabourNotSpecified"] == "0"
    assert row["typeOfSexProstitution"] == "(missing)"
    assert row["isAbduction"] == "(missing)"
    assert row["recruiterRelationFamily"] == "1" and row["recruiterRelationUnknown"] == "0"
    assert row["recruiterRelationIntimatePartner"] == "(missing)"


def test_it_marks_unknowns_as_missing_not_as_zero() -> None:
    row = to_ctdc_row({"prs_Gender": "NonConforming", "vic_TypeOfExploitation": ["SexualExploitation"]})
    assert row["gender"] == "Unknown"
    assert row["yearOfRegistration"] == row["ageBroad"] == row["citizenship"] == "(missing)"
    assert row["meansOfControlDebtBondage"] == "(missing)" and row["meansOfControlNotSpecified"] == "1"
    assert row["isSexualExploit"] == "1" and row["isForcedLabour"] == "0"
    assert row["typeOfLabourAgriculture"] == "(missing)"
    assert row["typeOfSexPornography"] == "(missing)"  # sexual exploitation, but no type recorded
    assert row["recruiterRelationUnknown"] == "1"
    assert row["CountryOfExploitation"] == "(missing)"


def test_it_filters_on_research_consent_and_victim_status_and_counts_both() -> None:
    records = [
        RECORD,
        {**RECORD, "vic_TraffickingStatus": "PossibleVictimOfTrafficking"},
        {**RECORD, "vic_TraffickingStatus": "NotAVictimOfTrafficking"},
        {**RECORD, "con_Purposes": ["CaseManagement"]},
        {**RECORD, "con_Purposes": None, "vic_TraffickingStatus": "NotAVictimOfTrafficking"},
    ]
    export = to_ctdc_rows(records)
    assert export.counts() == {
        "records_in": 5,
        "excluded_no_research_consent": 2,
        "excluded_not_a_victim": 1,
        "excluded_repeat_participation": 0,
        "records_out": 2,
    }
    synthetic = to_ctdc_rows(records, synthetic_columns_only=True)
    assert list(synthetic.rows[0]) == list(SYNTHETIC_COLUMNS)


def test_it_documents_every_column_and_what_cannot_be_derived() -> None:
    by_column = {entry.column: entry for entry in CROSSWALK}
    assert len(by_column) == len(CROSSWALK)
    for column in ("gender", "isAbduction", "typeOfLabourPeddling", "recruiterRelationIntimatePartner"):
        assert not by_column[column].exact and by_column[column].caveat
    assert set(SYNTHETIC_COLUMNS) <= set(by_column)
    assert all(e["exact"] or e["caveat"] for e in crosswalk_table())


def test_it_keeps_one_row_per_person_and_counts_the_repeats() -> None:
    # The unit of privacy is a person: their later qualifying records are dropped; records without a person id
    # (none is known) are each kept.
    records = [{**RECORD, "person": "p1"}, {**RECORD, "person": "p2", "prs_Gender": "Masculine"},
               {**RECORD, "person": "p1", "prs_Gender": "Masculine"}, {**RECORD, "person": None},
               {**RECORD, "person": None}]  # fmt: skip
    export = to_ctdc_rows(records, person_field="person")
    assert export.counts()["excluded_repeat_participation"] == 1 and len(export.rows) == 4
    assert [r["gender"] for r in export.rows[:2]] == ["Female", "Male"]  # p1's first record, not their later one
    assert len(to_ctdc_rows(records).rows) == 5  # without person_field every record is its own row


def test_it_names_only_real_htcds_fields_as_the_source_of_a_column() -> None:
    # The crosswalk is what a reviewer reads to trust the export: a misspelt source field would send them
    # looking for a field that does not exist.
    fields = {f.name for f in load().fields}
    assert {name for entry in CROSSWALK for name in entry.htcds_fields} <= fields


def test_it_sets_the_type_of_sexual_exploitation_only_for_sexual_exploitation() -> None:
    sexual = to_ctdc_row(
        {"vic_TypeOfExploitation": ["SexualExploitation"], "vic_TypeOfSexExploitation": ["Pornography"]}
    )
    assert sexual["isSexualExploit"] == "1"
    assert (sexual["typeOfSexPornography"], sexual["typeOfSexProstitution"]) == ("1", "0")
    # A type of sexual exploitation left over on a victim now recorded as forced labour only is not sent.
    labour = to_ctdc_row({"vic_TypeOfExploitation": ["ForcedLabour"], "vic_TypeOfSexExploitation": ["Pornography"]})
    assert labour["isSexualExploit"] == "0"
    assert labour["typeOfSexPornography"] == labour["typeOfSexProstitution"] == "(missing)"
