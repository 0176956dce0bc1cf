"""Bulk inserts for generated or imported batches: one prepared INSERT run with `executemany`.

Django's `bulk_create` builds one SQL text with a placeholder per value and prepares every value through
several layers of generic calls; for 200,000 demo cases (some 40 million values) that is most of the time.
Here each value still goes through its field's `pre_save` and `get_db_prep_save` (so encrypted fields are
sealed, `auto_now_add` is set and JSON is dumped exactly as `save()` would), but the statement is prepared once.

Rows are built with `new`, which fills an instance's attributes as `Model.__init__` would (defaults, foreign
keys) without its generic keyword handling and signals: for a generated 200,000-case demo, `__init__` alone
was a third of the time. The values are fresh (not read from another row), which is all the skipped
`post_init` check of encrypted fields is there for.

Ids, when the caller needs them (rows that others point to), are reserved up front: from the sequence on
PostgreSQL, and on SQLite after the transaction holds the database's write lock, where no other writer can
take the same ids before the commit.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import (
    AutoField,
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    Field,
    ForeignKey,
    IntegerField,
    JSONField,
    Model,
    PositiveIntegerField,
    PositiveSmallIntegerField,
    TextField,
    UUIDField,
)
from django.db.models.base import ModelState
from django.utils import timezone

from phare.crypto.fields import PRESEALED_ATTR, EncryptedTextField, presealed_token

CHUNK = 2000
# Fields whose Python value of these types is already what the database driver takes: no preparation call.
_PLAIN_FIELDS = (CharField, TextField, IntegerField, PositiveIntegerField, PositiveSmallIntegerField, BigIntegerField,
                 BooleanField, AutoField, BigAutoField)  # fmt: skip
_PLAIN_VALUES = (str, int, bool, type(None))
M = TypeVar("M", bound=Model)


@functools.cache
def _spec(model: type[Model]) -> tuple[frozenset[str], dict[str, tuple[str, str]], dict[str, Any],
                                       list[tuple[str, Callable[[], Any]]]]:  # fmt: skip
    """Keywords stored as they are (field names and attnames); relation names -> (attname, cache name);
    constant defaults; per-row defaults (callables)."""
    plain: set[str] = set()
    relations: dict[str, tuple[str, str]] = {}
    constant: dict[str, Any] = {}
    per_row: list[tuple[str, Callable[[], Any]]] = []
    for f in model._meta.concrete_fields:
        plain.add(f.attname)
        if f.is_relation:
            relations[f.name] = (f.attname, f.cache_name)  # type: ignore[attr-defined]
        if f.has_default() and callable(f.default):
            per_row.append((f.attname, _uuid4 if f.default is uuid.uuid4 else f.default))
        else:
            constant[f.attname] = f.get_default()
    return frozenset(plain), relations, constant, per_row


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID_V4 = (0x4000 << 64) | (0x8000 << 48)


class _Random(threading.local):
    """os.urandom drawn 64 KiB at a time (one system call per 4,096 uids instead of one each); per thread, and
    emptied in a forked child, so that no two writers ever hand out the same bytes."""

    pool = b""
    at = 0

    def take16(self) -> bytes:
        if self.at + 16 > len(self.pool):
            self.pool, self.at = os.urandom(1 << 16), 0
        self.at += 16
        return self.pool[self.at - 16 : self.at]


_random = _Random()
os.register_at_fork(after_in_child=lambda: _random.__dict__.update(pool=b"", at=0))


def _uuid4() -> uuid.UUID:
    """uuid.uuid4() without UUID.__init__'s checks, which took half of its time (tests/test_bulk.py compares)."""
    u = object.__new__(uuid.UUID)
    object.__setattr__(u, "int", (int.from_bytes(_random.take16(), "big") & _UUID_CLEAR) | _UUID_V4)
    object.__setattr__(u, "is_safe", uuid.SafeUUID.unknown)
    return u


