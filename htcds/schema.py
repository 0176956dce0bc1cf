"""JSON Schema (draft 2020-12) generated from the catalogue, per entity and for a whole case bundle.

The schema says what one record may hold. Rules that span records (a participant's person must exist in the
bundle, a perpetrator has no victim context, a referral's fields match its direction) are checked by
`htcds.validation`, which reports them with stable codes; JSON Schema can express only some of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from htcds import codelists
from htcds.catalogue import (
    BUNDLE_LISTS,
    INCOMING_REFERRAL_FIELDS,
    OUTGOING_REFERRAL_FIELDS,
    PARTICIPANT_ROLES,
    REFERRAL_DIRECTIONS,
    TASK_FIELDS,
    TASK_REQUIRED,
    TASKS_KEY,
    Field,
    Kind,
    load,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE_ID = "urn:phare:htcds:2.0:"
_ENTITY_SOURCES = {"participant": ("victim", "perpetrator")}
_STRUCTURAL_PROPS: dict[str, dict[str, Any]] = {
    "case": {"id": {"type": "string"}},
    "person": {"id": {"type": "string"}},
    "organisation": {"id": {"type": "string"}},
    "participant": {
        "id": {"type": "string"},
        "person": {"type": "string"},
        "role": {"enum": list(PARTICIPANT_ROLES)},
    },
    "referral": {"id": {"type": "string"}, "direction": {"enum": list(REFERRAL_DIRECTIONS)}},
    "comment": {"id": {"type": "string"}, "author": {"type": "string"}},
    "event": {"id": {"type": "string"}, "person": {"type": "string"}},
    "support_plan": {"id": {"type": "string"}, "person": {"type": "string"}},
    "consent": {"id": {"type": "string"}, "person": {"type": "string"}},
    "assessment": {"id": {"type": "string"}, "person": {"type": "string"}},
}
_REQUIRED = {"participant": ["person", "role"], "referral": ["direction"]}
_DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}


def field_schema(f: Field) -> dict[str, Any]:
    item: dict[str, Any]
    if f.codelist == "country":
        item = {"enum": sorted(codelists.COUNTRY_ALPHA2)}
    elif f.codelist == "language":
        # The full ISO 639-3 list has nearly 8,000 codes; the pattern keeps the schema small and the
        # validator checks membership.
        item = {"type": "string", "pattern": "^[a-z]{3}$"}
    elif f.kind in (Kind.CHOICE, Kind.MULTI_CHOICE):
        item = {"enum": list(f.choice_names)}
    elif f.kind is Kind.DATE:
        item = dict(_DATE)
    elif f.kind is Kind.BOOLEAN:
        item = {"type": "boolean"}
    elif f.kind is Kind.INTEGER:
        item = {"type": "integer"}
    elif f.kind in (Kind.NUMBER, Kind.LATITUDE, Kind.LONGITUDE):
        item = {"type": "number"}
    elif f.kind is Kind.LOOKUP:
        item = {"type": "string", "minLength": 1, "maxLength": 255}
    else:
        item = {"type": "string"}
        if f.max_length:
            item["maxLength"] = f.max_length
        if f.text_format == "e164":
            item["pattern"] = codelists.E164_RE.pattern
        elif f.text_format == "email":
            item["pattern"] = codelists.EMAIL_RE.pattern
    if f.minimum is not None:
        item["minimum"] = f.minimum
    if f.maximum is not None:
        item["maximum"] = f.maximum
    out: dict[str, Any] = {"type": "array", "items": item, "uniqueItems": True} if f.kind is Kind.MULTI_CHOICE else item
    # null stands for "not recorded", as an empty cell does in the templates.
    out = {"anyOf": [out, {"type": "null"}]}
    out["title"] = f.label
    if f.description:
        out["description"] = f.description
    if f.status == "DEPRECATED":
        out["deprecated"] = True
    return out


def entity_schema(entity: str, standalone: bool = True) -> dict[str, Any]:
    cat = load()
    sources = _ENTITY_SOURCES.get(entity, (entity,))
    props: dict[str, Any] = dict(_STRUCTURAL_PROPS[entity])
    for f in cat.fields:
        if f.entity in sources:
            props[f.name] = field_schema(f)
    schema: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if entity in _REQUIRED:
        schema["required"] = _REQUIRED[entity]
    if entity == "case":
        schema["if"] = {
            "properties": {"cas_Status": {"enum": ["Closed", "ClosedReferred"]}},
            "required": ["cas_Status"],
        }
        schema["then"] = {
            "required": ["cas_ReasonForCaseClosure"],
            "properties": {"cas_ReasonForCaseClosure": {"type": "string", "minLength": 1}},
        }
    if entity == "participant":
        vic = sorted(f.name for f in cat.fields if f.entity == "victim")
        per = sorted(f.name for f in cat.fields if f.entity == "perpetrator")
        schema["allOf"] = [
            {"if": {"properties": {"role": {"enum": ["Victim", "PotentialVictim"]}}},
             "then": {"not": {"anyOf": [{"required": [n]} for n in per]}}},
            {"if": {"properties": {"role": {"const": "Perpetrator"}}},
             "then": {"not": {"anyOf": [{"required": [n]} for n in vic]}}},
        ]  # fmt: skip
    if entity == "referral":
        schema["allOf"] = [
            {"if": {"properties": {"direction": {"const": "Incoming"}}},
             "then": {"not": {"anyOf": [{"required": [n]} for n in sorted(OUTGOING_REFERRAL_FIELDS)]}}},
            {"if": {"properties": {"direction": {"const": "Outgoing"}}},
             "then": {"not": {"anyOf": [{"required": [n]} for n in sorted(INCOMING_REFERRAL_FIELDS)]}}},
        ]  # fmt: skip
    if entity == "assessment":
        answers = {
            "type": "object",
            "properties": {
                "question": {"enum": [q.code for q in cat.questions]},
                "answer": {"enum": ["Yes", "No", "Unknown", "NotApplicable"]},
                "notes": {"type": ["string", "null"]},
            },
            "required": ["question", "answer"],
            "additionalProperties": False,
        }
        props["answers"] = {"type": "array", "items": answers}
    if standalone:
        schema = {"$schema": DIALECT, "$id": f"{BASE_ID}{entity}", "title": f"HTCDS 2.0 {entity}", **schema}
    return schema


def bundle_schema() -> dict[str, Any]:
    entities = ["case", *BUNDLE_LISTS.values()]
    defs = {e: entity_schema(e, standalone=False) for e in entities}
    props: dict[str, Any] = {
        "htcds_version": {"const": "2.0"},
        "case": {"$ref": "#/$defs/case"},
    }
    for key, entity in BUNDLE_LISTS.items():
        props[key] = {"type": "array", "items": {"$ref": f"#/$defs/{entity}"}}
    task = {key: {"type": ["string", "null"], **({"format": "date"} if kind == "date" else {})}
            for key, kind in TASK_FIELDS.items()}  # fmt: skip
    props[TASKS_KEY] = {
        "type": "array",
        "description": "Phare extension: the case's tasks (HTCDS 2.0 has none).",
        "items": {"type": "object", "properties": task, "required": list(TASK_REQUIRED), "additionalProperties": False},
    }
    return {
        "$schema": DIALECT,
        "$id": f"{BASE_ID}bundle",
        "title": "HTCDS 2.0 case bundle",
        "description": "A case with its persons, participants' victim or perpetrator context, referrals, comments, "
        "trafficking events, support plans, consents and risk and vulnerability assessments.",
        "type": "object",
        "properties": props,
        "required": ["case"],
        "additionalProperties": False,
        "$defs": defs,
    }


def write_all(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for entity in ["case", *BUNDLE_LISTS.values()]:
        path = out_dir / f"{entity}.schema.json"
        path.write_text(json.dumps(entity_schema(entity), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    path = out_dir / "bundle.schema.json"
    path.write_text(json.dumps(bundle_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written.append(path)
    return written
