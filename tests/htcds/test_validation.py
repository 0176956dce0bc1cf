from __future__ import annotations

from typing import Any

from htcds.validation import CODES, validate_batch, validate_bundle, validate_record


def good_bundle() -> dict[str, Any]:
    return {
        "htcds_version": "2.0",
        "case": {"id": "c1", "cas_Status": "Active", "cas_OpenedDate": "2024-03-01", "cas_CaseOwner": "amina"},
        "persons": [
            {"id": "p1", "prs_FirstName": "Tavo", "prs_Gender": "Feminine", "prs_Birthdate": "1999-05-04",
             "prs_Citizenship": ["NG"], "prs_MobilePhone": "+2348031234567", "prs_PrimaryLanguage": "eng"},
            {"id": "p2", "prs_FirstName": "Kelo", "prs_Gender": "Masculine"},
        ],
        "participants": [
            {"person": "p1", "role": "Victim", "vic_TraffickingStatus": "ActualVictimOfTrafficking",
             "vic_TypeOfExploitation": ["ForcedLabour"], "vic_MethodsOfControl": ["DebtBondage", "WithholdsDocuments"],
             "vic_ForcedLabourIndustry": "C_Manufacturing", "vic_ForcedLabourIndustryTier2": "C13_ManufactureOfTextiles",
             "vic_AgeWhenTrafficked": 19},
            {"person": "p2", "role": "Perpetrator", "per_RoleInProcess": ["RecruiterOrIntermediary"]},
        ],
        "referrals": [{"direction": "Incoming", "cas_ReferringOrganisation": "Police Lagos",
                       "cas_IncomingReferralDate": "2024-02-28", "cas_ReasonForIncomingReferral": "Other"}],
        "comments": [{"cco_CaseComment": "First interview done.", "cco_CreatedDate": "2024-03-02"}],
        "events": [{"hte_Type": "Exploitation", "hte_Country": "IT", "hte_Date": "2023-06-01", "person": "p1"}],
        "support_plans": [{"person": "p1", "spl_Type": "Health", "spl_StartDate": "2024-03-05",
                           "spl_PlannedEndDate": "2024-09-05"}],
        "consents": [{"person": "p1", "con_Consent": True, "con_Purpose": ["CaseManagement", "Research"],
                      "con_Date": "2024-03-01", "con_HowInformed": "WithInterpreter"}],
        "assessments": [{"person": "p1", "asm_Level": "Individual", "asm_Date": "2024-03-03",
                         "answers": [{"question": "ind_age", "answer": "Yes"}]}],
    }  # fmt: skip


def codes(problems: list[Any]) -> list[str]:
    return [p.code for p in problems]


def test_it_accepts_a_complete_valid_bundle() -> None:
    assert validate_bundle(good_bundle()) == []


def test_it_reports_every_problem_at_once_with_row_field_value_and_suggestion() -> None:
    b = good_bundle()
    b["persons"][0]["prs_Gender"] = "Feminine "
    b["persons"][0]["prs_Citizenship"] = ["Nigeria"]
    b["persons"][0]["prs_Birthdate"] = "04/05/1999"
    b["participants"][0]["vic_MethodsOfControl"] = ["Debt bondage "]
    b["case"]["cas_Status"] = "Follow up"
    problems = validate_bundle(b, row=7)
    by_field = {p.field: p for p in problems}
    assert set(by_field) == {"prs_Gender", "prs_Citizenship", "prs_Birthdate", "vic_MethodsOfControl", "cas_Status"}
    assert all(p.row == 7 for p in problems)
    assert by_field["vic_MethodsOfControl"].suggestion == "DebtBondage"
    assert by_field["vic_MethodsOfControl"].path == "participants[0].vic_MethodsOfControl"
    assert by_field["vic_MethodsOfControl"].value == ["Debt bondage "]
    assert by_field["cas_Status"].suggestion == "FollowUp"
    assert by_field["prs_Gender"].suggestion == "Feminine"
    assert by_field["prs_Citizenship"].code == "invalid-country"
    assert by_field["prs_Citizenship"].suggestion == "NG"
    assert by_field["prs_Birthdate"].suggestion == "1999-05-04"
    assert "DebtBondage" in str(by_field["vic_MethodsOfControl"])


def test_it_uses_only_documented_codes() -> None:
    b = good_bundle()
    b["case"]["cas_Status"] = "Closed"
    b["case"]["bogus"] = 1
    b["persons"][0]["prs_Email"] = "not an email"
    b["persons"][0]["vic_TraffickingStatus"] = "ActualVictimOfTrafficking"
    b["participants"][1]["vic_MethodsOfControl"] = ["DebtBondage"]
    b["participants"].append({"person": "p9", "role": "Victim"})
    b["referrals"][0]["cas_OutgoingReferralDate"] = "2024-01-01"
    b["support_plans"][0]["spl_ActualEndDate"] = "2020-01-01"
    b["assessments"][0]["answers"].append({"question": "nope", "answer": "Yes"})
    b["participants"][0]["vic_ForcedLabourIndustryTier2"] = "A01_CropAndAnimalProductionHuntingAndRelatedServiceActivities"
    found = codes(validate_bundle(b))
    assert set(found) <= set(CODES)
    for expected in ("closure-reason-required", "unknown-field", "invalid-email", "wrong-entity", "field-not-for-role",
                     "unknown-reference", "field-not-for-direction", "date-order", "unknown-question",
                     "inconsistent-subdivision"):  # fmt: skip
        assert expected in found, expected


