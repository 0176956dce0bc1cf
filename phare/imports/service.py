"""Import runs: a dry run reports what each row would do; a real run writes new cases in bulk through
phare.cases.bundles (the rows phare.cases.actions would write, one audit event per batch naming them) and
updates known ones through phare.cases.actions.

Atomicity: in `atomic` mode the whole file is one transaction; in `skip-bad` mode good rows go in by batches
of WRITE_BATCH rows, each batch one transaction holding its cases *and* their ImportedRecord rows, so `kill -9`
mid-import leaves whole rows or nothing, and the next run picks up where it stopped (rows already in are
found by their source key and reported unchanged).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from htcds import codelists
from htcds.catalogue import INCOMING_REFERRAL_FIELDS, OUTGOING_REFERRAL_FIELDS, TASKS_KEY
from htcds.sources import Source, open_source, report_dict
from htcds.sources.base import RECORD_MARK
from htcds.sources.export import Openable
from htcds.sources.mapped import Mapping
from htcds.sources.rejected import problems_text, write_rejected_rows
from htcds.validation import ERROR
from phare.audit import log as audit
from phare.cases import actions, bulk
from phare.cases.bundles import LOOKUP_FIELDS, REFERRAL_LOOKUPS, BundleWriter, written_models
from phare.cases.models import (
    CLOSED_STATUSES,
    Case,
    CaseParticipant,
    Consent,
    ExternalOrganisation,
    Person,
    Referral,
    SupportPlan,
    TraffickingEvent,
)
from phare.crypto import keys
from phare.imports import reading
from phare.imports.models import ImportedRecord
from phare.imports.records import cleared, fields_of, model_values
from phare.work.bundle import TaskReader

BATCH = 500  # rows per duplicate check
WRITE_BATCH = 5000  # rows per transaction in skip-bad mode: each commit rewrites the index pages it touched
# (blind indexes and uids are random keys: a batch touches most pages of their indexes), so fewer, larger batches
# write less. 100,000 rows: commits took 4.5 s CPU at 2,000 rows a batch, 2.4 s at 5,000.
FIRST_WRITE_BATCH = 1000  # ... but the first batch is smaller: the writer starts while the reader is still ahead
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
    rolled_back: bool = False  # an all-or-nothing import undone: nothing was created nor updated

    def counts(self) -> dict[str, int]:
        out = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        for r in self.rows:
            out[r.outcome] += 1
        if self.rolled_back:
            out["would_create"], out["would_update"] = out["created"], out["updated"]
            out["created"] = out["updated"] = 0
        return out

    def to_dict(self, details: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {"source": self.source, "kind": self.kind, "dry_run": self.dry_run, **self.counts(),
                             "rolled_back": self.rolled_back, "file_problems": self.file_problems}  # fmt: skip
        if details:
            # The rows to look at: rejected, with a warning, or a possible duplicate. Listing 100,000 rows that went
            # in cleanly would say nothing the counts do not.
            d["rows"] = [r.__dict__ for r in self.rows if r.problems or r.duplicates or r.outcome == "rejected"]
        return d


_EMPTY: tuple[Any, ...] = (None, "", [])


def _same(stored: Any, value: Any) -> bool:
    """Whether a stored value is what the file says (an encrypted field left empty reads None, a cleared cell "")."""
    if isinstance(value, ExternalOrganisation):
        value = value.pk
    return bool(stored == value or (stored in _EMPTY and value in _EMPTY))


def _stored(obj: Any, name: str) -> Any:
    """A field's stored value; a directory entry as its id, compared with the entry the file names."""
    return getattr(obj, name + "_id") if name in NAMED_ORGANISATIONS else getattr(obj, name)


Planned = tuple[Callable[..., Any], Any, dict[str, Any]]  # (verb, the record or case it acts on, its values)


def _reassign(actor: Any, case: Case, data: dict[str, Any]) -> None:
    actions.reassign_case(actor, case, data["cas_CaseOwner"], note="imported file")


