"""Queries of a fixed shape whose SQL the ORM builds once per process; each run binds only its values.

Django builds a query's SQL anew every time (about 0.25 ms for a small one, against 0.01 ms for SQLite to run
it), and every request ran the same few with new values: the menu's counts, the key and the audit chain's head,
the check for erased keys. `Prepared` builds its query once with stand-in values, finds where they went in the
parameters, and from then on runs that SQL with the real values, through the same connection (so row-level
security and the query log see it like any other), converting the rows as the ORM would (a datetime read from
SQLite comes back aware). tests/test_prepared.py compares each with the query the ORM builds for the same values.
`PreparedInsert` and `PreparedUpdate` do the same for the two writes of every audited request (the audit event and
its chain's head: tests/test_audit_prepared.py).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connections
from django.db.models import ForeignKey, IntegerField, Lookup, Model, Q, QuerySet
from django.db.models.sql import InsertQuery, UpdateQuery

# Stand-ins no caller passes: integers past any id, strings no column holds.
_INT_BASE = 2_147_000_001  # inside a 32-bit integer column: larger values are dropped from a query as out of range
_STR_MARK = "\x00phare-prepared-{}\x00"


class Prepared:
    """`build(*args)` is a queryset (values_list) whose shape does not depend on the values of `args`, each an
    int or a str as `kinds` says; `rows(*args)` is what `list(build(*args))` would give."""

    def __init__(self, build: Callable[..., QuerySet[Any]], *kinds: type) -> None:
        self.build, self.kinds = build, kinds
        self._made: dict[str, tuple[str, list[Any], list[int | None], Any, Any]] = {}
        self._built: dict[str, QuerySet[Any]] = {}
        self._lock = threading.Lock()

    def stand_ins(self) -> list[Any]:
        return [_INT_BASE + i if kind is int else _STR_MARK.format(i) for i, kind in enumerate(self.kinds)]

    def _make(self, alias: str) -> tuple[str, list[Any], list[int | None], Any, Any]:
        stand_ins = self.stand_ins()
        qs = self.build(*stand_ins).using(alias)
        self._built[connections[alias].vendor] = qs
        compiler = qs.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        slots: list[int | None] = []
        for p in params:
            found = [i for i, s in enumerate(stand_ins) if type(p) is type(s) and p == s]
            slots.append(found[0] if found else None)
        if sorted(s for s in slots if s is not None) != list(range(len(stand_ins))):
            raise ValueError(f"each value of a prepared query must be one parameter of its SQL: {sql}")
        fields = [s[0] for s in compiler.select[: compiler.col_count]]
        converters = compiler.get_converters(fields)
        return sql, list(params), slots, compiler, converters

    def sql(self, *args: Any, using: str = "default") -> tuple[str, list[Any]]:
        made = self._made.get(connections[using].vendor)
        if made is None:
            with self._lock:
                made = self._made.setdefault(connections[using].vendor, self._make(using))
        sql, params, slots, _compiler, _converters = made
        return sql, [p if slot is None else args[slot] for p, slot in zip(params, slots, strict=True)]

    def _check(self, args: tuple[Any, ...]) -> None:
        if len(args) != len(self.kinds) or any(not isinstance(a, k) for a, k in zip(args, self.kinds, strict=True)):
            raise TypeError(f"prepared query given {args!r}, expects {self.kinds!r}")

    def rows(self, *args: Any, using: str = "default") -> list[tuple[Any, ...]]:
        self._check(args)
        sql, params = self.sql(*args, using=using)
        with connections[using].cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall()
        _sql, _params, _slots, compiler, converters = self._made[connections[using].vendor]
        if converters and rows:
            return [tuple(r) for r in compiler.apply_converters(rows, converters)]
        return [tuple(r) for r in rows]


class PreparedObjects(Prepared):
    """`build(*args)` is a queryset of model instances (select_related allowed, no prefetch_related) whose shape
    does not depend on the values of `args`; `objects(*args)` is what `list(build(*args))` would give.

    The rows become instances through Django's own iterable, as a queryset's would (the related objects of
    select_related included): only the compiler's SQL is swapped for the one built once, with the run's values."""

    def objects(self, *args: Any, using: str = "default") -> list[Any]:
        self._check(args)
        sql, params = self.sql(*args, using=using)
        vendor = connections[using].vendor
        built: Any = self._built[vendor]
        compiler = copy.copy(self._made[vendor][3])
        compiler.connection = connections[using]  # this thread's, not the one of the thread that built it
        compiler.as_sql = lambda *_a, **_k: (sql, params)  # what execute_sql runs: the SQL built once
        # and the columns' converters found once (Django looks them up for every column on each run: a fifth of
        # the time of a case page's eight record queries)
        converters = self._made[vendor][4]
        compiler.get_converters = lambda *_a, **_k: converters
        query = copy.copy(built.query)
        query.get_compiler = lambda *_a, **_k: compiler
        if built._prefetch_related_lookups or built._known_related_objects or built._fields is not None:
            raise ValueError("a prepared queryset of objects is a plain one: no prefetch, no values()")
        return list(QuerySet(model=built.model, query=query, using=using))


class PreparedInsert:
    """`obj.save()` for a new row of `model`, its INSERT built once per database vendor: each run computes the
    row's values as the ORM's INSERT does (each field's `pre_save`, then `get_db_prep_save`) and sets what the
    database returns (the id) on `obj`. For a row written by every audited request (phare.audit.log)."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.fields = [f for f in model._meta.local_concrete_fields if f is not model._meta.auto_field]
        self._made: dict[str, tuple[str, Any]] = {}
        self._lock = threading.Lock()

    def _compiler(self, obj: Model, using: str) -> Any:
        query = InsertQuery(self.model)
        query.insert_values(self.fields, [obj])
        compiler = query.get_compiler(using=using)
        compiler.returning_fields = self.model._meta.db_returning_fields
        return compiler

    def _make(self, using: str) -> tuple[str, Any]:
        compiler = self._compiler(self.model(), using)
        [(sql, _params)] = compiler.as_sql()
        return sql, compiler

    def sql(self, using: str = "default") -> str:
        vendor = connections[using].vendor
        made = self._made.get(vendor)
        if made is None:
            with self._lock:
                made = self._made.setdefault(vendor, self._make(using))
        return made[0]

    def insert(self, obj: Model, using: str = "default") -> None:
        connection = connections[using]
        sql = self.sql(using)
        params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in self.fields]
        run = copy.copy(self._made[connection.vendor][1])
        run.connection = connection  # this thread's, not the one of the thread that built it
        run.as_sql = lambda *_a, **_k: [(sql, params)]  # what execute_sql runs: the SQL built once
        returning = self.model._meta.db_returning_fields
        for value, field in zip(run.execute_sql(returning)[0], returning, strict=True):
            setattr(obj, field.attname, value)
        obj._state.adding, obj._state.db = False, using


