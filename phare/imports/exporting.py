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
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from functools import cache, lru_cache
from typing import Any

from django.db import connections, models

from htcds.catalogue import TASKS_KEY, VICTIM_ROLES, load
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
from phare.crypto.fields import EncryptedDateField, EncryptedTextField, TokenOpener
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


class _Reading:
    """What converting a chunk's rows needs: its key cache (dropped with the chunk) and the export's names."""

    __slots__ = ("names", "opener")

    def __init__(self, names: _Names) -> None:
        self.opener = TokenOpener()
        self.names = names


Convert = Callable[[Any, str, _Reading], Any]


def _uid_text(value: Any) -> str:
    """A uid column as `str(uuid)`: SQLite keeps 32 hex digits, PostgreSQL gives a UUID."""
    if isinstance(value, str) and len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


def _date(value: Any, uid: str, reading: _Reading) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _json(value: Any, uid: str, reading: _Reading | None) -> Any:
    # Most multi-value columns hold an empty list, which a bundle leaves out: no need to parse it.
    return None if value is None or value == "[]" else json.loads(value)


def _converter(field: models.Field[Any, Any]) -> Convert | None:
    """How a column's database value becomes the value a bundle holds (what the instance attribute gave, dates as
    ISO text, a lookup as its name, left out when it has none); None where the driver's value is that value."""
    if isinstance(field, EncryptedTextField):
        table, column, is_date = field.model._meta.db_table, str(field.column), isinstance(field, EncryptedDateField)

        def sealed(value: Any, uid: str, reading: _Reading) -> Any:
            text = reading.opener.open(table, column, value, uid)
            return date.fromisoformat(text).isoformat() if is_date and text else text

        return sealed
    if field.is_relation:
        related = field.related_model

        def named(value: Any, uid: str, reading: _Reading) -> Any:
            return reading.names[(related, value)] or None

        return named
    if isinstance(field, models.DateTimeField):
        raise TypeError(f"{field} is not a date: an export of it would need the time zone Django applies")
    if isinstance(field, models.DateField):
        return _date
    if isinstance(field, models.JSONField):
        return _json
    return None


@cache
def _fields(model: type[models.Model]) -> list[tuple[str, str, Convert | None]]:
    """The model's HTCDS fields: name, column attribute, and how its value is read."""
    cat = load()
    return [(f.name, f.attname, _converter(f)) for f in model._meta.concrete_fields if f.name in cat]


PAD = 250


@lru_cache(maxsize=256)
def _sql(model: type[models.Model], using: str, lead: tuple[str, ...], key: str, n: int) -> str:
    """The query of `_rows` for `n` ids: Django writes it once per size, not once per chunk (preparing a thousand
    ids through the lookup machinery cost more than running the query)."""
    qs = model._default_manager.using(using).filter(**{f"{key}__in": range(n)}).order_by("id")
    sql, params = qs.values_list("uid", *lead, *(a for _, a, _ in _fields(model))).query.sql_with_params()
    if list(params) != list(range(n)):
        raise RuntimeError(f"unexpected parameters in {sql}")
    if n == 1 and connections[using].vendor == "postgresql":
        # One array parameter: psycopg's client-side binding formats each of a thousand parameters in Python.
        if sql.count(" IN (%s)") != 1:
            raise RuntimeError(f"unexpected query {sql}")
        sql = sql.replace(" IN (%s)", " = ANY(%s)")
    return str(sql)


def _rows(
    model: type[models.Model], using: str, lead: tuple[str, ...], key: str, ids: list[int]
) -> list[tuple[Any, ...]]:
    """(uid, *lead, *HTCDS field values as read) of the rows of `model` whose `key` is one of `ids`, in id order.
    One query, run on the connection's cursor: the values come as the driver gives them, for `_fields` to convert."""
    if not ids:
        return []
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_sql(model, using, lead, key, 1), [ids])
        else:
            # Padded to a multiple of PAD with the last id (which changes nothing): a few sizes, each written once.
            padded = ids + ids[-1:] * (-len(ids) % PAD)
            cursor.execute(_sql(model, using, lead, key, len(padded)), padded)
        return list(cursor.fetchall())