def new(model: type[M], **values: Any) -> M:
    """An unsaved instance of `model` with these field values, as `model(**values)` would build it."""
    plain, relations, constant, per_row = _spec(model)
    obj = model.__new__(model)
    state = ModelState()
    cache: dict[str, Any] = {}
    state.__dict__["fields_cache"] = cache  # what its descriptor sets on first use
    d = obj.__dict__
    d.update(constant)
    d["_state"] = state
    for attname, make in per_row:
        if attname not in values:
            d[attname] = make()
    other = values.keys() - plain
    if not other:
        d.update(values)
        return obj
    for k in other:
        if k not in relations:
            raise TypeError(f"{model.__name__} has no field {k!r}")
        attname, cache_name = relations[k]
        v = values.pop(k)
        d[attname] = None if v is None else v.pk
        if v is not None:
            cache[cache_name] = v
    d.update(values)
    return obj


def _reserve_ids(connection: Any, model: type[Model], n: int) -> list[int]:
    table = model._meta.db_table
    assert model._meta.pk is not None
    column = str(model._meta.pk.column)
    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, column, n])
            return [int(r[0]) for r in cur.fetchall()]
        if connection.vendor != "sqlite":
            raise NotImplementedError(connection.vendor)
        # Transactions begin IMMEDIATE (settings), so this one holds the write lock and the highest id read
        # below stays the highest; the no-op write takes the lock should that setting ever change.
        cur.execute(f"UPDATE {qn(table)} SET {qn(column)} = {qn(column)} WHERE 0")
        cur.execute(f"SELECT MAX({qn(column)}) FROM {qn(table)}")
        top = int(cur.fetchone()[0] or 0)
        cur.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cur.fetchone()
        top = max(top, int(row[0]) if row else 0)  # AUTOINCREMENT never reuses the id of a deleted row
        return list(range(top + 1, top + 1 + n))


def _getter(field: Field[Any, Any], connection: Any) -> Callable[[Model], Any]:
    """The database value of `field` for an object, as `save()` would compute it."""
    attname = field.attname
    prep = field.get_db_prep_save
    pre_save = field.pre_save
    if isinstance(field, ForeignKey):

        cache_name = field.cache_name

        def get_fk(obj: Model) -> Any:
            value = obj.__dict__.get(attname)
            if value is None:
                # Assigned before the related row had its id (bulk_create copies it over the same way).
                related = obj._state.fields_cache.get(cache_name)
                value = None if related is None else related.pk
            return value

        return get_fk
    if isinstance(field, EncryptedTextField):
        empty = None if field.null else ""

        def get_sealed(obj: Model) -> Any:
            d = obj.__dict__
            value = d.get(attname)
            if value is None or value == "":
                return empty
            if PRESEALED_ATTR in d:
                token = presealed_token(obj, attname, value)
                if token is not None:
                    return token
            return prep(pre_save(obj, True), connection)

        return get_sealed
    if type(field) is UUIDField:
        native = connection.features.has_native_uuid_field

        def get_uuid(obj: Model) -> Any:
            value = obj.__dict__.get(attname)
            if value.__class__ is uuid.UUID:
                return value if native else value.hex
            return prep(pre_save(obj, True), connection)

        return get_uuid
    if type(field) is DateTimeField and (field.auto_now or field.auto_now_add):
        # One timestamp for the whole batch: it is written in one transaction anyway.
        stamp = timezone.now()
        stamp_db = connection.ops.adapt_datetimefield_value(stamp)

        def get_stamp(obj: Model) -> Any:
            obj.__dict__[attname] = stamp
            return stamp_db

        return get_stamp
    simple = not getattr(field, "auto_now", False) and not getattr(field, "auto_now_add", False)
    if type(field) is DateField and simple:
        adapt_date = connection.ops.adapt_datefield_value

        def get_date(obj: Model) -> Any:
            value = obj.__dict__.get(attname)
            if value.__class__ is date or value is None:
                return adapt_date(value)
            return prep(pre_save(obj, True), connection)

        return get_date
    if type(field) is DateTimeField and simple:
        adapt_datetime = connection.ops.adapt_datetimefield_value

        def get_datetime(obj: Model) -> Any:
            value = obj.__dict__.get(attname)
            if value is None:
                return None
            if value.__class__ is datetime and value.tzinfo is not None:
                return adapt_datetime(value)
            return prep(pre_save(obj, True), connection)

        return get_datetime
    if type(field) is JSONField:
        adapt_json = connection.ops.adapt_json_value
        encoder = field.encoder
        # Most list fields of a generated or imported row are empty: their text needs no encoder (SQLite stores
        # JSON as text; PostgreSQL's adapter is kept).
        empty_json: dict[type, str] = {list: "[]", dict: "{}"} if connection.vendor == "sqlite" else {}

        # A value shared by many rows (the lifecycle events' detail) is dumped once: the memo keeps each value,
        # so its id stays its own for the insert's life.
        dumped: dict[int, tuple[Any, Any]] = {}

        def get_json(obj: Model) -> Any:
            value = obj.__dict__.get(attname)
            if value.__class__ in (dict, list):
                if not value and value.__class__ in empty_json:
                    return empty_json[value.__class__]
                done = dumped.get(id(value))
                if done is not None and done[0] is value:
                    return done[1]
                out = adapt_json(value, encoder)
                dumped[id(value)] = (value, out)
                return out
            return prep(pre_save(obj, True), connection)

        return get_json
    if type(field) in _PLAIN_FIELDS:
        plain = _PLAIN_VALUES

        def get_plain(obj: Model) -> Any:
            value = obj.__dict__.get(attname)
            if value.__class__ in plain:
                return value
            return prep(pre_save(obj, True), connection)

        return get_plain
    return lambda obj: prep(pre_save(obj, True), connection)


