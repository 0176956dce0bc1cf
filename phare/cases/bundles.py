"""Write HTCDS case bundles (a case with its people, contexts, referrals, comments, events, plans, consents and
assessments) in bulk: the demo generator and file imports go through here.

The rows are the ones the single-record verbs in `phare.cases.actions` would write (summary columns, blind
indexes, person keys, the age band at registration, lifecycle events), built in memory and inserted with one
prepared statement per table (`phare.cases.bulk`). The caller runs it inside its transaction and writes one
audit event for the batch, naming the cases it created.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any

from django.db.models import Model
from django.utils import timezone

from phare.cases import actions, bulk
from phare.cases.ages import band_on
from phare.cases.models import (
    Assessment,
    Case,
    CaseComment,
    CaseEvent,
    CaseParticipant,
    Consent,
    ExternalOrganisation,
    Person,
    PersonIndex,
    Referral,
    SupportPlan,
    TraffickingEvent,
)
from phare.crypto import blind_indexer, keys
from phare.crypto.fields import (
    PRESEALED_ATTR,
    PresealedPerson,
    PresealedRow,
    has_person,
    preseal_person,
    preseal_row,
    sealed_fields,
)

CLOSED = ("Closed", "ClosedReferred")
LOOKUP_FIELDS = ("vic_LocationOfRecruitment", "vic_LocationOfExploitation", "per_Organisation")
REFERRAL_LOOKUPS = ("cas_ReferringOrganisation", "cas_ReferredOrganisation")
# Keys of bundle records that are structure, not field values: the writer sets them itself.
_STRUCTURAL = frozenset({"id", "person", "role", "direction", "answers", "author", "case", "organisation", "organisation_id"})

# A person record may carry its blind-index rows, (kind, digest) as actions.index_rows would compute them, under
# this key: an import's reading process computes them while the writer works on the batch before.
PRECOMPUTED_INDEX = "_index"
# ... and its key and sealed fields (a phare.crypto.fields.PresealedPerson), under this one; another record of
# the bundle, its uid and sealed fields (a PresealedRow).
PRESEALED = "_presealed"
# ... and, any record, its model's field values as the writer's `clean` gives them (a Values), under this one.
VALUES = "_values"
# ... or, a record of one of the ROW_RECORDS, its whole row as the writer inserts it (a PreparedRow).
ROW = "_row"
# Keys only a preparing process may set: a reader drops them from what a file holds.
PREPARED_KEYS = (PRECOMPUTED_INDEX, PRESEALED, VALUES, ROW)
# The bundle's records other than its people, by bundle key (the case is one record, the others lists).
RECORDS: tuple[tuple[str, type[Model]], ...] = (
    ("case", Case), ("participants", CaseParticipant), ("referrals", Referral), ("comments", CaseComment),
    ("events", TraffickingEvent), ("support_plans", SupportPlan), ("consents", Consent), ("assessments", Assessment))  # fmt: skip

Clean = Callable[[type[Model], dict[str, Any]], dict[str, Any]]


class PreparedRow(list[Any]):
    """A record's row made ahead of the writer (bulk.Rows), less the cells only the writer knows (ids: WRITER_IDS,
    and the values sealed in advance, put in with the row id of their key), followed by its PresealedRow
    or None. A list of a type of its own, as Values: no list read from a file is taken for one, and it crosses
    from the preparing process at less than half the cost of a named tuple."""


# The records whose rows a preparing process makes whole, and the ids the writer fills in besides the
# organisation's, the case's and its lookups' (and, for a participant, the age band at registration).
ROW_RECORDS: dict[str, type[Model]] = {"participants": CaseParticipant, "referrals": Referral, "comments": CaseComment,
                                       "events": TraffickingEvent, "support_plans": SupportPlan, "consents": Consent,
                                       "assessments": Assessment}  # fmt: skip
ROW_MODELS = frozenset(ROW_RECORDS.values())
WRITER_IDS: dict[type[Model], tuple[str, ...]] = {
    CaseParticipant: ("person_id",), Referral: (), CaseComment: ("author_id",), TraffickingEvent: ("person_id",),
    SupportPlan: ("person_id",), Consent: ("person_id",), Assessment: ("person_id",)}  # fmt: skip


def written_models() -> list[type[Model]]:
    """The tables a BundleWriter load writes (every organisation's rows: their indexes and statistics span all)."""
    from phare.accounts.models import PersonKey
    from phare.work.models import Task

    return [Person, PersonIndex, PersonKey, *(m for _, m in RECORDS), CaseEvent, Task]


def prepare_person(record: dict[str, Any], values: dict[str, Any], indexer: Callable[[str, str], str],
                   wrap: tuple[int, bytes]) -> list[tuple[tuple[str, str], str]]:  # fmt: skip
    """Ahead of the writer, away from the database (a forked process given the organisation's blind-index function
    and active data key): a new person's blind-index rows and sealed fields, from the person's model `values` (what
    the writer's `clean` gives), kept on their bundle `record` for the writer with those values. Returns ((kind, value), digest) of the index rows."""
    who = SimpleNamespace(**{f: values.get(f) for f in actions.PERSON_INDEX_FIELDS})
    mine = [(kv, indexer(*kv)) for kv in actions.person_index_values(who)]
    record[PRECOMPUTED_INDEX] = [(kv[0], digest) for kv, digest in mine]
    record[PRESEALED] = preseal_person(Person, wrap, values)
    record[VALUES] = Values({k: v for k, v in values.items() if k not in _STRUCTURAL})
    return mine


class Values(dict[str, Any]):
    """A record's field values computed ahead of the writer (a type of its own: a dict read from a file is never
    taken for one)."""


def record_values(clean: Clean, model: type[Model], rec: dict[str, Any]) -> dict[str, Any]:
    """What the writer gives `model` for a bundle record: its `clean` values, less the keys that are structure."""
    data = clean(model, rec)
    for k in _STRUCTURAL.intersection(data):
        del data[k]
    return data


def prepare_records(bundle: dict[str, Any], clean: Clean, wrap: tuple[int, bytes], rows: bulk.Rows | None = None) -> None:
    """Ahead of the writer, after `prepare_person` for the bundle's people: each other record's field values
    (`record_values`), and the uid and sealed fields of a record with a personal value (a comment, a closing
    reason, an event's description), sealed as the writer would: with the new key of the person the record names,
    else with the organisation's data key `wrap`. The writer checks each sealed value against the row it writes
    (phare.crypto.fields.presealed_token). With `rows`, a record of the ROW_RECORDS whose personal values are all
    sealed in advance gets its whole row instead of its values (`_row_ahead`)."""
    people: dict[str, Any] = {}
    for n, p in enumerate(bundle.get("persons") or ()):
        if isinstance(p, dict) and isinstance(p.get(PRESEALED), PresealedPerson):
            people[str(p.get("id", n))] = p[PRESEALED]
    for key, model in RECORDS:
        recs = bundle.get(key)
        for rec in ([recs] if key == "case" else recs) if isinstance(recs, (dict, list)) else ():
            if not isinstance(rec, dict):
                continue
            values = Values(record_values(clean, model, rec))
            rec[VALUES] = values
            pre: PresealedRow | None = None
            if "uid" not in values:  # else the writer keeps the record's own uid: nothing can be sealed for it now
                # As the writer finds a row's person (person_of) and the key that seals it (encryption_subject).
                about_person = has_person(model._meta)
                person = people.get(str(rec.get("person", ""))) if about_person else None
                if person is not None:
                    pre = preseal_row(model, person.uid_text, person.key, values)
                elif not about_person or rec.get("person") in (None, ""):
                    pre = preseal_row(model, None, wrap[1], values)
                # else a person the bundle does not hold new: the writer seals it
                if pre is not None:
                    rec[PRESEALED] = pre
            if rows is not None and key in ROW_RECORDS:
                row = _row_ahead(model, rec, values, pre, rows)
                if row is not None:
                    rec[ROW] = row
                    del rec[VALUES]


def _lookups_of(model: type[Model]) -> tuple[str, ...]:
    return LOOKUP_FIELDS if model is CaseParticipant else REFERRAL_LOOKUPS if model is Referral else ()


@functools.cache
def _ahead(model: type[Model]) -> tuple[tuple[str, ...], frozenset[str], dict[str, Any]]:
    """For `_row_ahead`: the model's sealed fields; the values the writer gives instead; its cells to fill in,
    each given a stand-in id meanwhile (a foreign key left empty would be looked up for each row)."""
    sealed = tuple(f.attname for f in sealed_fields(model))
    lookups = _lookups_of(model)
    fill = dict.fromkeys(("organisation_id", "case_id", *WRITER_IDS[model], *(k + "_id" for k in lookups)), 0)
    return sealed, frozenset((*sealed, *lookups, *fill)), fill


def _row_ahead(model: type[Model], rec: dict[str, Any], values: dict[str, Any], pre: PresealedRow | None,
               rows: bulk.Rows) -> PreparedRow | None:  # fmt: skip
    """The record's row as BundleWriter.write would insert it, less the cells it fills in (`_filled`); None when a
    personal value is not sealed in advance, or the writer computes a value from the case (a comment's date)."""
    sealed, skip, fill = _ahead(model)
    for a in sealed:
        if values.get(a) not in (None, "") and (pre is None or a not in pre.sealed):
            return None
    if model is CaseComment and values.get("cco_CreatedDate") is None:
        return None
    data = {k: v for k, v in values.items() if k not in skip}
    data.update(fill)
    if pre is not None:
        data["uid"] = pre.uid
    if model is CaseParticipant:
        data["role"] = rec.get("role", "Victim")
    elif model is Referral:
        data["direction"] = rec.get("direction", "Incoming")
    elif model is Assessment:
        data.setdefault("asm_Level", "Individual")
        data["answers"] = rec.get("answers") or []
    cells = PreparedRow(rows(model, data))
    cells.append(pre)
    return cells


def _pre(rec: dict[str, Any], values: dict[str, Any]) -> PresealedRow | None:
    """The record's PresealedRow, its uid put among the row's `values`."""
    pre = rec.get(PRESEALED)
    if isinstance(pre, PresealedRow) and "uid" not in values:
        values["uid"] = pre.uid
        return pre
    return None


def _new(model: type[Model], rec: dict[str, Any], **values: Any) -> Any:
    """bulk.new(model, **values), with what was sealed in advance for the record (preseal_records)."""
    pre = _pre(rec, values)
    obj = bulk.new(model, **values)
    if pre is not None:
        obj.__dict__[PRESEALED_ATTR] = pre
    return obj


def _uid_text(person: Person) -> str:
    pre = person.__dict__.get(PRESEALED_ATTR)
    return pre.uid_text if isinstance(pre, PresealedPerson) and pre.uid is person.uid else str(person.uid)


class BlindIndexes(dict[tuple[str, str], str]):
    """Blind indexes for one bulk write, memoised: the organisation's index key is fetched once."""

    def __init__(self, org_id: int) -> None:
        super().__init__()
        self.index = blind_indexer(org_id)

    def __missing__(self, kv: tuple[str, str]) -> str:
        d = self[kv] = self.index(*kv)
        return d


@dataclass
class BundleWriter:
    organisation_id: int
    clean: Clean  # a bundle record -> keyword arguments for its model's own fields (dates parsed)
    owner_of: Callable[[int, dict[str, Any]], Any]  # (case seq, case record) -> the case owner
    today: date
    # Organisation names in lookup fields -> directory rows; None leaves lookups out (matched by hand later).
    lookup: Callable[[str], ExternalOrganisation | None] | None = None
    decorate: Callable[[Case, dict[str, Any]], None] | None = None  # adjust a case before it is written
    extras: Callable[[Case], Iterable[Model]] | None = None  # more rows for a written case
    event_detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.indexes = BlindIndexes(self.organisation_id)
        self.tasks: Any = None  # a phare.work.bundle.TaskReader, made when a bundle first carries tasks
        self._layouts: dict[type[Model], dict[str, int]] = {}

    def _lookups(self, rec: dict[str, Any], names: Iterable[str], data: dict[str, Any]) -> None:
        for k in names:
            data.pop(k, None)
            data.pop(k + "_id", None)
            if self.lookup is not None and rec.get(k):
                data[k] = self.lookup(rec[k])

    def _filled(self, model: type[Model], rec: dict[str, Any], case: Case, who: Person | None) -> list[Any] | None:
        """The record's row made ahead (prepare_records), with the cells only the writer knows; None: make it here,
        as when the person the writer finds for the record is not the one its values were sealed for."""
        cells = rec.get(ROW)
        if cells.__class__ is not PreparedRow:
            return None
        pre = cells.pop()
        if pre is not None and pre.__class__ is not PresealedRow:
            return None
        at = self._layouts.get(model)
        if at is None:
            at = self._layouts[model] = bulk.layout(model)
        if pre is not None:
            # Sealed with the key of the person this row is about, as encryption_subject finds them, or else none.
            subject = None if who is None else _uid_text(who)
            oid = self.organisation_id
            key_pk, key = keys.active_org_key(oid, "data") if subject is None else keys.person_key_for(oid, subject)
            for attname, (value, _) in pre.sealed.items():
                token = pre.token(attname, value, subject, key_pk, key)
                if token is None:  # sealed for another person, or with another key
                    return None
                cells[at[attname]] = token
        # Every id cell is set here (the organisation's, the case's, WRITER_IDS, the lookups'): the preparing process
        # left stand-ins in them.
        cells[at["organisation_id"]] = self.organisation_id
        cells[at["case_id"]] = case.pk
        if "person_id" in at:
            cells[at["person_id"]] = None if who is None else who.pk
        if model is CaseParticipant:
            assert who is not None
            cells[at["age_band_at_registration"]] = band_on(who.prs_Birthdate, case.cas_OpenedDate)
        elif model is CaseComment:
            cells[at["author_id"]] = case.cas_CaseOwner_id
        for k in _lookups_of(model):
            found = self.lookup(rec[k]) if self.lookup is not None and rec.get(k) else None
            cells[at[k + "_id"]] = None if found is None else found.pk
        return cells

    def _data(self, model: type[Model], rec: dict[str, Any]) -> dict[str, Any]:
        ready = rec.get(VALUES)
        if ready.__class__ is Values:  # computed ahead (prepare_records); a copy, since the writer adds to it
            return dict(ready)
        return record_values(self.clean, model, rec)

    def write(self, bundles: list[dict[str, Any]], first_seq: int) -> list[Case]:
        """Insert the bundles' rows, numbering the cases from `first_seq`; returns the cases, in order."""
        oid = self.organisation_id
        persons: list[Person] = []
        person_recs: list[dict[str, Any]] = []
        ready: dict[str, tuple[bytes, str, int]] = {}
        pmap: dict[tuple[int, str], Person] = {}
        cases: list[Case] = []
        for i, b in enumerate(bundles):
            c = b.get("case") or {}
            cd = self._data(Case, c)
            opened = cd.get("cas_OpenedDate") or self.today
            seq = first_seq + i
            status = c.get("cas_Status") or "Active"
            closed = (cd.get("cas_ClosedDate") or self.today) if status in CLOSED else None
            case = _new(Case, c, organisation_id=oid, number=f"{opened.year}-{seq:06d}", seq=seq, cas_Status=status,
                        cas_ReasonForCaseClosure=c.get("cas_ReasonForCaseClosure", "") if closed else "",
                        cas_CaseOwner=self.owner_of(seq, c), cas_OpenedDate=opened, cas_ClosedDate=closed)  # fmt: skip
            if self.decorate is not None:
                self.decorate(case, b)
            cases.append(case)
            for n, p in enumerate(b.get("persons") or ()):
                pre = p.get(PRESEALED)
                if isinstance(pre, PresealedPerson):
                    person = bulk.new(Person, organisation_id=oid, uid=pre.uid, **self._data(Person, p))
                    person.__dict__[PRESEALED_ATTR] = pre
                    ready[pre.uid_text] = (pre.key, pre.wrapped, pre.wrap_pk)
                else:
                    person = bulk.new(Person, organisation_id=oid, **self._data(Person, p))
                persons.append(person)
                person_recs.append(p)
                pmap[(i, str(p.get("id", n)))] = person
        keys.create_person_keys(oid, [p.uid for p in persons], ready)
        bulk.insert(persons, with_ids=True)
        # The case list's summary columns, known before the cases are written (no UPDATE pass afterwards).
        for i, (b, case) in enumerate(zip(bundles, cases, strict=True)):
            types: list[str] = []
            tstatus = ""
            primary = None
            for p in b.get("participants") or ():
                if p.get("role") in actions.VICTIM_ROLES:
                    primary = primary or pmap.get((i, str(p.get("person"))))
                    types.extend(t for t in p.get("vic_TypeOfExploitation") or () if t not in types)
                    s = p.get("vic_TraffickingStatus", "")
                    if actions.STATUS_RANK.get(s, 0) > actions.STATUS_RANK.get(tstatus, 0):
                        tstatus = s
            case.primary_person = primary
            case.exploitation_summary = ("|" + "|".join(types) + "|") if types else ""
            case.trafficking_status = tstatus
        bulk.insert(cases, with_ids=True)
        index: list[tuple[int, int, str, str]] = []
        for person, p in zip(persons, person_recs, strict=True):
            computed = p.get(PRECOMPUTED_INDEX)
            if computed is None:  # as actions.index_rows computes them
                computed = [(k, self.indexes[(k, v)]) for k, v in actions.person_index_values(person)]
            pid = person.pk
            index.extend((oid, pid, k, d) for k, d in computed)
        bulk.insert_values(PersonIndex, ("organisation_id", "person_id", "kind", "digest"), index)
        from htcds.catalogue import TASKS_KEY
        from phare.work.bundle import TaskReader
        from phare.work.models import Task

        # Instances, and for the ROW_RECORDS rows made ahead (their cells filled in) among them, in bundle order.
        rows: dict[type[Model], list[Any]] = {m: [] for m in (CaseParticipant, Referral, CaseComment, TraffickingEvent,
                                                               SupportPlan, Consent, Assessment, CaseEvent, Task)}  # fmt: skip
        now = timezone.now()
        details: dict[Any, dict[str, Any]] = {}  # one detail per owner or status, shared by its events: dumped once
        # From here on the cases have their ids: rows name them by id (bulk.new's quicker path). A row's person
        # stays an instance: the row's encrypted fields are sealed with that person's key, found through it.
        for i, (b, case) in enumerate(zip(bundles, cases, strict=True)):
            cid, owner = case.pk, case.cas_CaseOwner_id

            def person_of(rec: dict[str, Any], i: int = i) -> Person | None:
                return pmap.get((i, str(rec.get("person", ""))))

            for p in b.get("participants") or ():
                who = person_of(p)
                if who is None:
                    continue
                if (cells := self._filled(CaseParticipant, p, case, who)) is not None:
                    rows[CaseParticipant].append(cells)
                    continue
                ctx = self._data(CaseParticipant, p)
                self._lookups(p, LOOKUP_FIELDS, ctx)
                rows[CaseParticipant].append(_new(CaseParticipant, p,
                    organisation_id=oid, case_id=cid, person=who, role=p.get("role", "Victim"),
                    age_band_at_registration=band_on(who.prs_Birthdate, case.cas_OpenedDate), **ctx))  # fmt: skip
            for r in b.get("referrals") or ():
                if (cells := self._filled(Referral, r, case, None)) is not None:
                    rows[Referral].append(cells)
                    continue
                data = self._data(Referral, r)
                self._lookups(r, REFERRAL_LOOKUPS, data)
                rows[Referral].append(_new(Referral, r, organisation_id=oid, case_id=cid, direction=r.get("direction", "Incoming"), **data))
            for m in b.get("comments") or ():
                if (cells := self._filled(CaseComment, m, case, None)) is not None:
                    rows[CaseComment].append(cells)
                    continue
                data = self._data(CaseComment, m)
                data.setdefault("cco_CreatedDate", case.cas_OpenedDate)
                rows[CaseComment].append(_new(CaseComment, m, organisation_id=oid, case_id=cid, author_id=owner, **data))
            for model, key in ((TraffickingEvent, "events"), (SupportPlan, "support_plans"), (Consent, "consents")):
                for rec in b.get(key) or ():
                    if (cells := self._filled(model, rec, case, person_of(rec))) is not None:
                        rows[model].append(cells)
                        continue
                    rows[model].append(_new(model, rec, organisation_id=oid, case_id=cid, person=person_of(rec),
                                                **self._data(model, rec)))  # fmt: skip
            for a in b.get("assessments") or ():
                if (cells := self._filled(Assessment, a, case, person_of(a))) is not None:
                    rows[Assessment].append(cells)
                    continue
                data = self._data(Assessment, a)
                data.setdefault("asm_Level", "Individual")
                rows[Assessment].append(_new(Assessment, a, organisation_id=oid, case_id=cid, person=person_of(a),
                                                   answers=a.get("answers") or [], **data))  # fmt: skip
            if b.get(TASKS_KEY):  # Phare's own records, under the extension key
                if self.tasks is None:
                    self.tasks = TaskReader(oid)
                rows[Task].extend(self.tasks.rows(case, b[TASKS_KEY], build=bulk.new))
            if self.extras is not None:
                for extra in self.extras(case):
                    rows[type(extra)].append(extra)
            rows[CaseEvent].append(bulk.new(CaseEvent, organisation_id=oid, case_id=cid, kind="opened", at=now, actor_id=owner,
                                             detail=details.setdefault(owner, {"owner": owner, **self.event_detail})))  # fmt: skip
            if case.cas_ClosedDate:
                rows[CaseEvent].append(bulk.new(CaseEvent, organisation_id=oid, case_id=cid, kind="closed", at=now, actor_id=owner,
                                                 detail=details.setdefault(("to", case.cas_Status), {"to": case.cas_Status, **self.event_detail})))  # fmt: skip
        for kind, batch in rows.items():
            if kind in ROW_MODELS:
                bulk.insert_rows(kind, batch)
            else:
                bulk.insert(batch)
        return cases
