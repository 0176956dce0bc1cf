"""Cases of an organisation as HTCDS bundles, for `phare export`; the writers are htcds.sources.export.

Read as tuples, not model instances: for 100,000 cases, building an instance per row (and its `post_init`
signals) was most of the time of an export. Each table is read CHUNK cases at a time with one query of the
columns a bundle holds; the sealed columns are opened here (`phare.crypto.fields.TokenOpener`), with one key
unwrap per person, and each token is checked to be sealed for the row it was read from, as reading an instance
checks it. The bundles are equal, key for key and in the same order, to those the model instances gave
(tests/test_export_bundles.py compares both on a generated organisation).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from functools import cache, lru_cache
from typing import Any, Literal, NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import connections, models
from django.db.models import Value
from django.db.models.functions import Cast

from htcds.catalogue import TASKS_KEY, VICTIM_ROLES, Field, load
from htcds.sources.export import Openable, row_fields, sheet_value, write_csv_columns
from htcds.sources.layout import CASE_DATES, sheet_fields
from phare.cases.models import (
    Assessment,
    Case,
    CaseComment,
    CaseParticipant,
    Consent,
    Person,
    Referral,
    SupportPlan,
    TraffickingEvent,
)
from phare.core.prepared import any_of_ids, id_array
from phare.crypto.fields import EncryptedDateField, EncryptedTextField, KeysGiven, TokenOpener
from phare.work.bundle import tasks_by_case

CHUNK = 1000
# Bundle list -> model, for the records that hang off a case (each may name its person).
_LISTS = (("referrals", Referral), ("consents", Consent), ("events", TraffickingEvent), ("support_plans", SupportPlan),
          ("comments", CaseComment), ("assessments", Assessment))  # fmt: skip
# What one row of the template layout holds (htcds.sources.export.flatten_bundle): a CSV or XLSX export reads
# only these lists.
SHEET_LISTS = ("referrals", "consents")


class _Names(dict[tuple[Any, Any], str]):
    """A lookup's name for its id, fetched on first sight: an export names the case owner by username and an
    organisation by its name, never by an internal id another organisation's import could not read."""

    def __missing__(self, key: tuple[Any, Any]) -> str:
        model, pk = key
        obj = model.objects.filter(pk=pk).first()
        name = self[key] = str(getattr(obj, "username", None) or getattr(obj, "org_Name", None)
                               or getattr(obj, "name", None) or "") if obj is not None else ""  # fmt: skip
        return name


# The most distinct values a column remembers the conversion of (dates, code lists, lookups repeat; a column
# that does not is converted afresh once its memo is full, so memory stays bounded).
MEMO_MAX = 20_000


class _Reading:
    """What converting rows needs: the chunk's opener (its keys are dropped with the chunk), and what the export
    keeps from chunk to chunk: the lookups' names, each column's memo of converted values and the organisation keys
    wrapping person keys (`TokenOpener.keys_for`)."""

    __slots__ = ("memos", "names", "opener", "wrapping")

    def __init__(self, names: _Names, memos: dict[tuple[Any, str], dict[Any, Any]],
                 wrapping: dict[int, bytes] | None = None) -> None:  # fmt: skip
        self.opener = TokenOpener()
        self.names = names
        self.memos = memos
        self.wrapping = {} if wrapping is None else wrapping


def _uid_texts(values: Sequence[str]) -> Sequence[str]:
    """A uid column as `str(uuid)` gives it: SQLite keeps 32 hex digits (written out here: faster than SQLite's
    own string functions), PostgreSQL's uid is read as its text (`_sql`), not as a UUID built for each row."""
    return [f"{v[:8]}-{v[8:12]}-{v[12:16]}-{v[16:20]}-{v[20:]}" if len(v) == 32 else v for v in values]