def _planned(case: Case, bundle: dict[str, Any], covered: set[str], directory: Directory,
             owners: dict[str, Any] | None = None) -> list[Planned]:  # fmt: skip
    """What a re-imported row writes, record by record: the person, the victim's context, the case's own fields, the
    referrals, the first consent, event and plan, and a JSON bundle's tasks. A field the file has a column for and leaves empty is emptied (the
    cell was cleared); fields it has no column for are left as they are. Only verbs that change something are
    listed, so an unchanged row writes nothing and a closed case is only refused what would change it."""
    out: list[Planned] = []
    part = CaseParticipant.objects.filter(case=case).order_by("id").select_related("person").first()
    if part is None:
        return out
    skipped: list[str] = []

    def values(model: type[Any], record: dict[str, Any] | None) -> dict[str, Any]:
        data = {**cleared(model, covered), **model_values(model, record or {}, skipped)}
        for f in NAMED_ORGANISATIONS:  # organisations named in the file, as their directory entries
            if f in covered and hasattr(model, f):
                data[f] = directory.find((record or {}).get(f))
        return data

    def update(verb: Callable[..., Any], obj: Any, data: dict[str, Any]) -> None:
        if any(not _same(_stored(obj, k), v) for k, v in data.items()):
            out.append((verb, obj, data))

    case_data = {k: v for k, v in values(Case, bundle.get("case")).items() if k in actions.CASE_FILE_FIELDS}
    reopens = case.is_closed and case_data.get("cas_Status") not in (None, "", *CLOSED_STATUSES)
    if reopens:  # a closed case is read-only: reopened first, closed last
        update(actions.update_case_fields, case, case_data)
    update(actions.update_person, part.person, values(Person, first(bundle, "persons")))
    update(actions.update_participant, part, values(CaseParticipant, first(bundle, "participants")))
    for direction, names, add in (("Incoming", INCOMING_REFERRAL_FIELDS, actions.receive_referral),
                                  ("Outgoing", OUTGOING_REFERRAL_FIELDS, actions.send_referral)):  # fmt: skip
        if not covered & names:
            continue
        rec = next((r for r in bundle.get("referrals") or () if r.get("direction") == direction), None)
        data = {k: v for k, v in values(Referral, rec).items() if k in names}
        referral = Referral.objects.filter(case=case, direction=direction).order_by("id").first()
        if referral is not None:
            update(actions.update_referral, referral, data)
        elif rec is not None:
            out.append((add, case, data))
    for key, model, change, add_one in (("consents", Consent, actions.update_consent, actions.record_consent),
                                        ("events", TraffickingEvent, actions.update_event, actions.add_event),
                                        ("support_plans", SupportPlan, actions.update_support_plan,
                                         actions.add_support_plan)):  # fmt: skip
        if not covered & set(fields_of(model)):
            continue
        data = values(model, first(bundle, key))
        existing: Any = model.objects.filter(case=case).order_by("id").first()
        if existing is not None:
            update(change, existing, data)
        elif first(bundle, key):
            out.append((add_one, case, {**data, "person": part.person}))
    if isinstance(bundle.get(TASKS_KEY), list) and bundle[TASKS_KEY]:  # Phare's own records, in JSON bundles
        out.extend(TaskReader(case.organisation_id).changes(case, bundle[TASKS_KEY]))
    if not reopens:
        update(actions.update_case_fields, case, case_data)
    owner = (owners or {}).get(owner_key((bundle.get("case") or {}).get("cas_CaseOwner")))
    if "cas_CaseOwner" in covered and owner is not None and owner.pk != case.cas_CaseOwner_id:
        out.append((_reassign, case, {"cas_CaseOwner": owner}))  # a name no user has is the unknown-owner warning
    return out


_BUNDLE_MODELS = (("persons", Person), ("participants", CaseParticipant), ("consents", Consent),
                  ("events", TraffickingEvent), ("support_plans", SupportPlan))  # fmt: skip


