"""HTCDS records <-> Phare rows, for the API.

Payload keys are the catalogue's field names (`prs_FirstName`, `vic_MethodsOfControl`); values are JSON values
(dates as ISO text, lookups as the id of an external organisation). Incoming records are checked with
`htcds.validation` so that errors carry its stable codes and suggestions; the actions check them again.

Callers that may not read personal data (analysts, auditors) never receive a field stored encrypted: those are
the identifying fields and the free text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Annotated, Any

from django.db import models
from pydantic import ConfigDict, WithJsonSchema, create_model

from htcds.catalogue import BUNDLE_LISTS, Field, Kind, load
from htcds.schema import field_schema
from htcds.validation import Problem, errors, validate_bundle, validate_record
from phare import access
from phare.cases.models import (
    Assessment,
    Case,
    CaseComment,
    CaseParticipant,
    Consent,
    ExternalOrganisation,
    Person,
    Referral,
    SupportPlan,
    TraffickingEvent,
)
from phare.crypto.fields import EncryptedDateField, EncryptedTextField

MODELS: dict[str, type[models.Model]] = {
    "person": Person,
    "case": Case,
    "participant": CaseParticipant,
    "referral": Referral,
    "comment": CaseComment,
    "event": TraffickingEvent,
    "support_plan": SupportPlan,
    "consent": Consent,
    "assessment": Assessment,
    "organisation": ExternalOrganisation,
}
_SOURCES = {"participant": ("victim", "perpetrator")}
_LIST_OF = {entity: key for key, entity in BUNDLE_LISTS.items()}
# Catalogue lookups that Phare stores as text (a case worker's name at the other organisation).
_TEXT_LOOKUPS = frozenset({"cas_ReferringPrimaryCaseWorker", "cas_ReferredPrimaryCaseWorker"})
_ORG_LOOKUPS = frozenset(
    {"vic_LocationOfRecruitment", "vic_LocationOfExploitation", "per_Organisation", "cas_ReferringOrganisation",
     "cas_ReferredOrganisation"}
)  # fmt: skip


@dataclass(frozen=True)
class Spec:
    field: Field
    model_field: models.Field[Any, Any]

    @property
    def name(self) -> str:
        return self.field.name

    @property
    def encrypted(self) -> bool:
        return isinstance(self.model_field, (EncryptedTextField, EncryptedDateField))


@cache
def specs(entity: str) -> tuple[Spec, ...]:
    """Catalogue fields of `entity` that Phare stores on its model, in catalogue order."""
    model = MODELS[entity]
    concrete = {f.name: f for f in model._meta.concrete_fields}
    sources = _SOURCES.get(entity, (entity,))
    return tuple(Spec(f, concrete[f.name]) for f in load().fields if f.entity in sources and f.name in concrete)


def _py_type(f: Field) -> Any:
    if f.kind is Kind.MULTI_CHOICE:
        return list[str]
    if f.kind is Kind.BOOLEAN:
        return bool
    if f.kind is Kind.INTEGER:
        return int
    if f.kind in (Kind.NUMBER, Kind.LATITUDE, Kind.LONGITUDE):
        return float
    return str


def _json_schema(f: Field) -> dict[str, Any]:
    return {k: v for k, v in field_schema(f).items() if k != "deprecated"}


def _field_definitions(entity: str, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """pydantic field definitions for the entity's HTCDS fields: loose types (the HTCDS validator, not pydantic,
    judges values, so that errors carry its codes), with the catalogue's JSON Schema in the OpenAPI document."""
    out: dict[str, Any] = {}
    for s in specs(entity):
        if s.name in skip:
            continue
        typ = _py_type(s.field)
        out[s.name] = (_annotated(typ, s.field), None)
    return out


def _annotated(typ: Any, f: Field) -> Any:
    return Annotated[typ | None, WithJsonSchema(_json_schema(f))]


