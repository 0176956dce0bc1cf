from __future__ import annotations

import copy
import csv
import gc
import random
from collections import Counter
from functools import cache
from typing import Any

import jsonschema
import phonenumbers
import pytest

from htcds import validation
from htcds.generate import AGE_BANDS, MISSING, MISTAKES, frequencies, generate_bundles, generate_invalid
from htcds.schema import bundle_schema
from htcds.validation import validate_bundle

from .conftest import shared_dir


@cache
def schema_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(bundle_schema(), format_checker=jsonschema.FormatChecker())


@cache
def many() -> tuple[dict[str, Any], ...]:
    # One shared sample keeps the suite fast; 20,000 bundles put sampling error near 0.3 percentage points.
    # The collector is paused while it is built: it would otherwise rescan the growing sample again and again.
    gc.disable()
    try:
        return tuple(generate_bundles(20_000, seed=7))
    finally:
        gc.enable()


def share(counts: dict[str, int], wanted: str) -> float:
    return counts.get(wanted, 0) / sum(counts.values())


def victim(b: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in b["participants"] if p["role"] != "Perpetrator")


def test_it_generates_bundles_htcds_validation_accepts_without_any_problem() -> None:
    for row, b in enumerate(many()):
        assert validate_bundle(b, row) == []
    # The full path too, so a fast-path slip cannot hide a bad generator.
    for b in many()[:500]:
        assert validation._validate_full(b, None, []) == []


def test_it_generates_bundles_the_json_schema_accepts() -> None:
    v = schema_validator()
    for b in many()[:120]:
        assert [e.message for e in v.iter_errors(b)] == []


def test_it_is_deterministic_for_a_seed() -> None:
    assert list(generate_bundles(50, seed=3)) == list(generate_bundles(50, seed=3))
    assert list(generate_bundles(50, seed=3)) != list(generate_bundles(50, seed=4))


def test_it_leaves_out_whole_blocks_without_changing_the_others() -> None:
    """Processes sharing out a demo each generate every other block: together they give what one process gives."""
    from htcds.generate import BLOCK

    n = 2 * BLOCK + 7
    whole = list(generate_bundles(n, seed=5))
    even = list(generate_bundles(n, seed=5, blocks=lambda b: b % 2 == 0))
    odd = list(generate_bundles(n, seed=5, blocks=lambda b: b % 2 == 1))
    assert len(even) == BLOCK + 7 and len(odd) == BLOCK
    assert even == whole[:BLOCK] + whole[2 * BLOCK :] and odd == whole[BLOCK : 2 * BLOCK]


def test_it_follows_the_ctdc_frequency_tables() -> None:
    freq = frequencies()["marginals"]
    bundles = many()
    n = len(bundles)
    genders = Counter(b["persons"][0]["prs_Gender"] for b in bundles)
    assert genders["Feminine"] / n == pytest.approx(share(freq["gender"], "Female"), abs=0.015)
    assert genders["Masculine"] / n == pytest.approx(share(freq["gender"], "Male"), abs=0.015)
    types = [victim(b).get("vic_TypeOfExploitation", []) for b in bundles]
    forced = sum("ForcedLabour" in t for t in types) / n
    sexual = sum("SexualExploitation" in t for t in types) / n
    assert forced == pytest.approx(share(freq["isForcedLabour"], "1"), abs=0.015)
    assert sexual == pytest.approx(share(freq["isSexualExploit"], "1"), abs=0.015)
    years = Counter(b["case"]["cas_OpenedDate"][:4] for b in bundles)
    assert years["2016"] / n == pytest.approx(share(freq["yearOfRegistration"], "2016"), abs=0.015)
    cit = Counter((b["persons"][0].get("prs_Citizenship") or [MISSING])[0] for b in bundles)
    for country in ("PH", MISSING, "UA", "MD"):
        assert cit[country] / n == pytest.approx(share(freq["citizenship"], country), abs=0.015)
    no_age = sum("prs_Birthdate" not in b["persons"][0] for b in bundles) / n
    assert no_age == pytest.approx(share(freq["ageBroad"], MISSING), abs=0.015)
    purposes = [b["consents"][0].get("con_Purpose", []) for b in bundles]
    assert sum("CaseManagement" in p for p in purposes) / n > 0.9
    assert sum("Research" in p for p in purposes) / n == pytest.approx(0.6, abs=0.02)


def age_on(born: str, on: str) -> int:
    return int(on[:4]) - int(born[:4]) - (on[5:] < born[5:])