def _date(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _json(value: Any) -> Any:
    # A bundle leaves an empty list out, as it leaves out None. The parsed lists are shared by the records holding
    # the same text (a column's memo): nothing downstream changes them.
    parsed = json.loads(value)
    return None if parsed == [] else parsed


class _Column(NamedTuple):
    """How a column's database value becomes the value a bundle holds (what the instance attribute gave, dates as
    ISO text, a lookup as its name, left out when it has none)."""

    name: str  # the HTCDS field
    sealed: bool  # opened by the chunk's TokenOpener, with the row's uid
    is_date: bool  # an ISO date (sealed: normalised as a date field reads it)
    table: str
    column: str
    convert: Callable[[Any, _Reading], Any] | None  # (not sealed) per distinct value, remembered; None: as read


def _column(field: models.Field[Any, Any]) -> _Column:
    table, column = field.model._meta.db_table, str(field.column)
    if isinstance(field, EncryptedTextField):
        return _Column(field.name, True, isinstance(field, EncryptedDateField), table, column, None)
    convert: Callable[[Any, _Reading], Any] | None = None
    if field.is_relation:
        related = field.related_model

        def convert(value: Any, reading: _Reading) -> Any:
            return reading.names[(related, value)] or None

    elif isinstance(field, models.DateTimeField):
        raise TypeError(f"{field} is not a date: an export of it would need the time zone Django applies")
    elif isinstance(field, models.DateField):
        convert = lambda value, reading: _date(value)  # noqa: E731
        return _Column(field.name, False, True, table, column, convert)
    elif isinstance(field, models.JSONField):
        convert = lambda value, reading: _json(value)  # noqa: E731
    return _Column(field.name, False, False, table, column, convert)


# What a reading holds of each record: every HTCDS field (a JSON bundle), or those a row of the template layout
# shows, in its extended option or in the template's own (`write_csv` and `write_xlsx` as an export calls them).
View = Literal["all", "extended", "template"]


@cache
def _sheet_names(extended: bool) -> frozenset[str]:
    """Every field a row of the template layout can show (in its extended option, or not), with the case dates."""
    return frozenset(f.name for f in sheet_fields(extended)) | frozenset(CASE_DATES)


@cache
def _fields(model: type[models.Model], view: View) -> list[tuple[str, _Column]]:
    """The model's HTCDS fields (those `view` holds): column attribute and how it is read."""
    cat = load()
    wanted = cat if view == "all" else _sheet_names(view == "extended")
    return [(f.attname, _column(f)) for f in model._meta.concrete_fields if f.name in cat and f.name in wanted]


PAD = 250


@lru_cache(maxsize=256)
def _sql(model: type[models.Model], using: str, lead: tuple[str, ...], key: str, n: int, view: View,
         bare: bool = False) -> str:  # fmt: skip
    """The query of `_rows` for `n` ids: Django writes it once per size, not once per chunk (preparing a thousand
    ids through the lookup machinery cost more than running the query)."""
    # In `key` order, then id: SQLite then walks the index on `key`. In id order alone it scanned the whole table
    # for each chunk (an export of 100,000 cases read each list's table a hundred times). Each case's rows stay in
    # id order, which is all a bundle needs.
    qs = model._default_manager.using(using).filter(**{f"{key}__in": range(n)}).order_by(*{key: None, "id": None})
    sqlite = connections[using].vendor == "sqlite"
    # SQLite's driver makes a date of a date column in Python, for each value (a bundle holds the ISO text the
    # column holds): the column is read as text there.
    fields = [] if bare else _fields(model, view)
    columns = [Cast(a, output_field=models.TextField()) if sqlite and c.is_date and not c.sealed else a
               for a, c in fields]  # fmt: skip
    # A row's uid opens its sealed values, and a person's is their record's id: any other row's is left unread
    # (a text made for each row of a list, for nothing).
    if model is Person or any(c.sealed for _, c in fields):
        uid: Any = "uid" if sqlite else Cast("uid", output_field=models.TextField())
    else:
        uid = Value(None, output_field=models.TextField())
    sql, params = qs.values_list(uid, *lead, *columns).query.sql_with_params()
    if list(params) != list(range(n)):
        raise RuntimeError(f"unexpected parameters in {sql}")
    if n == 1 and connections[using].vendor == "postgresql":
        return any_of_ids(str(sql))  # the ids as one array parameter
    return str(sql)


def _rows(
    model: type[models.Model], using: str, lead: tuple[str, ...], key: str, ids: list[int], view: View,
    bare: bool = False,
) -> list[tuple[Any, ...]]:
    """(uid, *lead, *HTCDS field values as read) of the rows of `model` whose `key` is one of `ids`, in `key` then
    id order; the uid None where `_sql` leaves it unread.
    One query, run on the connection's cursor: the values come as the driver gives them, for `_records` to convert."""
    if not ids:
        return []
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_sql(model, using, lead, key, 1, view, bare), [id_array(ids)])
            return list(cursor.fetchall())
    # Padded to a multiple of PAD with the last id (which changes nothing): a few sizes, each written once.
    padded = ids + ids[-1:] * (-len(ids) % PAD)
    # On sqlite3's own cursor, with the query in its placeholder style once per size: Django's cursor rewrote
    # the query of a thousand placeholders for each chunk and table.
    sql = _qmark_sql(model, using, lead, key, len(padded), view, bare)
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, padded)
            return list(cursor.fetchall())
        finally:
            cursor.close()