def covered_by(source: Source, bundle: dict[str, Any]) -> set[str]:
    """The fields a row speaks for, so that what it leaves empty is emptied: a sheet's columns; for an HTCDS JSON
    bundle, every field of each record it holds (a bundle leaves an empty field out), the case's own always."""
    if source.kind != "htcds-json":
        return set(source.columns)
    out = {*actions.CASE_FILE_FIELDS, "cas_CaseOwner"}
    for key, model in _BUNDLE_MODELS:
        if bundle.get(key):
            out.update(fields_of(model), NAMED_ORGANISATIONS if model is CaseParticipant else ())
    for r in bundle.get("referrals") or ():
        out.update(INCOMING_REFERRAL_FIELDS if r.get("direction") == "Incoming" else OUTGOING_REFERRAL_FIELDS)
    return out


def closed_case(case: Case, planned: list[Planned], row: int) -> dict[str, Any] | None:
    """The problem of a row that changes a case which is closed and stays closed (only its person and its own fields
    may change then, as on the case page)."""
    if not case.is_closed or any(verb is actions.update_case_fields and data.get("cas_Status") not in
                                 (None, "", *CLOSED_STATUSES) for verb, _, data in planned):  # fmt: skip
        return None
    if all(verb in (actions.update_person, actions.update_case_fields) for verb, _, _ in planned):
        return None
    return {"code": "closed-case", "severity": "error", "entity": "case", "field": "cas_Status", "row": row,
            "value": case.cas_Status, "path": "case.cas_Status", "column": "",
            "message": f"Row {row} changes case {case.number}, which is closed: a closed case is read-only.",
            "fix": "reopen the case, or give the row an open status, and import the file again"}  # fmt: skip


def _write_update(actor: Any, case: Case, bundle: dict[str, Any], covered: set[str], directory: Directory,
                  owners: dict[str, Any]) -> None:  # fmt: skip
    """A re-imported row that changed, written through the case actions (one audit event each)."""
    for verb, target, data in _planned(case, bundle, covered, directory, owners):
        verb(actor, target, data)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def exported_case(organisation: Any, numbers: set[str], key: str, bundle: dict[str, Any]) -> Case | None:
    """The case of this organisation a row of Phare's own export was written from: its case number (the key) and
    the uid of its victim record (the sheet's `record_uid`, a bundle's person ids) must both match, so another
    organisation's export, whose numbers may be the same, never lands on this one's cases. `numbers`: the
    organisation's case numbers (a file of new cases asks nothing more)."""
    number, mark, uid = key.partition(RECORD_MARK)
    if number not in numbers:
        return None
    uids = {uid} if mark else {str(p.get("id")) for p in bundle.get("persons") or ()}
    uids = {u for u in uids if _UUID.fullmatch(u)}
    if not uids:
        return None
    return Case.objects.filter(organisation=organisation, number=number, participants__person__uid__in=uids).first()


def first(bundle: dict[str, Any], key: str) -> dict[str, Any] | None:
    items = bundle.get(key) or []
    return items[0] if items else None


def _flag_duplicates(organisation_id: int, probes: list[tuple[RowResult, dict[str, Any]]],
                     index: Callable[[str, str], str], upto: int) -> None:  # fmt: skip
    """Possible duplicates of people who were there before this import (ids up to `upto`: not the people it
    created itself, so the real run flags what its dry run flagged), for a chunk of rows; empties `probes`."""
    if not upto:  # nobody was there before this import
        probes.clear()
        return
    matches = actions.find_match_ids(organisation_id, [probe for _, probe in probes], index, upto=upto)
    for (res, _), found in zip(probes, matches, strict=True):
        res.duplicates = [pid for pid, score in found if score >= 3]
    probes.clear()