def _inline(field: Field[Any, Any], connection: Any) -> tuple[str, Any] | None:
    """For the common case of `field`: an expression over `v` (its value in the instance's __dict__) giving what
    its getter gives, else calling the getter (`G(obj)`), and the constant it names as `K`. A getter call per
    value was most of building a row (some 160 values a row). None: always call the getter."""
    if isinstance(field, ForeignKey):
        return "v if v is not None else G(obj)", None
    if isinstance(field, EncryptedTextField):
        return "K if v is None or v == '' else G(obj)", None if field.null else ""
    if type(field) is UUIDField:
        return ("v" if connection.features.has_native_uuid_field else "v.hex") + " if v.__class__ is K else G(obj)", uuid.UUID
    if type(field) is JSONField and connection.vendor == "sqlite":  # as get_json: an empty list is "[]"
        return "'[]' if v.__class__ is K and not v else G(obj)", list
    if type(field) in _PLAIN_FIELDS:
        return "v if v.__class__ in K else G(obj)", frozenset(_PLAIN_VALUES)
    return None


def _row_function(fields: Sequence[Field[Any, Any]], connection: Any) -> Callable[[Model], tuple[Any, ...]]:
    """`lambda obj: (getter0(obj), getter1(obj), ...)` with each field's common case written out inline: the
    getters alone stay the reference (tests/test_bulk.py compares the two)."""
    names: dict[str, Any] = {}
    lines = ["def row(obj):", "    d = obj.__dict__"]
    for i, f in enumerate(fields):
        names[f"G{i}"] = _getter(f, connection)
        inline = _inline(f, connection)
        if inline is None:
            lines.append(f"    c{i} = G{i}(obj)")
            continue
        expr, names[f"K{i}"] = inline
        lines.append(f"    v = d.get({str(f.attname)!r})")
        lines.append(f"    c{i} = " + expr.replace("G(", f"G{i}(").replace("K", f"K{i}"))
    lines.append(f"    return ({', '.join(f'c{i}' for i in range(len(fields)))},)")
    exec("\n".join(lines), names)  # the text holds only attnames (quoted by repr) and the names above
    row: Callable[[Model], tuple[Any, ...]] = names["row"]
    return row