@lru_cache(maxsize=256)
def _qmark_sql(model: type[models.Model], using: str, lead: tuple[str, ...], key: str, n: int, view: View,
               bare: bool) -> str:  # fmt: skip
    """`_sql` as Django's SQLite cursor would run it (its placeholders as sqlite3's)."""
    from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX

    return FORMAT_QMARK_REGEX.sub("?", _sql(model, using, lead, key, n, view, bare)).replace("%%", "%")


def _converted(values: tuple[Any, ...], memo: dict[Any, Any], convert: Callable[[Any, _Reading], Any],
               reading: _Reading) -> list[Any]:  # fmt: skip
    """A column's values converted, each distinct value once (most repeat: dates, code lists, lookups)."""
    if len(memo) > MEMO_MAX:
        memo.clear()
    for value in set(values).difference(memo):
        memo[value] = None if value is None or value == "" else convert(value, reading)
    return list(map(memo.__getitem__, values))


def _columns(
    model: type[models.Model], rows: list[tuple[Any, ...]], skip: int, reading: _Reading, view: View,
    sealed: list[_Column] | None = None,
) -> tuple[list[str], list[list[Any]]]:
    """The HTCDS fields after the first `skip` columns of `rows` that hold a value in some row, and their values
    as a record holds them (None or "" for none). Converted a column at a time (the per-cell work is a dict lookup,
    or the opening of a sealed value). Given `sealed`, the sealed columns are left as read (the writing process
    opens them: `_template_chunk_columns`), and their descriptions added to it."""
    if not rows:
        return [], []
    fields = _fields(model, view)
    columns = list(zip(*rows, strict=True))
    uids: Sequence[str] = ()  # written out for the first sealed column that holds a value
    opener = reading.opener
    names: list[str] = []
    values: list[list[Any]] = []
    n = len(rows)
    for j, (_, col) in enumerate(fields):
        raw = columns[skip + j]
        if raw.count(None) + raw.count("") == n:
            continue  # empty in every row (many fields are): nothing to convert, nor to leave out of each record
        if col.sealed and sealed is not None:
            sealed.append(col)
            values.append(list(raw))
        elif col.sealed:
            uids = uids or _uid_texts(columns[0])
            texts = opener.open_column(col.table, col.column, raw, uids)
            if col.is_date:
                texts = [date.fromisoformat(t).isoformat() if t else t for t in texts]
            values.append(texts)
        elif col.convert is not None:
            memo = reading.memos.setdefault((model, col.name), {})
            values.append(_converted(raw, memo, col.convert, reading))
        else:
            values.append(list(raw))
        names.append(col.name)
    return names, values


def _records(
    model: type[models.Model], rows: list[tuple[Any, ...]], skip: int, reading: _Reading, view: View
) -> list[dict[str, Any]]:
    """Each row as the record a bundle holds: the HTCDS fields after the first `skip` columns, empty ones left out."""
    names, values = _columns(model, rows, skip, reading, view)
    if not names:
        return [{} for _ in rows]
    return [
        {n: v for n, v in zip(names, row, strict=True) if v is not None and v != ""}
        for row in zip(*values, strict=True)
    ]