def compared_cases(participants: QuerySet[CaseParticipant], duplicates: list[list[int]]) -> list[list[str]]:
    """For each row's possible duplicates (person ids), the numbers of those people's cases among `participants`
    (which the caller scopes): what the row is to be compared with."""
    people = {pid for ids in duplicates for pid in ids}
    cases: dict[int, set[str]] = {}
    if people:
        for pid, number in participants.filter(person_id__in=people).values_list("person_id", "case__number"):
            cases.setdefault(pid, set()).add(number)
    return [sorted({n for pid in ids for n in cases.get(pid, ())}) for ids in duplicates]


class _RejectedRowError(Exception):
    """An atomic import met a rejected row: undo everything it wrote."""


# A file refused as it is: unreadable, over a limit or cut short by one, two columns for one field, no known layout,
# nothing in it, a broken mapping. What was read of it is not the file.
REFUSING = frozenset({"file-too-large", "unreadable-file", "duplicate-column", "unrecognised-layout", "empty-file",
                      "invalid-mapping"})  # fmt: skip


def refused(problems: Iterable[Any]) -> bool:
    """Whether the file cannot be imported as it is (problems as Problem objects or report dicts); a line of JSON
    Lines that is not JSON is that line's problem only."""
    return any(((p.get("code"), p.get("row")) if isinstance(p, dict) else (p.code, p.row)) in _REFUSING_FILE
               for p in problems)  # fmt: skip


_REFUSING_FILE = frozenset((code, None) for code in REFUSING)


SOURCE_LENGTH = 120  # ImportedRecord.source


def default_source_name(path: Path, source: Source) -> str:
    """Where a file's rows come from, by default: a mapping's own source name when it sets one, else the file's name
    and, for a workbook, its sheet. Two files that both number their cases 1, 2 are two sources, so neither
    overwrites the other's cases; the next version of a file keeps its name, or is given the same one (--source,
    the check page)."""
    if source.kind == "mapped" and source.name not in ("", "mapped"):
        return source.name[:SOURCE_LENGTH]
    sheet = getattr(getattr(source, "opened", None), "sheet", "") or getattr(source, "sheet", None) or ""
    return (f"{path.name} [{sheet}]" if sheet else path.name)[:SOURCE_LENGTH]


def same_person_in_file(marks: list[tuple[str, ...]], row: int, seen: dict[tuple[str, ...], int]) -> dict[str, Any] | None:
    """A warning when the row's person was on an earlier row of the file: the same phone, e-mail, or names (in any
    script) with the same birth date (`marks`: records.person_marks, which the reader computes). Records the row's
    own marks in `seen`."""
    earlier = next((seen[m] for m in marks if m in seen), None)
    for m in marks:
        seen.setdefault(m, row)
    if earlier is None:
        return None
    return {"code": "duplicate-in-file", "severity": "warning", "entity": "person", "field": None, "value": None,
            "row": row, "path": "", "column": "", "fix": f"compare with row {earlier}; keep one row per person",
            "message": f"Row {row} may be the same person as row {earlier} (the same phone, e-mail, or names and birth "
                       "date): both would become cases."}  # fmt: skip


def owner_key(name: Any) -> str:
    return " ".join(str(name or "").casefold().split())


def owner_index(organisation: Any) -> dict[str, Any]:
    """The organisation's active users by username and by full name (a name two users share names neither), for
    the `Case Owner` a file names."""
    from phare.accounts.models import User

    users = list(User.objects.filter(organisation=organisation, is_active=True))
    index: dict[str, Any] = {owner_key(u.username): u for u in users}
    by_name: dict[str, list[Any]] = {}
    for u in users:
        if u.get_full_name().strip():
            by_name.setdefault(owner_key(u.get_full_name()), []).append(u)
    for name, same in by_name.items():
        if len(same) == 1:
            index.setdefault(name, same[0])
    return index


