"""Cases of an organisation as HTCDS bundles, for `phare export`; the writers are htcds.sources.export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from functools import cache
from typing import Any

from django.db import models

from htcds.catalogue import TASKS_KEY, load
from phare.cases.models import (
    Assessment,
    Case,
    CaseComment,
    CaseParticipant,
    Consent,
    Referral,
    SupportPlan,
    TraffickingEvent,
)
from phare.crypto import keys
from phare.work.bundle import tasks_by_case


@cache
def _fields(model: type[models.Model]) -> list[tuple[str, str, Any]]:
    """The model's HTCDS fields: name, attribute, and the model a relation points to (None for a value)."""
    cat = load()
    return [(f.name, f.attname, f.related_model if f.is_relation else None) for f in model._meta.concrete_fields
            if f.name in cat]  # fmt: skip


class _Names(dict[tuple[Any, Any], str]):
    """A lookup's name for its id, fetched on first sight: an export names the case owner by username and an
    organisation by its name, never by an internal id another organisation's import could not read."""

    def __missing__(self, key: tuple[Any, Any]) -> str:
        model, pk = key
        obj = model.objects.filter(pk=pk).first()
        name = self[key] = str(getattr(obj, "username", None) or getattr(obj, "org_Name", None)
                               or getattr(obj, "name", None) or "") if obj is not None else ""  # fmt: skip
        return name


def _record(obj: models.Model, names: _Names) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, attname, related in _fields(type(obj)):
        value = getattr(obj, attname)
        if value in (None, "", []):
            continue
        if related is not None:
            value = names[(related, value)]
            if not value:
                continue
        out[name] = value.isoformat() if isinstance(value, date) else value
    return out


CHUNK = 500
# Bundle list -> model, for the records that hang off a case (each may name its person).
_LISTS = (("referrals", Referral), ("consents", Consent), ("events", TraffickingEvent), ("support_plans", SupportPlan),
          ("comments", CaseComment), ("assessments", Assessment))  # fmt: skip


def _bundle(case: Case, participants: list[CaseParticipant], lists: dict[str, list[models.Model]],
            names: _Names, tasks: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    persons: dict[int, dict[str, Any]] = {}
    parts = []
    for p in participants:
        persons.setdefault(p.person_id, {"id": str(p.person.uid), **_record(p.person, names)})
        parts.append({"person": str(p.person.uid), "role": p.role, **_record(p, names)})
    uids = {p.person_id: str(p.person.uid) for p in participants}
    bundle: dict[str, Any] = {"htcds_version": "2.0", "case": {"id": case.number, **_record(case, names)},
                              "persons": list(persons.values()), "participants": parts}  # fmt: skip
    for key, rows in lists.items():
        out = []
        for row in rows:
            rec = _record(row, names)
            if key == "referrals":
                rec = {"direction": row.direction, **rec}  # type: ignore[attr-defined]
            if key == "assessments":
                rec["answers"] = row.answers  # type: ignore[attr-defined]
            person_id = getattr(row, "person_id", None)
            if person_id in uids:
                rec["person"] = uids[person_id]
            out.append(rec)
        if out:
            bundle[key] = out
    if tasks:
        bundle[TASKS_KEY] = tasks  # Phare's own records, under the extension key
    return bundle


def case_bundles(cases: models.QuerySet[Case]) -> Iterator[dict[str, Any]]:
    """The cases of `cases` as bundles, in case order; read CHUNK cases at a time (one query per table and chunk,
    not per case). `cases` decides what leaves: callers scope it through phare.access (`visible_cases`)."""
    ids = list(cases.order_by("id").values_list("id", flat=True))
    names = _Names()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        chosen = Case.objects.filter(id__in=chunk).order_by("id")
        participants: dict[int, list[CaseParticipant]] = {}
        keys.preload_person_keys(CaseParticipant.objects.filter(case_id__in=chunk).values_list("person__uid", flat=True))
        for p in CaseParticipant.objects.filter(case_id__in=chunk).select_related("person").order_by("id"):
            participants.setdefault(p.case_id, []).append(p)
        lists: dict[int, dict[str, list[models.Model]]] = {}
        for key, model in _LISTS:
            for row in model.objects.filter(case_id__in=chunk).order_by("id"):
                lists.setdefault(row.case_id, {}).setdefault(key, []).append(row)
        tasks = tasks_by_case(chunk)
        for case in chosen:
            yield _bundle(case, participants.get(case.pk, []), lists.get(case.pk, {}), names, tasks.get(case.pk))