def make_model(name: str, entity: str, *, strict: bool, extra: dict[str, Any] | None = None,
               skip: frozenset[str] = frozenset()) -> Any:  # fmt: skip
    """A pydantic model (a ninja Schema) for the entity: `strict` ones (request bodies) refuse unknown keys."""
    from ninja import Schema

    fields = {**(extra or {}), **_field_definitions(entity, skip)}
    config = ConfigDict(extra="forbid", strict=True, title=name) if strict else ConfigDict(extra="ignore", title=name)
    base = type(f"{name}Base", (Schema,), {"model_config": config})
    return create_model(name, __base__=base, **fields)


# --- rows -> JSON ----------------------------------------------------------------------------------------


def to_json(obj: models.Model, entity: str, personal: bool) -> dict[str, Any]:
    """The HTCDS fields of a row that the reader may see (`phare.access.field_shown`: personal fields only for
    callers who may read personal data)."""
    out: dict[str, Any] = {}
    for s in specs(entity):
        if not access.field_shown(s.model_field, personal):
            continue
        value = getattr(obj, s.model_field.attname)
        if value is None or value == "" or value == []:
            continue
        kind = s.field.kind
        if isinstance(value, date):
            value = value.isoformat()
        elif s.model_field.is_relation:
            value = str(value)
        elif kind in (Kind.NUMBER, Kind.LATITUDE, Kind.LONGITUDE) and isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                continue
        out[s.name] = value
    return out


# --- JSON -> rows ----------------------------------------------------------------------------------------


def problem(code: str, field: str | None, message: str, value: Any = None, path: str = "",
            suggestion: str | None = None) -> Problem:  # fmt: skip
    return Problem(code, message, "request", field, value, None, path or (field or ""), suggestion)


def validate(entity: str, record: dict[str, Any], prefix: str = "") -> list[Problem]:
    """Errors (not warnings) the HTCDS validator finds in one record, with paths relative to the request body.

    Records other than a case are checked inside a minimal bundle, so that the rules spanning fields (roles,
    referral directions, date order, assessment answers) apply exactly as in an import."""
    rec = {k: v for k, v in record.items() if v is not None and v != ""}
    if entity == "case":
        found = errors(validate_record("case", rec))
        head = "case."
    else:
        key = _LIST_OF[entity]
        bundle: dict[str, Any] = {"case": {}, key: [rec]}
        if entity in ("participant", "event", "support_plan", "consent", "assessment"):
            rec["person"] = "p"
            bundle["persons"] = [{"id": "p"}]
        found = errors(validate_bundle(bundle))
        head = f"{key}[0]."
    for p in found:
        tail = p.path[len(head) :] if p.path.startswith(head) else (p.field or p.path)
        p.path = f"{prefix}{tail}"
        p.entity = entity
    return found


def to_python(entity: str, record: dict[str, Any], user: Any, prefix: str = "") -> tuple[dict[str, Any], list[Problem]]:
    """Model values for the record's HTCDS fields (dates parsed, organisation lookups resolved within the
    caller's organisation); call after `validate` found nothing."""
    by_name = {s.name: s for s in specs(entity)}
    out: dict[str, Any] = {}
    found: list[Problem] = []
    for key, value in record.items():
        s = by_name.get(key)
        if s is None:
            continue
        if value is None:
            out[key] = None if s.model_field.null else ([] if s.field.kind is Kind.MULTI_CHOICE else "")
            continue
        kind = s.field.kind
        if kind is Kind.DATE:
            out[key] = date.fromisoformat(value)
        elif key in _ORG_LOOKUPS:
            target = _external_org(user, value)
            if target is None:
                found.append(problem("unknown-reference", key, f"No organisation {value!r} in your directory.",
                                     value, f"{prefix}{key}"))  # fmt: skip
            out[key] = target
        else:
            out[key] = value
    return out, found


def _external_org(user: Any, value: Any) -> ExternalOrganisation | None:
    try:
        pk = int(str(value))
    except ValueError:
        return None
    return access.scoped(user, ExternalOrganisation).filter(pk=pk).first()


def lookup_fields() -> frozenset[str]:
    return _ORG_LOOKUPS | _TEXT_LOOKUPS