def unknown_owner(named: str, rows: list[int], actor: Any, column: str) -> dict[str, Any]:
    shown = ", ".join(map(str, rows[:10])) + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")
    return {"code": "unknown-owner", "severity": "warning", "entity": "case", "field": "cas_CaseOwner", "value": named,
            "row": None, "path": "case.cas_CaseOwner", "column": column,
            "message": f"{named} (row {shown}) is not a user of this organisation by username or full name; the new "
                       f"cases among them go to {actor.username}, who imports them, and the cases they update keep "
                       "their owner.",
            "fix": "create the user, or write their username, and import the file again"}  # fmt: skip


# Organisations a file names in text: matched to the organisation's directory by name.
NAMED_ORGANISATIONS = (*LOOKUP_FIELDS, *REFERRAL_LOOKUPS)
ADD = "add"  # a choice for an unmatched name: add it to the directory


class Directory:
    """The organisation's directory (ExternalOrganisation) by name, for the organisations a file names: a name is
    matched whatever its case and spacing; an unmatched one goes where `choices` says (a directory entry's id, or
    ADD), else it is left empty, and either way the report says so (never dropped unseen). `add_all` adds every
    unmatched name (`phare import --add-organisations`)."""

    def __init__(self, organisation: Any, actor: Any, choices: dict[str, str] | None = None, add_all: bool = False,
                 dry_run: bool = False) -> None:  # fmt: skip
        self.organisation, self.actor, self.dry_run, self.add_all = organisation, actor, dry_run, add_all
        entries = ExternalOrganisation.objects.filter(organisation=organisation).order_by("id")
        self.by_id = {str(o.pk): o for o in entries}
        self.by_name: dict[str, ExternalOrganisation] = {}
        for o in entries:
            self.by_name.setdefault(owner_key(o.org_Name), o)
        self.choices = {owner_key(k): v for k, v in (choices or {}).items()}
        self.unmatched: dict[str, tuple[str, list[int], set[str]]] = {}  # key -> (name as typed, rows, fields)

    def note(self, bundle: dict[str, Any], row: int) -> None:
        """Record the names of the row that the directory does not hold."""
        for rec in (*(bundle.get("participants") or ()), *(bundle.get("referrals") or ())):
            for f in NAMED_ORGANISATIONS:
                named = rec.get(f)
                if isinstance(named, str) and named.strip() and owner_key(named) not in self.by_name:
                    seen = self.unmatched.setdefault(owner_key(named), (" ".join(named.split()), [], set()))
                    seen[1].append(row)
                    seen[2].add(f)

    def find(self, named: Any) -> ExternalOrganisation | None:
        """The directory entry for a name of the file (added now if so chosen); None leaves the field empty."""
        key = owner_key(named)
        if not key:
            return None
        if key in self.by_name:
            return self.by_name[key]
        choice = self.choices.get(key, ADD if self.add_all else "")
        if choice in self.by_id:
            return self.by_id[choice]
        if choice == ADD and not self.dry_run:
            entry = self.by_name[key] = actions.add_external_organisation(
                self.actor, {"org_Name": " ".join(str(named).split())[:255]})
            self.by_id[str(entry.pk)] = entry
            return entry
        return None

    def problems(self, columns: dict[str, str]) -> list[dict[str, Any]]:
        """One warning per name the directory did not hold, naming the rows, the columns and what became of it."""
        out = []
        for key, (named, rows, fields) in self.unmatched.items():
            shown = ", ".join(map(str, rows[:10])) + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")
            choice = self.choices.get(key, ADD if self.add_all else "")
            if choice in self.by_id:
                fate = f"matched to {self.by_id[choice].org_Name}"
            elif choice == ADD:
                fate = "would be added to the directory" if self.dry_run else "added to the directory"
            else:
                fate = "left empty"
            out.append({"code": "unknown-organisation", "severity": "warning", "entity": "organisation",
                        "field": ",".join(sorted(fields)), "value": named, "row": rows[0], "rows": rows, "path": "",
                        "column": ", ".join(sorted(filter(None, (columns.get(f, "") for f in fields)))),
                        "choice": choice,
                        "message": f"{named} (row {shown}) is not in the organisation's directory: {fate}.",
                        "fix": "match it to a directory entry or add it on the check page (phare import "
                               "--add-organisations adds every such name), or correct the name"})  # fmt: skip
        return out