def _case_ids(cases: models.QuerySet[Case]) -> list[int]:
    """The ids of `cases`, in order: the queryset's own query (its scoping unchanged), its rows fetched at once
    (Django's iterator fetched 100,000 ids a hundred at a time, a twentieth of a CSV export's reading)."""
    try:
        sql, params = cases.order_by("id").values_list("id", flat=True).query.sql_with_params()
    except EmptyResultSet:  # a list that cannot match anything (none(), an empty id__in): Django runs no query
        return []
    with connections[cases.db].cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def case_bundles(cases: models.QuerySet[Case]) -> Iterator[dict[str, Any]]:
    """The cases of `cases` as bundles, in case order; read CHUNK cases at a time (one query per table and chunk,
    not per case). `cases` decides what leaves: callers scope it through phare.access (`visible_cases`)."""
    return _bundles(cases, _LISTS, "all")


def sheet_bundles(cases: models.QuerySet[Case], extended: bool = False) -> Iterator[dict[str, Any]]:
    """The cases of `cases` as bundles holding what a row of the template layout shows
    (htcds.sources.export.flatten_bundle, `sheet_rows` with `extended` or not): the case, the participant and
    person the row shows, consents and referrals, with the fields that layout has (the template's own has 38 of
    the extended layout's 62). Nothing else is read or opened; the rows written from these equal those from full
    bundles."""
    view: View = "extended" if extended else "template"
    return _bundles(cases, [(k, m) for k, m in _LISTS if k in SHEET_LISTS], view)


def _bundles(
    cases: models.QuerySet[Case], wanted: Sequence[tuple[str, type[models.Model]]], view: View
) -> Iterator[dict[str, Any]]:
    using = cases.db
    ids = _case_ids(cases)
    names, memos = _Names(), dict[tuple[Any, str], dict[Any, Any]]()
    for start in range(0, len(ids), CHUNK):
        yield from _chunk(ids[start : start + CHUNK], wanted, using, view, _Reading(names, memos))