def _cursor(connection: Any) -> Any:
    """On PostgreSQL a cursor that binds values on the server: Django's psycopg cursors quote every value into
    the SQL text in Python (client-side binding), a fifth of the importer's time there, on a core the database
    server needs. The rows go in one pipeline. Same connection, same transaction, same tenant setting."""
    if connection.vendor == "postgresql":
        import psycopg

        connection.ensure_connection()
        return psycopg.Cursor(connection.connection)
    return connection.cursor()


def _fields(model: type[Model]) -> list[Field[Any, Any]]:
    """The fields `insert` writes for rows whose id the database gives, in order."""
    return [f for f in model._meta.concrete_fields if f is not model._meta.pk]


def layout(model: type[Model]) -> dict[str, int]:
    """Each field's place (by attname) in a row made by `Rows`."""
    return {f.attname: i for i, f in enumerate(_fields(model))}


class _Row:
    """A row's values as a row function's getters read them (the attributes of an instance): for `Rows`, which
    needs no instance of the model. It caches no related row, as a new instance caches none."""

    _state = ModelState()


class Rows:
    """Rows as `insert` writes them (ids from the database), made from field values ahead of the writer, in a
    process preparing a bulk load: the writer fills in the cells it alone knows (by `layout`: the ids of rows it
    writes) and gives the rows to `insert_rows`. One row function per model, made again every 50,000 rows: its
    getters' memos would otherwise keep every JSON value of the load alive."""

    def __init__(self) -> None:
        self._functions: dict[type[Model], Callable[[Any], tuple[Any, ...]]] = {}
        self._made = 0

    def __call__(self, model: type[Model], values: dict[str, Any]) -> tuple[Any, ...]:
        """The row of a new `model` instance with these values (by attname), as `insert` would write it: what
        `new(model, **values)` holds, without making the instance."""
        self._made += 1
        if self._made > 25 * CHUNK:
            for row in self._functions.values():
                row.__globals__.clear()  # as in insert: the function's own namespace is a cycle
            self._functions.clear()
            self._made = 1
        if model not in self._functions:
            self._functions[model] = _row_function(_fields(model), connections[DEFAULT_DB_ALIAS])
        plain, _, constant, per_row = _spec(model)
        if not plain.issuperset(values):  # a relation named by its object: as new() takes it
            return self._functions[model](new(model, **values))
        d = {**constant, **values}
        for attname, make in per_row:
            if attname not in values:
                d[attname] = make()
        obj = _Row()
        obj.__dict__ = d
        return self._functions[model](obj)


def insert_rows(model: type[Model], rows: Sequence[Sequence[Any] | Model]) -> None:
    """INSERT, in their order, rows made by `Rows` (the writer's cells filled in) and instances of `model` among
    them, inside the caller's transaction."""
    if not rows:
        return
    connection = _connection()
    fields = _fields(model)
    row: Callable[[Model], tuple[Any, ...]] | None = None

    def cells(item: Sequence[Any] | Model) -> Sequence[Any]:
        nonlocal row
        if not isinstance(item, Model):
            return item
        if row is None:
            row = _row_function(fields, connection)
        return row(item)

    _execute(connection, model, fields, (cells(item) for item in rows))
    if row is not None:
        row.__globals__.clear()  # as in insert