def run_import(path: Path, organisation: Any, actor: Any, *, mapping: Mapping | Path | None = None, dry_run: bool = False,
               mode: str = "atomic", error_csv: Openable | None = None, problems_json: Openable | None = None,
               progress: Progress | None = None, source_name: str = "", organisations: dict[str, str] | None = None,
               add_organisations: bool = False) -> Report:  # fmt: skip
    """Rows are written as they are read, WRITE_BATCH at a time, so memory stays flat whatever the file's size.

    skip-bad: each batch is one transaction. atomic: the whole run is one transaction, rolled back at the end if
    any row was rejected (no further row is written once one is). A dry run writes nothing."""
    source: Source = open_source(path, mapping)
    name = source_name.strip()[:SOURCE_LENGTH] or default_source_name(path, source)
    report = Report(name, source.kind, dry_run)
    known = dict(ImportedRecord.objects.filter(organisation=organisation, source=name)
                 .values_list("source_key", "content_hash"))  # fmt: skip
    rejected_raw: list[tuple[int, str, list[dict[str, Any]]]] = []
    owners = owner_index(organisation)
    directory = Directory(organisation, actor, organisations, add_organisations, dry_run)
    writer = BundleWriter(organisation.pk, reading.writer_values,
                          lambda _seq, case: owners.get(owner_key(case.get("cas_CaseOwner"))) or actor,
                          timezone.localdate(), lookup=directory.find)  # fmt: skip
    memo = writer.indexes  # the duplicate check's digests are the new people's index rows: computed once

    def index(kind: str, value: str) -> str:
        return memo[(kind, value)]

    # Ids only grow (sequence, or max + 1 under SQLite's write lock): the people there before this import.
    before = Person.objects.filter(organisation=organisation).aggregate(m=Max("id"))["m"] or 0
    probes: list[tuple[RowResult, dict[str, Any]]] = []
    lookup_fields: set[str] = set()  # lookups named in the file (not imported: matched by hand afterwards)
    lookup_rows = 0
    unknown: dict[str, list[int]] = {}  # owners named in the file who are not users: name -> rows
    seen_people: dict[tuple[str, ...], int] = {}  # a person's phone, e-mail or names and birth date -> first row
    pending: list[tuple[RowResult, dict[str, Any], str]] = []
    created_total = 0
    numbers = set(Case.objects.filter(organisation=organisation).values_list("number", flat=True))
    matched: dict[str, Case] = {}  # rows of Phare's own export -> the cases they were written from

    flushed = False  # once a batch went in: the next are WRITE_BATCH rows

    def flush() -> None:
        nonlocal created_total, flushed
        flushed = True
        _flag_duplicates(organisation.pk, probes, index, before)
        if dry_run or not pending or (mode == "atomic" and rejected_raw):
            pending.clear()
            memo.clear()
            return
        with transaction.atomic(), keys.bulk_scope():
            created = _write_batch(pending, organisation, actor, name, writer, lambda b: covered_by(source, b), matched,
                                   directory, owners, rejected_raw)  # fmt: skip
        memo.clear()  # this batch's digests are written: memory stays flat over a long file
        created_total += len(created)
        pending.clear()

    def read() -> None:
        nonlocal lookup_rows
        # Only a reading process needs the keys up front. A dry run reads here: it writes nothing for a second
        # process to overlap with, and sealing its people's fields in advance would be wasted (and create keys).
        reader_keys = (reading.Keys(writer.indexes.index, keys.active_org_key(organisation.pk, "data"), bool(before))
                       if reading.use_reader_process(source) and not dry_run else None)  # fmt: skip
        prepared = reading.rows(source, reader_keys, known)
        for n, (row, key, bundle, problems, bad, h, probe, skipped, digests, marks) in enumerate(prepared, start=1):
            memo.update(digests)
            res = RowResult(row, key, "created", problems)
            named = (bundle.get("case") or {}).get("cas_CaseOwner")
            if named not in (None, "") and owner_key(named) not in owners and not bad:
                unknown.setdefault(str(named), []).append(row)
            if not bad:
                directory.note(bundle, row)
            if bad:
                res.outcome = "rejected"
                rejected_raw.append((row, key, res.problems))
            elif key in known or (mine := exported_case(organisation, numbers, key, bundle)) is not None:
                case: Case | None = None
                if key not in known and mine is not None:  # a row of this organisation's own export: its case
                    case = matched[key] = mine
                elif known[key] != h:
                    rec = ImportedRecord.objects.filter(organisation=organisation, source=name, source_key=key).first()
                    case = rec.case if rec is not None else None
                planned = _planned(case, bundle, covered_by(source, bundle), directory, owners) if case else []
                res.outcome = "updated" if planned or (case is None and known.get(key) != h) else "unchanged"
                closed = closed_case(case, planned, row) if case is not None and planned else None
                if closed is not None:
                    res.outcome = "rejected"
                    res.problems.append({**closed, "column": source.columns.get("cas_Status", "")})
                    rejected_raw.append((row, key, res.problems))
            elif probe and any(probe.get(k) for k in ("prs_MobilePhone", "prs_HomePhone", "prs_Email", "prs_Birthdate")):
                probes.append((res, probe))
                if len(probes) == BATCH:
                    _flag_duplicates(organisation.pk, probes, index, before)
            if not bad and probe:  # the same person twice in this file
                twin = same_person_in_file(marks, row, seen_people)
                if twin is not None:
                    res.problems.append(twin)
            known[key] = h
            report.rows.append(res)
            if res.outcome in ("created", "updated"):
                pending.append((res, bundle, h))
                skipped = [f for f in skipped if f != "cas_CaseOwner" and f not in NAMED_ORGANISATIONS]  # matched above
                if skipped:
                    lookup_fields.update(skipped)
                    lookup_rows += 1
                if len(pending) == (WRITE_BATCH if flushed else min(WRITE_BATCH, FIRST_WRITE_BATCH)):
                    flush()
            if progress and n % 100 == 0:
                progress(n)
        flush()

    # Local phone numbers in the file are the organisation's country's.
    with bulk.relaxed_gc(), codelists.phone_region(organisation.org_ShippingCountry):
        if dry_run or mode != "atomic":
            read()
        else:
            try:
                with transaction.atomic():
                    read()
                    if rejected_raw or refused(source.problems):
                        raise _RejectedRowError
            except _RejectedRowError:
                created_total = 0  # nothing written: the file goes in whole or not at all
                report.rolled_back = True
    data_rows = {r.row for r in report.rows}
    report.file_problems = [report_dict(p, source) for p in source.problems if p.row not in data_rows]
    report.file_problems.extend(directory.problems(source.columns))
    for named, rows in unknown.items():  # one warning per name, not one per row
        report.file_problems.append(unknown_owner(named, rows, actor, source.columns.get("cas_CaseOwner", "")))
    if lookup_rows:
        # One warning for the file, not one per row: organisations and places named in lookup fields are
        # matched to the directory by hand afterwards.
        report.file_problems.append({"code": "lookup-not-imported", "severity": "warning", "row": None,
                                     "field": ",".join(sorted(lookup_fields)), "column": "", "value": lookup_rows,
                                     "message": f"Lookup fields are matched by hand after the import; "
                                                f"{lookup_rows} rows name an organisation or place in them.",
                                     "fix": None})  # fmt: skip
    if dry_run or (mode == "atomic" and (rejected_raw or refused(source.problems))):
        return report
    with transaction.atomic():
        audit.record("import.run", actor=actor, organisation=organisation, target_type="import", target_id=name,
                     detail={"file": path.name, "mode": mode, **report.counts()})  # fmt: skip
    if created_total >= 1000:
        bulk.refresh_statistics(written_models())
    if rejected_raw and error_csv is not None:
        # The rejected rows as typed, with what is wrong with each: the file to correct and upload again.
        wrong = {row: (key, [p for p in probs if p["severity"] == ERROR]) for row, key, probs in rejected_raw}
        write_rejected_rows(open_source(path, mapping), {row: (key, problems_text(ps)) for row, (key, ps) in wrong.items()},
                            error_csv)  # fmt: skip
        if problems_json is not None:  # for the pages, which show each problem in the reader's language
            with problems_json.open("w", encoding="utf-8") as fh:  # sealed, from the pages
                fh.write(json.dumps({str(row): ps for row, (_, ps) in wrong.items()}, default=str))
    return report


