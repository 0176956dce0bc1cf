"""A case bundle's records as model values: what the reading and the writing halves of an import both need."""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import date
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models

from htcds.catalogue import Kind, load
from phare.cases.actions import name_tokens
from phare.cases.models import (
    Assessment,
    CaseComment,
    CaseParticipant,
    Consent,
    Person,
    Referral,
    SupportPlan,
    TraffickingEvent,
)


def person_marks(probe: dict[str, Any]) -> list[tuple[str, ...]]:
    """What makes a file's person the same as one on an earlier row: a phone, an e-mail, or names (in any script)
    with the birth date; from the person's model values."""
    marks: list[tuple[str, ...]] = [("phone", str(probe[f])) for f in ("prs_MobilePhone", "prs_HomePhone") if probe.get(f)]
    if probe.get("prs_Email"):
        marks.append(("email", str(probe["prs_Email"]).strip().lower()))
    names = name_tokens(*(str(probe.get(f) or "") for f in ("prs_FirstName", "prs_MiddleName", "prs_SecondName")))
    if names and probe.get("prs_Birthdate"):
        marks.append(("name", " ".join(sorted(names)), str(probe["prs_Birthdate"])))
    return marks


def content_hash(bundle: dict[str, Any]) -> str:
    """The row's content without its generated ids, so moving a row or renaming the file changes nothing."""
    body = {k: v for k, v in bundle.items() if k != "case"}
    body["case"] = {k: v for k, v in bundle.get("case", {}).items() if k != "id"}
    return hashlib.blake2b(json.dumps(body, sort_keys=True, default=str).encode(), digest_size=20).hexdigest()


@functools.cache
def _columns(model: type[models.Model]) -> dict[str, bool | None]:
    """HTCDS field name -> whether the model stores it as a date (True), as another value (False), or leaves
    it out (None: a lookup, or a field this model does not have)."""
    out: dict[str, bool | None] = {}
    for f in load().fields:
        try:
            mf = model._meta.get_field(f.name)
        except FieldDoesNotExist:
            out[f.name] = None
            continue
        out[f.name] = None if mf.is_relation else f.kind is Kind.DATE
    return out


def model_values(model: type[models.Model], record: dict[str, Any], skipped: list[str]) -> dict[str, Any]:
    """A bundle record → keyword arguments for the model: dates parsed, lookups (relations) left out, since
    a sheet names organisations and places by text and those are matched by hand after the import."""
    columns = _columns(model)
    out: dict[str, Any] = {}
    for name, value in record.items():
        if name not in columns:
            continue  # not an HTCDS field (structure such as "id" or "role")
        is_date = columns[name]
        if is_date is None:
            skipped.append(name)
            continue
        if is_date and isinstance(value, str):
            value = date.fromisoformat(value)
        out[name] = value
    return out


# Which model stores each list of a bundle, for the fields an import leaves out.
_LIST_MODELS = {"persons": Person, "participants": CaseParticipant, "referrals": Referral, "consents": Consent,
                "events": TraffickingEvent, "support_plans": SupportPlan, "comments": CaseComment,
                "assessments": Assessment}  # fmt: skip


def skipped_fields(bundle: dict[str, Any], skipped: list[str] | None = None, persons: bool = True) -> list[str]:
    """Fields of the bundle that the import does not store (lookups, matched by hand afterwards), added to
    `skipped`; `persons=False` for a caller that has already turned the persons into model values."""
    skipped = [] if skipped is None else skipped
    for key, model in _LIST_MODELS.items():
        if key == "persons" and not persons:
            continue
        for rec in bundle.get(key) or ():
            model_values(model, rec, skipped)
    return skipped


def fields_of(model: type[models.Model]) -> list[str]:
    """The HTCDS fields the model stores itself (lookups and fields of other records left out)."""
    return [name for name, is_date in _columns(model).items() if is_date is not None]


def cleared(model: type[models.Model], names: set[str]) -> dict[str, Any]:
    """Empty values for the fields among `names` that the model stores: what a re-import writes for a cell that
    was emptied. A flag or a date that cannot be empty (a boolean or a date without a null: a case's opened date)
    is left out: it keeps its value, as a new row without it gets one."""
    out: dict[str, Any] = {}
    stored = _columns(model)
    for name in names:
        if stored.get(name) is None:
            continue
        f = model._meta.get_field(name)
        if f.null:
            out[name] = None
        elif isinstance(f, (models.BooleanField, models.DateField)):
            continue
        elif isinstance(f, models.JSONField):
            out[name] = []
        else:
            out[name] = ""
    return out