def test_it_rejects_wrong_types_without_crashing() -> None:
    b = good_bundle()
    b["persons"][0]["prs_Citizenship"] = "NG"  # a multi-select must be a list
    b["participants"][0]["vic_AgeWhenTrafficked"] = "nineteen"
    b["participants"][0]["vic_TypeOfExploitation"] = [3]
    b["consents"][0]["con_Consent"] = "yes"
    b["comments"] = "not a list"
    found = validate_bundle(b)
    assert sorted(codes(found)) == ["invalid-number", "invalid-type", "invalid-type", "invalid-type", "not-a-list"]
    consent = next(p for p in found if p.field == "con_Consent")
    assert consent.suggestion == "true"


def test_it_flags_future_birth_dates_impossible_dates_and_ranges() -> None:
    b = good_bundle()
    b["persons"][0]["prs_Birthdate"] = "2999-01-01"
    b["events"][0]["hte_Date"] = "2023-02-30"
    b["participants"][0]["vic_AgeWhenTrafficked"] = 400
    assert sorted(codes(validate_bundle(b))) == ["future-date", "invalid-date", "out-of-range"]


def test_it_says_why_a_text_shaped_like_a_date_names_no_day() -> None:
    def said(value: str) -> tuple[str, str, str | None]:
        b = good_bundle()
        b["persons"][0]["prs_Birthdate"] = value
        (p,) = validate_bundle(b)
        return p.code, p.message, p.suggestion

    # Sheets may write dates day or month first, so "not YYYY-MM-DD" would not tell the person what is wrong.
    assert said("31/31/2020") == ("invalid-date", "'31/31/2020' is not a real date: 31 cannot be the month.", None)
    assert said("31/13/2020")[1] == "'31/13/2020' is not a real date: neither 13 nor 31 can be the month."
    assert said("30/02/2021")[1] == "'30/02/2021' is not a real date: February 2021 has no day 30."
    assert said("2023-02-29")[1] == "'2023-02-29' is not a real date: February 2023 has no day 29."
    assert said("2023-13-01")[1] == "'2023-13-01' is not a real date: 13 cannot be the month."
    # A real date in another form keeps its reading as the fix; text that is no date keeps the form to use.
    assert said("12/31/1990") == ("invalid-date", "'12/31/1990' is not a date in the form YYYY-MM-DD.", "1990-12-31")
    assert said("last spring")[1] == "'last spring' is not a date in the form YYYY-MM-DD."


def test_it_warns_about_deprecated_fields_without_failing() -> None:
    b = good_bundle()
    b["participants"][0]["vic_Vulnerabilities"] = ["Poverty"]
    problems = validate_bundle(b)
    assert [(p.code, p.severity) for p in problems] == [("deprecated-field", "warning")]


def test_it_numbers_rows_in_a_batch() -> None:
    bad = good_bundle()
    bad["case"]["cas_Status"] = "Open"
    problems = validate_batch([good_bundle(), bad, good_bundle(), bad], first_row=2)
    assert [p.row for p in problems] == [3, 5]


def test_it_validates_a_single_record() -> None:
    assert validate_record("person", {"prs_Gender": "Feminine"}) == []
    assert codes(validate_record("person", {"prs_Gender": "F"})) == ["invalid-choice"]
    assert codes(validate_record("case", {"cas_Status": "ClosedReferred"})) == ["closure-reason-required"]


def test_it_refuses_non_objects() -> None:
    assert codes(validate_bundle([1, 2])) == ["not-an-object"]
    assert codes(validate_bundle({"persons": []})) == ["missing-required"]


def test_it_refuses_control_characters_in_text_with_a_cleaned_suggestion() -> None:
    b = good_bundle()
    b["persons"][0]["prs_FirstName"] = "Ta\x00vo"
    b["referrals"][0]["cas_ReferringOrganisation"] = "Police\x07"
    b["comments"][0]["cco_CaseComment"] = "Line one\nline two\tend"  # ordinary whitespace is fine
    found = validate_bundle(b)
    assert [(p.code, p.field, p.suggestion) for p in found] == [
        ("invalid-character", "prs_FirstName", "Tavo"),
        ("invalid-character", "cas_ReferringOrganisation", "Police"),
    ]
    assert codes(validate_record("organisation", {"org_Name": "Shelter\x00"})) == ["invalid-character"]


def test_it_calls_a_date_future_only_once_no_time_zone_has_reached_it() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo, available_timezones

    from htcds import validation

    zones = [ZoneInfo(z) for z in available_timezones()]
    for instant in (datetime(2026, 12, 6, 23, 30, tzinfo=UTC), datetime(2026, 12, 7, 0, 30, tzinfo=UTC),
                    datetime(2026, 12, 7, 10, 30, tzinfo=UTC), datetime(2026, 12, 7, 9, 30, tzinfo=UTC)):  # fmt: skip
        latest = max(instant.astimezone(z).date().isoformat() for z in zones)
        assert validation._today(instant) == latest


def test_it_accepts_todays_date_in_a_process_that_ran_past_midnight(monkeypatch: Any) -> None:
    from htcds import validation
    from htcds.catalogue import load

    day = ["2026-12-06"]
    monkeypatch.setattr(validation, "_today", lambda now=None: day[0])
    check = validation.compile_field(load()["cco_CreatedDate"])
    assert check("2026-12-07")[0] == "future-date"  # type: ignore[index]
    day[0] = "2026-12-07"  # the clock passed midnight after the checker was made
    assert check("2026-12-07") is None
    assert check("2026-12-08")[0] == "future-date"  # type: ignore[index]