def _write_batch(batch: list[tuple[RowResult, dict[str, Any], str]], organisation: Any, actor: Any, source: str,
                 writer: BundleWriter, covered: Callable[[dict[str, Any]], set[str]], matched: dict[str, Case],
                 directory: Directory, owners: dict[str, Any],
                 rejected: list[tuple[int, str, list[dict[str, Any]]]]) -> list[Case]:  # fmt: skip
    """Write one batch of new and changed rows, inside the caller's transaction; returns the cases created."""
    new = [(res, bundle, h) for res, bundle, h in batch if res.outcome == "created"]
    created: list[Case] = []
    if new:
        # As in actions.next_number: a concurrent writer taking the same numbers fails on the unique
        # (organisation, seq) constraint and its whole batch rolls back.
        start = (Case.objects.filter(organisation=organisation).aggregate(m=Max("seq"))["m"] or 0) + 1
        created = writer.write([bundle for _, bundle, _ in new], start)
        bulk.insert([bulk.new(ImportedRecord, organisation_id=organisation.pk, source=source, source_key=res.key, case_id=case.pk,
                              content_hash=h) for (res, _, h), case in zip(new, created, strict=True)])  # fmt: skip
    for res, bundle, h in batch:
        if res.outcome != "updated":
            continue
        rec = None if res.key in matched else ImportedRecord.objects.select_for_update().get(
            organisation=organisation, source=source, source_key=res.key)  # fmt: skip
        try:
            with transaction.atomic():  # a change a case verb refuses undoes that row only
                _write_update(actor, matched[res.key] if rec is None else rec.case, bundle, covered(bundle), directory,
                              owners)  # fmt: skip
        except actions.Invalid as exc:
            res.outcome = "rejected"
            res.problems.append({"code": "invalid-update", "severity": "error", "entity": "case", "field": None,
                                 "value": None, "row": res.row, "path": "", "column": "",
                                 "message": f"Row {res.row} cannot update its case: {exc}", "fix": None})  # fmt: skip
            rejected.append((res.row, res.key, res.problems))
            continue
        if rec is not None:
            rec.content_hash = h
            rec.save(update_fields=["content_hash", "updated"])
    # One event for the batch, naming every case it created (the cases were not opened one by one).
    audit.record("import.batch", actor=actor, organisation=organisation, target_type="import", target_id=source,
                 detail={"rows": len(batch), "first_row": batch[0][0].row if batch else 0,
                         "created": [c.number for c in created]})  # fmt: skip
    return created


def stderr_progress(total_hint: str = "") -> Progress:
    """On a terminal, one line rewritten as rows are read; in a log, a line per 10,000 rows."""
    terminal = sys.stderr.isatty()

    def show(n: int) -> None:
        if terminal:
            sys.stderr.write(f"\r{n:,} rows read{total_hint}")
        elif n % 10_000 == 0:
            sys.stderr.write(f"{n:,} rows read{total_hint}\n")
        else:
            return
        sys.stderr.flush()

    return show