def _shown(parts: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The participants a sheet row shows, of rows (uid, case, person, role, ...) in id order: each case's first
    victim; and for a case without one, its first participant's person (flatten_bundle shows that person alone)."""
    victims: dict[int, tuple[Any, ...]] = {}
    first: dict[int, tuple[Any, ...]] = {}
    for row in parts:
        first.setdefault(row[1], row)
        if row[3] in VICTIM_ROLES:
            victims.setdefault(row[1], row)
    return [victims.get(case, row) for case, row in first.items()]


def _chunk(
    chunk: list[int], wanted: Sequence[tuple[str, type[models.Model]]], using: str, view: View, reading: _Reading
) -> Iterator[dict[str, Any]]:
    sheet = view != "all"
    # `reading`'s opener is this chunk's: the keys it opens are dropped with the chunk, so an export holds no more
    # of them than a page does.
    parts = _rows(CaseParticipant, using, ("case_id", "person_id", "role"), "case_id", chunk, view)
    everyone = sorted({p[2] for p in parts})
    people: dict[int, list[int]] = {}  # case -> its participants' persons, in order
    for row in parts:
        people.setdefault(row[1], []).append(row[2])
    others: list[tuple[Any, ...]] = []
    if sheet:
        parts = _shown(parts)
        shown = {row[2] for row in parts}
        person_rows = _rows(Person, using, ("id",), "id", sorted(shown), view)
        # The case's other participants only by their uid: a record of theirs (a consent) names them, and so is not
        # the shown person's.
        others = _rows(Person, using, ("id",), "id", [p for p in everyone if p not in shown], view, bare=True)
        parts = [row for row in parts if row[3] in VICTIM_ROLES]  # a case without a victim shows no participant
    else:
        person_rows = _rows(Person, using, ("id",), "id", everyone, view)
    named = person_rows + others
    uids = dict(zip((row[1] for row in named), _uid_texts([row[0] for row in named]), strict=True))
    persons = {
        row[1]: {"id": uids[row[1]], **rec}
        for row, rec in zip(person_rows, _records(Person, person_rows, 2, reading, view), strict=True)
    }
    by_case: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for row, rec in zip(parts, _records(CaseParticipant, parts, 4, reading, view), strict=True):
        by_case.setdefault(row[1], []).append((row[2], {"person": uids[row[2]], "role": row[3], **rec}))
    lists: dict[int, dict[str, list[tuple[int | None, dict[str, Any]]]]] = {}
    for key, model in wanted:
        # (uid, case, the person or None, the column a list adds to its records, or the id again)
        person = "person_id" if any(f.name == "person" for f in model._meta.concrete_fields) else "id"
        extra = {"referrals": "direction", "assessments": "answers"}.get(key, "id")
        rows = _rows(model, using, ("case_id", person, extra), "case_id", chunk, view)
        for row, rec in zip(rows, _records(model, rows, 4, reading, view), strict=True):
            if key == "referrals":
                rec = {"direction": row[3], **rec}
            elif key == "assessments":
                rec["answers"] = None if row[3] is None or row[3] == "[]" else json.loads(row[3])
            lists.setdefault(row[1], {}).setdefault(key, []).append((row[2] if person != "id" else None, rec))
    tasks = {} if sheet else tasks_by_case(chunk)  # a sheet row has no place for tasks; a bundle carries them
    case_rows = _rows(Case, using, ("id", "number"), "id", chunk, view)
    for row, rec in zip(case_rows, _records(Case, case_rows, 3, reading, view), strict=True):
        case_people = dict.fromkeys(people.get(row[1], ()))
        yield _bundle(row[2], rec, by_case.get(row[1], []), [persons[p] for p in case_people if p in persons],
                      {p: uids[p] for p in case_people}, lists.get(row[1], {}), tasks.get(row[1]))  # fmt: skip


def _bundle(number: str, case: dict[str, Any], participants: list[tuple[int, dict[str, Any]]],
            persons: list[dict[str, Any]], uids: dict[int, str], lists: dict[str, list[Any]],
            tasks: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    """`persons`: those the bundle lists; `uids`: the uid of every participant's person (a record of the lists
    names its person by uid when they take part in the case)."""
    bundle: dict[str, Any] = {"htcds_version": "2.0", "case": {"id": number, **case}, "persons": persons,
                              "participants": [part for _, part in participants]}  # fmt: skip
    for key, rows in lists.items():
        out = []
        for person_id, rec in rows:
            if person_id in uids:
                rec["person"] = uids[person_id]
            out.append(rec)
        bundle[key] = out
    if tasks:
        bundle[TASKS_KEY] = tasks  # Phare's own records, under the extension key
    return bundle


# The records a row of the template layout merges, in the order a later one's value wins
# (htcds.sources.export._row_records): the case, its person, their victim participation, their first consent, the
# first incoming and the first outgoing referral.
_CASE, _PERSON, _VICTIM, _CONSENT, _INCOMING, _OUTGOING = range(6)


class TemplateChunk(NamedTuple):
    """A chunk of cases as read for a CSV export, before its sealed values are opened and its rows made
    (`template_chunk_rows`): plain lists, so that it crosses to the writing process (phare.imports.writing) as
    cheaply as the rows would, and that process opens and makes them (half the CPU time of a CSV export) while
    this one reads the next chunk. This one (which alone reads the database) gives it the keys the chunk's values
    name, and nothing else (a person's key as its row holds it, wrapped, with the organisation key that wraps it:
    that process unwraps it, half the work the keys cost): each value is still checked to be sealed for the row it
    was read from."""

    at: list[list[int]]  # for each record (_CASE ... _OUTGOING), its row for each case, -1 for none
    held: list[dict[str, list[Any]]]  # for each record to _INCOMING (the outgoing one reads the same rows), field
    # -> the values of its rows as read
    sealed: list[tuple[int, str, str, str, bool]]  # (record, field, table, column, is a date) of each sealed column
    uids: list[list[str]]  # for each record holding sealed columns, the uid of each row as read, else []
    keys: KeysGiven  # the keys the sealed values name, person keys still wrapped (TokenOpener.keys_for)
    numbers: list[str]  # each case's number


def template_chunk_cases(chunk: Sequence[Any]) -> int:
    """How many cases a chunk holds, of a TemplateChunk or the plain tuple of one (marshal sends tuples only)."""
    return len(chunk[5])


def template_rows(cases: models.QuerySet[Case]) -> Iterator[list[Any]]:
    """The rows `htcds.sources.export.sheet_rows(sheet_bundles(cases))` yields after its two header rows (its
    default options: the template's fields, value names, the case number and record uid): what `phare export`
    writes as CSV, built from the columns as read, without a bundle or a record per row. The same rows are read
    and opened, with the same checks, as for `sheet_bundles`; tests/test_export_bundles.py compares both."""
    for chunk in template_chunks(cases):
        yield from template_chunk_rows(chunk)


def template_chunks(cases: models.QuerySet[Case]) -> Iterator[TemplateChunk]:
    """`template_rows`, CHUNK cases at a time: read, with the keys their sealed values name, but not yet opened nor
    made rows (`write_template_csv` does that, in the writing process of a large export)."""
    using = cases.db
    ids = _case_ids(cases)
    names, memos, wrapping = _Names(), dict[tuple[Any, str], dict[Any, Any]](), dict[int, bytes]()
    for start in range(0, len(ids), CHUNK):
        yield _template_chunk(ids[start : start + CHUNK], using, _Reading(names, memos, wrapping))


def write_template_csv(chunks: Iterable[Sequence[Any]], path: Openable) -> int:
    """The CSV file of the rows of `chunks` (TemplateChunks, or their plain tuples), as `write_csv` writes them;
    returns how many (a writer for phare.imports.writing)."""
    return write_csv_columns(map(_template_chunk_columns, map(TemplateChunk._make, chunks)), path)


@cache
def _template_layout() -> list[tuple[Field, list[tuple[int, str]]]]:
    """Each field of the template's row (htcds.sources.export.sheet_rows' default fields), with the records that
    can hold it, as (record, field name), in merging order."""
    models_of = ((_CASE, Case), (_PERSON, Person), (_VICTIM, CaseParticipant), (_CONSENT, Consent),
                 (_INCOMING, Referral), (_OUTGOING, Referral))  # fmt: skip
    held = [(source, {c.name for _, c in _fields(model, "template")}) for source, model in models_of]
    return [(f, [(source, f.name) for source, names in held if f.name in names]) for f in row_fields()]


def _template_chunk(chunk: list[int], using: str, reading: _Reading) -> TemplateChunk:
    view: View = "template"
    parts = _rows(CaseParticipant, using, ("case_id", "person_id", "role"), "case_id", chunk, view)
    first: dict[int, int] = {}  # case -> its first participant's row in `parts`
    victim: dict[int, int] = {}  # case -> its first victim's row
    people: dict[int, set[int]] = {}  # case -> its participants' persons
    for i, row in enumerate(parts):
        first.setdefault(row[1], i)
        if row[3] in VICTIM_ROLES:
            victim.setdefault(row[1], i)
        people.setdefault(row[1], set()).add(row[2])
    # A case shows its first victim's person; one without a victim, its first participant's (flatten_bundle).
    shown = {case: parts[victim.get(case, i)][2] for case, i in first.items()}
    person_rows = _rows(Person, using, ("id",), "id", sorted(set(shown.values())), view)
    person_at = {row[1]: i for i, row in enumerate(person_rows)}
    victim_at = {i: j for j, i in enumerate(sorted(victim.values()))}
    victim_rows = [parts[i] for i in victim_at]
    consents = _rows(Consent, using, ("case_id", "person_id", "id"), "case_id", chunk, view)
    referrals = _rows(Referral, using, ("case_id", "direction", "id"), "case_id", chunk, view)
    case_rows = _rows(Case, using, ("id", "number"), "id", chunk, view)
    # The first consent that is the shown victim's or names no participant of the case; with no victim, the first
    # that names no participant.
    consent_at: dict[int, int] = {}
    for j, row in enumerate(consents):
        case, person = row[1], row[2]
        if case in consent_at:
            continue
        if person is None or person not in people.get(case, ()) or (case in victim and person == shown[case]):
            consent_at[case] = j
    incoming_at: dict[int, int] = {}
    outgoing_at: dict[int, int] = {}
    for j, row in enumerate(referrals):
        if row[2] == "Incoming":
            incoming_at.setdefault(row[1], j)
        elif row[2] == "Outgoing":
            outgoing_at.setdefault(row[1], j)
    order = [row[1] for row in case_rows]
    at = [
        list(range(len(case_rows))),
        [person_at[shown[c]] if c in shown else -1 for c in order],
        [victim_at[victim[c]] if c in victim else -1 for c in order],
        [consent_at.get(c, -1) for c in order],
        [incoming_at.get(c, -1) for c in order],
        [outgoing_at.get(c, -1) for c in order],
    ]
    held: list[dict[str, list[Any]]] = []
    sealed: list[tuple[int, str, str, str, bool]] = []
    uids: list[list[str]] = []
    for source, (model, rows, skip) in enumerate(((Case, case_rows, 3), (Person, person_rows, 2),
                                                  (CaseParticipant, victim_rows, 4), (Consent, consents, 4),
                                                  (Referral, referrals, 4))):  # fmt: skip
        raw: list[_Column] = []
        names, values = _columns(model, rows, skip, reading, view, raw)
        held.append(dict(zip(names, values, strict=True)))
        sealed += [(source, c.name, c.table, c.column, c.is_date) for c in raw]
        uids.append([row[0] for row in rows] if raw or source == _PERSON else [])
    known = reading.opener.keys_for((held[source][name] for source, name, *_ in sealed), reading.wrapping)
    return TemplateChunk(at, held, sealed, uids, known, [row[2] for row in case_rows])


def template_chunk_rows(chunk: TemplateChunk) -> list[list[Any]]:
    """The rows of a chunk's cases."""
    return list(map(list, zip(*_template_chunk_columns(chunk), strict=True)))


def _template_chunk_columns(chunk: TemplateChunk) -> list[list[Any]]:
    """The columns of the rows of a chunk's cases, made a column at a time: each field's value is the last
    record's that holds one, as `sheet_rows` merges a bundle's records, then written as `sheet_rows` writes it."""
    at, held, n = chunk.at, chunk.held, len(chunk.numbers)
    opener = TokenOpener.with_keys(*chunk.keys)
    uids = [_uid_texts(u) for u in chunk.uids]
    for source, name, table, db_column, is_date in chunk.sealed:
        texts = opener.open_column(table, db_column, held[source][name], uids[source])
        if is_date:
            texts = [date.fromisoformat(t).isoformat() if t else t for t in texts]
        held[source][name] = texts
    held = [{name: [*values, None] for name, values in record.items()} for record in held]
    held.append(held[_INCOMING])  # the outgoing referral: from the same rows
    columns: list[list[Any]] = []
    for field, holders in _template_layout():
        merged: list[Any] | None = None
        for source, name in holders:
            column = held[source].get(name)
            if column is None:
                continue  # empty in every row of the chunk
            values = list(map(column.__getitem__, at[source]))
            if merged is None:
                merged = values
            else:  # a later record's value wins where it has one
                merged = [b if b is not None and b != "" else a for a, b in zip(merged, values, strict=True)]
        if merged is None:
            columns.append([None] * n)
            continue
        if "" in merged:
            merged = [None if v == "" else v for v in merged]
        if not set(map(type, merged)) <= _TEXT_TYPES:
            # A code list's values (a list) or a yes/no: converted once per distinct object (the lists of a column
            # are shared by the rows holding the same text, `_converted`), all of them alive in `merged`.
            distinct = dict(zip(map(id, merged), merged, strict=True))
            written = {key: sheet_value(field, value) for key, value in distinct.items()}
            merged = list(map(written.__getitem__, map(id, merged)))
        columns.append(merged)
    columns.append(chunk.numbers)
    person_uids = [*uids[_PERSON], None]
    columns.append(list(map(person_uids.__getitem__, at[_PERSON])))
    return columns


_TEXT_TYPES = frozenset({str, type(None)})
