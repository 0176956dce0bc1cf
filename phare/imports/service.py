"""Import runs: a dry run reports what each row would do; a real run writes through phare.cases.actions.

Atomicity: in `atomic` mode the whole file is one transaction; in `skip-bad` mode good rows go in by batches
of BATCH rows, each batch one transaction holding its cases *and* their ImportedRecord rows, so `kill -9`
mid-import leaves whole rows or nothing, and the next run picks up where it stopped (rows already in are
found by their source key and reported unchanged).
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.db import models, transaction

from htcds.catalogue import Kind, load
from htcds.sources import Source, checked_rows, open_source, report_dict
from htcds.validation import ERROR
from phare.audit import log as audit
from phare.cases import actions
from phare.cases.models import Case, CaseParticipant, Person
from phare.crypto import keys
from phare.imports.models import ImportedRecord

BATCH = 500
Progress = Callable[[int], None]


@dataclass
class RowResult:
    row: int
    key: str
    outcome: str  # created | updated | unchanged | rejected
    problems: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)  # ids of existing persons who may be the same person


@dataclass
class Report:
    source: str
    kind: str
    dry_run: bool
    rows: list[RowResult] = field(default_factory=list)
    file_problems: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        for r in self.rows:
            out[r.outcome] += 1
        return out

    def to_dict(self, details: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {"source": self.source, "kind": self.kind, "dry_run": self.dry_run, **self.counts(),
                             "file_problems": self.file_problems}  # fmt: skip
        if details:
            d["rows"] = [r.__dict__ for r in self.rows if r.outcome != "unchanged" or r.problems]
        return d


def content_hash(bundle: dict[str, Any]) -> str:
    """The row's content without its generated ids, so moving a row or renaming the file changes nothing."""
    body = {k: v for k, v in bundle.items() if k != "case"}
    body["case"] = {k: v for k, v in bundle.get("case", {}).items() if k != "id"}
    return hashlib.blake2b(json.dumps(body, sort_keys=True, default=str).encode(), digest_size=20).hexdigest()


def _model_values(model: type[models.Model], record: dict[str, Any], skipped: list[str]) -> dict[str, Any]:
    """A bundle record → keyword arguments for the model: dates parsed, lookups (relations) left out, since
    a sheet names organisations and places by text and those are matched by hand after the import."""
    cat = load()
    out: dict[str, Any] = {}
    for name, value in record.items():
        if name not in cat:
            continue
        try:
            f = model._meta.get_field(name)
        except Exception:  # the model does not store this field
            skipped.append(name)
            continue
        if f.is_relation:
            skipped.append(name)
            continue
        if cat[name].kind is Kind.DATE and isinstance(value, str):
            value = date.fromisoformat(value)
        out[name] = value
    return out


def _write_new(actor: Any, bundle: dict[str, Any]) -> tuple[Case, list[str]]:
    skipped: list[str] = []
    person = _model_values(Person, (bundle.get("persons") or [{}])[0], skipped)
    part = (bundle.get("participants") or [{}])[0]
    role = part.get("role", "Victim")
    context = _model_values(CaseParticipant, part, skipped)
    case_rec = bundle.get("case") or {}
    opened = case_rec.get("cas_OpenedDate")
    case = actions.open_case(actor, person_data=person, role=role, context=context,
                             opened=date.fromisoformat(opened) if opened else None)  # fmt: skip
    from phare.cases.models import Consent, Referral

    for c in bundle.get("consents") or []:
        data = _model_values(Consent, c, skipped)
        if data:
            actions.record_consent(actor, case, data)
    for r in bundle.get("referrals") or []:
        data = _model_values(Referral, r, skipped)
        if data:
            (actions.receive_referral if r.get("direction") == "Incoming" else actions.send_referral)(actor, case, data)
    status = case_rec.get("cas_Status")
    if status in ("Closed", "ClosedReferred") and case_rec.get("cas_ReasonForCaseClosure"):
        actions.close_case(actor, case, reason=case_rec["cas_ReasonForCaseClosure"], status=status)
    elif status == "FollowUp":
        actions.set_follow_up(actor, case, None)
    return case, skipped