class PreparedUpdate:
    """`model.objects.filter(pk=pk).update(**dict(zip(fields, values)))`, its UPDATE built once per database vendor
    (each of `kinds`, the values' types, given a stand-in no caller passes, to find where each value goes)."""

    def __init__(self, model: type[Model], fields: Sequence[str], kinds: Sequence[type]) -> None:
        self.model, self.fields, self.kinds = model, tuple(fields), (int, *kinds)  # the pk first
        self._made: dict[str, tuple[str, list[int]]] = {}
        self._lock = threading.Lock()

    def _make(self, using: str) -> tuple[str, list[int]]:
        marks = [_INT_BASE + i if kind is int else _STR_MARK.format(i) for i, kind in enumerate(self.kinds)]
        query = UpdateQuery(self.model)
        query.add_update_values(dict(zip(self.fields, marks[1:], strict=True)))
        query.add_q(Q(pk=marks[0]))
        sql, params = query.get_compiler(using=using).as_sql()
        slots = [marks.index(p) if p in marks else -1 for p in params]
        if sorted(slots) != list(range(len(marks))):
            raise ValueError(f"each value of a prepared update must be one parameter of its SQL: {sql}")
        return sql, slots

    def sql(self, pk: int, *values: Any, using: str = "default") -> tuple[str, list[Any]]:
        vendor = connections[using].vendor
        made = self._made.get(vendor)
        if made is None:
            with self._lock:
                made = self._made.setdefault(vendor, self._make(using))
        sql, slots = made
        given = (pk, *values)
        return sql, [given[i] for i in slots]

    def update(self, pk: int, *values: Any, using: str = "default") -> None:
        sql, params = self.sql(pk, *values, using=using)
        with connections[using].cursor() as cur:
            cur.execute(sql, params)


# The condition both forms write: a column equal to one of an array parameter's ids.
_ANY_OF_IDS = " = ANY(%s::bigint[])"


def any_of_ids(sql: str) -> str:
    """A query of rows by many ids, `... IN (%s)` as Django writes it for a one-element list, made to take the ids
    as one PostgreSQL array (`id_array`). psycopg binds parameters in Python: a list of a thousand ids cost it a
    Python call per id (an eighth of a JSON export's reading), one text literal of them costs one."""
    if sql.count(" IN (%s)") != 1:
        raise RuntimeError(f"unexpected query {sql}")
    return sql.replace(" IN (%s)", _ANY_OF_IDS)


def id_array(ids: Iterable[int]) -> str:
    """The ids as a PostgreSQL array literal, for `any_of_ids` (each an int: never text from outside)."""
    return "{" + ",".join(map(str, map(int, ids))) + "}"


class AnyOfIds(Lookup):
    """`field__any_of_ids="{1,2}"`: the column is one of an array literal's ids (`id_array`), on PostgreSQL."""

    lookup_name = "any_of_ids"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return lhs + _ANY_OF_IDS, (*lhs_params, self.rhs)


ForeignKey.register_lookup(AnyOfIds)
IntegerField.register_lookup(AnyOfIds)


def among_ids(field: str, ids: Sequence[int], using: str = "default") -> Q:
    """The ORM's `field__in=ids`, for thousands of ids: on PostgreSQL one array parameter (`id_array`) instead of
    a parameter per id, each prepared by the lookup and bound by psycopg in Python."""
    if connections[using].vendor != "postgresql":
        return Q(**{f"{field}__in": ids})
    return Q(**{f"{field}__any_of_ids": id_array(ids)})
