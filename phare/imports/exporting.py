"""Cases of an organisation as HTCDS bundles, for `phare export`; the writers are htcds.sources.export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from django.db import models

from htcds.catalogue import load
from phare.cases.models import Case, CaseParticipant, Consent, Referral


def _record(obj: models.Model) -> dict[str, Any]:
    cat = load()
    out: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        name = f.name
        if name not in cat:
            continue
        value = getattr(obj, f.attname)
        if value in (None, "", []):
            continue
        out[name] = value.isoformat() if isinstance(value, date) else str(value) if f.is_relation else value
    return out


def case_bundles(organisation: Any) -> Iterator[dict[str, Any]]:
    for case in Case.objects.filter(organisation=organisation).order_by("id").iterator(chunk_size=500):
        persons: dict[int, dict[str, Any]] = {}
        participants = []
        for p in CaseParticipant.objects.filter(case=case).select_related("person").order_by("id"):
            persons.setdefault(p.person_id, {"id": str(p.person.uid), **_record(p.person)})
            participants.append({"person": str(p.person.uid), "role": p.role, **_record(p)})
        bundle: dict[str, Any] = {"htcds_version": "2.0", "case": {"id": case.number, **_record(case)},
                                  "persons": list(persons.values()), "participants": participants}  # fmt: skip
        refs = [{"direction": r.direction, **_record(r)} for r in Referral.objects.filter(case=case).order_by("id")]
        if refs:
            bundle["referrals"] = refs
        cons = [_record(c) for c in Consent.objects.filter(case=case).order_by("id")]
        if cons:
            bundle["consents"] = cons
        yield bundle