def _write_update(actor: Any, case: Case, bundle: dict[str, Any]) -> list[str]:
    skipped: list[str] = []
    part = CaseParticipant.objects.filter(case=case).order_by("id").select_related("person").first()
    if part is None:
        return skipped
    actions.update_person(actor, part.person, _model_values(Person, (bundle.get("persons") or [{}])[0], skipped))
    actions.update_participant(actor, part, _model_values(CaseParticipant, (bundle.get("participants") or [{}])[0],
                                                          skipped))  # fmt: skip
    return skipped


def run_import(path: Path, organisation: Any, actor: Any, *, mapping: Path | None = None, dry_run: bool = False,
               mode: str = "atomic", error_csv: Path | None = None, progress: Progress | None = None) -> Report:  # fmt: skip
    source: Source = open_source(path, mapping)
    report = Report(source.name, source.kind, dry_run)
    known = dict(ImportedRecord.objects.filter(organisation=organisation, source=source.name)
                 .values_list("source_key", "content_hash"))  # fmt: skip
    pending: list[tuple[RowResult, dict[str, Any], str]] = []
    rejected_raw: list[tuple[int, str, list[dict[str, Any]]]] = []
    for n, (row, key, bundle, problems) in enumerate(checked_rows(source), start=1):
        res = RowResult(row, key, "created", [report_dict(p, source) for p in problems])
        h = content_hash(bundle)
        if any(p.severity == ERROR for p in problems):
            res.outcome = "rejected"
            rejected_raw.append((row, key, res.problems))
        elif key in known:
            res.outcome = "unchanged" if known[key] == h else "updated"
        else:
            person = (bundle.get("persons") or [{}])[0]
            probe = _model_values(Person, person, [])
            if any(probe.get(k) for k in ("prs_MobilePhone", "prs_HomePhone", "prs_Email", "prs_Birthdate")):
                res.duplicates = [p.pk for p, score in actions.find_matches(organisation.pk, probe, 3) if score >= 3]
        known[key] = h
        report.rows.append(res)
        if res.outcome in ("created", "updated"):
            pending.append((res, bundle, h))
        if progress and n % 100 == 0:
            progress(n)
    data_rows = {r.row for r in report.rows}
    report.file_problems = [report_dict(p, source) for p in source.problems if p.row not in data_rows]
    if dry_run:
        return report
    if mode == "atomic" and rejected_raw:
        return report  # nothing written: the file goes in whole or not at all
    batches = [pending] if mode == "atomic" else [pending[i : i + BATCH] for i in range(0, len(pending), BATCH)]
    done = 0
    with transaction.atomic():
        audit.record("import.run", actor=actor, organisation=organisation, target_type="import", target_id=source.name,
                     detail={"file": path.name, "mode": mode, **report.counts()})  # fmt: skip
    for batch in batches:
        with transaction.atomic(), keys.bulk_scope():
            for res, bundle, h in batch:
                if res.outcome == "created":
                    case, skipped = _write_new(actor, bundle)
                    ImportedRecord.objects.create(organisation=organisation, source=source.name, source_key=res.key,
                                                  case=case, content_hash=h)  # fmt: skip
                else:
                    rec = ImportedRecord.objects.select_for_update().get(organisation=organisation, source=source.name,
                                                                         source_key=res.key)  # fmt: skip
                    skipped = _write_update(actor, rec.case, bundle)
                    rec.content_hash = h
                    rec.save(update_fields=["content_hash", "updated"])
                if skipped:
                    res.problems.append({"code": "lookup-not-imported", "severity": "warning", "row": res.row,
                                         "field": ",".join(sorted(set(skipped))), "column": "", "value": None,
                                         "message": "Lookup fields are matched by hand after the import.",
                                         "fix": None})  # fmt: skip
            audit.record("import.batch", actor=actor, organisation=organisation, target_type="import",
                         target_id=source.name, detail={"rows": len(batch), "first_row": batch[0][0].row if batch else 0})  # fmt: skip
        done += len(batch)
        if progress:
            progress(done)
    if rejected_raw and error_csv is not None:
        with error_csv.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["row", "source_key", "column", "field", "value", "code", "message", "fix"])
            for row, key, probs in rejected_raw:
                for p in probs:
                    if p["severity"] == ERROR:
                        w.writerow([row, key, p["column"], p["field"], p["value"], p["code"], p["message"], p["fix"]])
    return report


def stderr_progress(total_hint: str = "") -> Progress:
    def show(n: int) -> None:
        sys.stderr.write(f"\r{n} rows{total_hint}")
        sys.stderr.flush()

    return show