def test_it_keeps_related_values_consistent() -> None:
    bands = list(AGE_BANDS.values())
    for b in many()[:5000]:
        case, person, vic = b["case"], b["persons"][0], victim(b)
        if case["cas_Status"].startswith("Closed"):
            assert case["cas_ReasonForCaseClosure"] and case["cas_ClosedDate"] >= case["cas_OpenedDate"]
        else:
            assert "cas_ClosedDate" not in case
        if "prs_Birthdate" in person:
            age = age_on(person["prs_Birthdate"], case["cas_OpenedDate"])
            assert any(lo <= age <= hi for lo, hi in bands)
            assert 0 <= vic["vic_AgeWhenTrafficked"] <= age
        types = vic.get("vic_TypeOfExploitation", [])
        assert "vic_ForcedLabourIndustry" not in vic or "ForcedLabour" in types
        assert "vic_TypeOfSexExploitation" not in vic or "SexualExploitation" in types
        events = {e["hte_Type"]: e for e in b["events"]}
        assert "Exploitation" in events and 1 <= len(b["events"]) <= 3
        if "Recruitment" in events:
            assert events["Recruitment"].get("hte_Country") == (person.get("prs_Citizenship") or [None])[0]
            assert events["Recruitment"]["hte_Date"] <= events["Exploitation"]["hte_Date"] <= case["cas_OpenedDate"]
        assert len(b.get("referrals", [])) <= 2 and len(b.get("comments", [])) <= 4
        assert len(b.get("support_plans", [])) <= 2 and len(b.get("assessments", [])) <= 1


def test_it_leaves_open_cases_weeks_of_overdue_plans_not_years() -> None:
    """The demo's case worker opens their home to the plans due on their open cases: old open cases must not bring
    plans a decade late, while a plan a few weeks late stays, for the worklist to show."""
    from datetime import date

    today = date(2026, 6, 1)
    late: list[int] = []
    for b in generate_bundles(4000, seed=11, today=today):
        if b["case"]["cas_Status"].startswith("Closed"):
            continue
        for plan in b.get("support_plans", []):
            assert b["case"]["cas_OpenedDate"] <= plan["spl_StartDate"] <= today.isoformat()
            assert plan["spl_StartDate"] < plan["spl_PlannedEndDate"]
            if "spl_ActualEndDate" not in plan and plan["spl_PlannedEndDate"] < today.isoformat():
                late.append((today - date.fromisoformat(plan["spl_PlannedEndDate"])).days)
    assert late and max(late) <= 60


def test_it_makes_phone_numbers_valid_for_the_persons_country() -> None:
    checked = 0
    for b in many()[:1500]:
        person = b["persons"][0]
        if "prs_MobilePhone" in person and "prs_Citizenship" in person:
            number = phonenumbers.parse(person["prs_MobilePhone"])
            assert phonenumbers.is_valid_number_for_region(number, person["prs_Citizenship"][0]), person
            checked += 1
    assert checked > 500


def test_it_embeds_the_shared_counts_unchanged() -> None:
    path = shared_dir() / "data" / "ctdc-2020-marginals.csv"
    if not path.is_file():
        pytest.skip(f"shared CTDC tables not found at {path}")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    embedded = frequencies()["marginals"]
    assert {(r["variable"], r["value"]): int(r["count"]) for r in rows} == {
        (var, value): count for var, counts in embedded.items() for value, count in counts.items()
    }


def test_it_injects_mistakes_that_both_validators_reject() -> None:
    rng = random.Random(5)
    v = schema_validator()
    for kind in MISTAKES:
        made = 0
        for b in many()[:40]:
            try:
                bad = generate_invalid(b, rng, kind)
            except ValueError:
                continue  # e.g. no phone number to misformat
            made += 1
            assert validation.errors(validate_bundle(bad)), (kind, bad)
            assert not v.is_valid(bad), (kind, bad)
        assert made >= 10, kind


def test_it_leaves_the_original_bundle_untouched() -> None:
    rng = random.Random(1)
    for b in many()[:200]:
        before = copy.deepcopy(b)
        generate_invalid(b, rng)
        assert b == before


def test_it_reports_the_same_problems_on_the_fast_and_full_paths() -> None:
    # validate_bundle answers valid bundles from a fast path; every problem must still come out exactly as the
    # full validation words it.
    rng = random.Random(9)
    for b in many()[:800]:
        bad = generate_invalid(b, rng)
        fast = [p.to_dict() for p in validate_bundle(bad, 3)]
        full = [p.to_dict() for p in validation._validate_full(bad, 3, [])]
        assert fast == full and full