def _records(
    model: type[models.Model], rows: list[tuple[Any, ...]], skip: int, reading: _Reading
) -> Iterator[dict[str, Any]]:
    """Each row as the record a bundle holds: the HTCDS fields after the first `skip` columns, empty ones left out."""
    fields = [(i + skip, name, convert) for i, (name, _, convert) in enumerate(_fields(model))]
    for row in rows:
        uid = _uid_text(row[0])
        out: dict[str, Any] = {}
        for i, name, convert in fields:
            raw = row[i]
            if raw is None or raw == "":
                continue
            value = raw if convert is None else convert(raw, uid, reading)
            if value is None or value == "" or value == []:
                continue
            out[name] = value
        yield out


def case_bundles(cases: models.QuerySet[Case]) -> Iterator[dict[str, Any]]:
    """The cases of `cases` as bundles, in case order; read CHUNK cases at a time (one query per table and chunk,
    not per case). `cases` decides what leaves: callers scope it through phare.access (`visible_cases`)."""
    return _bundles(cases, _LISTS, sheet=False)


def sheet_bundles(cases: models.QuerySet[Case]) -> Iterator[dict[str, Any]]:
    """The cases of `cases` as bundles holding what a row of the template layout shows
    (htcds.sources.export.flatten_bundle): the case, the participant and person the row shows, consents and
    referrals. Nothing else is read or opened; the rows written from these equal those from full bundles."""
    return _bundles(cases, [(k, m) for k, m in _LISTS if k in SHEET_LISTS], sheet=True)


def _bundles(
    cases: models.QuerySet[Case], wanted: Sequence[tuple[str, type[models.Model]]], sheet: bool
) -> Iterator[dict[str, Any]]:
    using = cases.db
    ids = list(cases.order_by("id").values_list("id", flat=True))
    names = _Names()
    for start in range(0, len(ids), CHUNK):
        yield from _chunk(ids[start : start + CHUNK], wanted, using, sheet, names)


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
    chunk: list[int], wanted: Sequence[tuple[str, type[models.Model]]], using: str, sheet: bool, names: _Names
) -> Iterator[dict[str, Any]]:
    # The keys opened for this chunk are dropped with it: an export holds no more of them than a page does.
    reading = _Reading(names)
    parts = _rows(CaseParticipant, using, ("case_id", "person_id", "role"), "case_id", chunk)
    person_rows = _rows(Person, using, ("id",), "id", sorted({p[2] for p in parts}))
    uids = {row[1]: _uid_text(row[0]) for row in person_rows}
    people: dict[int, list[int]] = {}  # case -> its participants' persons, in order
    for row in parts:
        people.setdefault(row[1], []).append(row[2])
    if sheet:
        parts = _shown(parts)
        shown = {row[2] for row in parts}
        person_rows = [row for row in person_rows if row[1] in shown]
        parts = [row for row in parts if row[3] in VICTIM_ROLES]  # a case without a victim shows no participant
    reading.opener.prefetch(person_rows)
    persons = {
        row[1]: {"id": uids[row[1]], **rec}
        for row, rec in zip(person_rows, _records(Person, person_rows, 2, reading), strict=True)
    }
    by_case: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for row, rec in zip(parts, _records(CaseParticipant, parts, 4, reading), strict=True):
        by_case.setdefault(row[1], []).append((row[2], {"person": uids[row[2]], "role": row[3], **rec}))
    lists: dict[int, dict[str, list[tuple[int | None, dict[str, Any]]]]] = {}
    for key, model in wanted:
        # (uid, case, the person or None, the column a list adds to its records, or the id again)
        person = "person_id" if any(f.name == "person" for f in model._meta.concrete_fields) else "id"
        extra = {"referrals": "direction", "assessments": "answers"}.get(key, "id")
        rows = _rows(model, using, ("case_id", person, extra), "case_id", chunk)
        for row, rec in zip(rows, _records(model, rows, 4, reading), strict=True):
            if key == "referrals":
                rec = {"direction": row[3], **rec}
            elif key == "assessments":
                rec["answers"] = _json(row[3], "", None)
            lists.setdefault(row[1], {}).setdefault(key, []).append((row[2] if person != "id" else None, rec))
    tasks = {} if sheet else tasks_by_case(chunk)  # a sheet row has no place for tasks; a bundle carries them
    case_rows = _rows(Case, using, ("id", "number"), "id", chunk)
    for row, rec in zip(case_rows, _records(Case, case_rows, 3, reading), strict=True):
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
