from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from htcds.schema import bundle_schema, entity_schema, write_all
from tests.htcds.test_validation import good_bundle


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = bundle_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_it_accepts_a_valid_bundle(validator: jsonschema.Draft202012Validator) -> None:
    assert list(validator.iter_errors(good_bundle())) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("persons", 0, "prs_Gender"), "Feminine "),
        (("participants", 0, "vic_MethodsOfControl"), ["Debt bondage "]),
        (("persons", 0, "prs_Citizenship"), ["NGA"]),
        (("persons", 0, "prs_Birthdate"), "04/05/1999"),
        (("persons", 0, "prs_MobilePhone"), "0803 123"),
        (("case", "cas_Status"), "Closed"),  # no reason for closure
        (("participants", 1, "vic_MethodsOfControl"), ["DebtBondage"]),  # victim context on a perpetrator
        (("referrals", 0, "cas_OutgoingReferralDate"), "2024-01-01"),  # outgoing field on incoming referral
        (("case", "cas_Unknown"), "x"),
    ],
)
def test_it_rejects_what_the_validator_rejects(validator: jsonschema.Draft202012Validator, path: tuple, value: object) -> None:  # type: ignore[type-arg]
    b = copy.deepcopy(good_bundle())
    target = b
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert not validator.is_valid(b)


def test_it_writes_one_schema_per_entity_and_one_for_the_bundle(tmp_path: Path) -> None:
    written = write_all(tmp_path)
    names = sorted(p.name for p in written)
    assert "bundle.schema.json" in names and "person.schema.json" in names and "assessment.schema.json" in names
    for p in written:
        schema = json.loads(p.read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)


def test_it_validates_a_person_with_its_entity_schema() -> None:
    v = jsonschema.Draft202012Validator(entity_schema("person"))
    assert v.is_valid({"id": "p1", "prs_Gender": "Masculine", "prs_Citizenship": ["GH", "TG"]})
    assert not v.is_valid({"prs_Gender": "M"})