def insert(objs: Sequence[Model], *, with_ids: bool = False) -> None:
    """INSERT `objs` (all of one model) inside the caller's transaction; with `with_ids`, set their pk first."""
    if not objs:
        return
    connection = _connection()
    model = type(objs[0])
    pk = model._meta.pk
    assert pk is not None
    fields = _fields(model)
    if with_ids:
        for obj, pk_value in zip(objs, _reserve_ids(connection, model, len(objs)), strict=True):
            obj.pk = pk_value
        fields = [pk, *fields]
    row = _row_function(fields, connection)
    _execute(connection, model, fields, (row(obj) for obj in objs))
    # The row function's namespace holds the function itself (exec), a cycle that the collector, off during a
    # bulk load (relaxed_gc), would never free, with its getters' memos (the JSON values of every row) in it.
    row.__globals__.clear()
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def insert_values(model: type[Model], columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """INSERT rows given as tuples of values for `columns` (the attnames of every field of the model but its id),
    inside the caller's transaction: for a table whose every field takes its Python value as it is (text, numbers,
    foreign key ids: the 5 blind-index rows a person has), what `insert` writes for such instances, without
    building 100,000 of them (tests/test_bulk.py compares the two)."""
    if not rows:
        return
    connection = _connection()
    by_attname = {f.attname: f for f in model._meta.concrete_fields if f is not model._meta.pk}
    if sorted(columns) != sorted(by_attname):
        raise ValueError(f"{model.__name__} rows need a value for each of {sorted(by_attname)}")
    fields = [by_attname[c] for c in columns]
    for f in fields:
        if not (isinstance(f, ForeignKey) or type(f) in _PLAIN_FIELDS) or (f.has_default() and callable(f.default)):
            raise ValueError(f"{model.__name__}.{f.name} needs preparing: write the rows with insert()")
    _execute(connection, model, fields, rows)


def _connection() -> Any:
    connection = connections[DEFAULT_DB_ALIAS]  # the object itself: each use of the `connection` proxy costs
    if not connection.in_atomic_block:
        raise RuntimeError("bulk.insert must run inside the transaction of the bulk write")
    return connection


def _execute(connection: Any, model: type[Model], fields: Sequence[Field[Any, Any]], rows: Iterable[Sequence[Any]]) -> None:
    """One prepared INSERT for `fields`, run over the rows CHUNK at a time."""
    qn = connection.ops.quote_name
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(str(f.column)) for f in fields)}) VALUES ({placeholders})"
    it = iter(rows)
    with _cursor(connection) as cur:
        while chunk := list(itertools.islice(it, CHUNK)):
            cur.executemany(sql, chunk)


def refresh_statistics(models: Sequence[type[Model]]) -> None:
    """After a bulk load, let the query planner see the new rows: until PostgreSQL's autovacuum gets to them, a
    fresh 200,000-case organisation had a filtered case list at 1 s instead of 70 ms."""
    connection = connections[DEFAULT_DB_ALIAS]
    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ANALYZE " + ", ".join(qn(m._meta.db_table) for m in models))
        elif connection.vendor == "sqlite":
            cur.execute("PRAGMA optimize")


@contextlib.contextmanager
def deferred_indexes(models: Sequence[type[Model]], *, incoming: int, existing: int) -> Iterator[None]:
    """On SQLite, inside the caller's transaction, when the load brings more rows than the tables hold: their
    secondary indexes are dropped for the load and built again at its end from their own stored definitions.
    Building an index from sorted rows is much cheaper than inserting millions of random keys one by one into a
    tree larger than the page cache. The load still runs in one transaction, so other connections see the
    indexes throughout (they read the last commit), and a failed load rolls back the drops with the rows. Unique
    indexes stay: they are the constraints the load must meet row by row. PostgreSQL keeps its indexes (DDL
    there locks every reader of the table out until the commit)."""
    connection = _connection()
    if connection.vendor != "sqlite" or incoming <= existing:
        yield
        return
    tables = [m._meta.db_table for m in models]
    with connection.cursor() as cur:
        cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN "
                    f"({', '.join(['%s'] * len(tables))}) ORDER BY name", tables)  # fmt: skip
        indexes = [(name, sql) for name, sql in cur.fetchall() if not sql.lstrip().upper().startswith("CREATE UNIQUE")]
        for name, _ in indexes:
            cur.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield  # an exception here leaves the indexes to the caller's rollback
    with connection.cursor() as cur:
        for _, sql in indexes:
            cur.execute(sql)


@contextlib.contextmanager
def relaxed_gc() -> Iterator[None]:
    """No cycle collection during a bulk load: it allocates millions of objects, few of them in cycles (freed by
    reference counting as each batch is written), and every collection walked what was alive. A 100,000-row
    import spent 4 s in 200 collections; its peak memory did not change without them."""
    was_enabled = gc.isenabled()
    gc.freeze()  # what lives now outlives the load: the collections after it need not walk it either
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.unfreeze()
