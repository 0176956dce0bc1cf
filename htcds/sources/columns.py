"""Column-wise reading of a sheet: the same rows, keys, bundles and problems as reading it row by row, faster.

Reading row by row converts and validates every cell on its own. A sheet's columns repeat themselves (a
status column holds a handful of values, a date column a few thousand), so here a block of rows is turned
into columns, and each column converts and checks each distinct value once. Free-text columns, whose values
rarely repeat, are stripped and checked a whole column at a time, and so are the rules across fields
(`htcds.validation.rule_suspects` names the rows a rule may concern; only those are validated in full). Then
each row only assembles its bundle and takes its key.

A row in which any cell earns a note or fails its check is read again by the row-by-row code
(`base.convert_row` and `validate_bundle`), so every problem, its wording and its order come from one place.
One-column-per-choice exports (KoBo's "both" layout) are read here when each ticked choice is already in the
row's joined cell; a row whose ticks add to it is read row by row. Plans this code does not cover (two columns
for one field, a constant for a mapped field) are read row by row throughout.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from itertools import compress, repeat
from operator import eq, is_, methodcaller
from typing import TYPE_CHECKING, Any

from htcds.catalogue import INCOMING_REFERRAL_FIELDS, OUTGOING_REFERRAL_FIELDS
from htcds.sources.base import Plan, _clean_id, cells_beyond_header, convert_row, header_width, with_record
from htcds.sources.problems import WARNING, Problem, source_problem
from htcds.sources.tabular import is_blank
from htcds.sources.values import _LISTS, _PERSON_LINKED, COLUMN_FORMS, Converter, memo_key, truthy
from htcds.validation import rule_suspects, texts_pass, validate_bundle, value_passes

if TYPE_CHECKING:
    from htcds.sources.base import TabularSource
    from htcds.sources.checked import CheckedRow

BLOCK = 1000  # rows turned into columns at a time: enough to amortise, small enough to stay in cache
_MEMO_LIMIT = 100_000  # distinct values a column remembers; past that, the rest are converted each time

# Where a field goes in the bundle: the case, its one person, its victim participant, a referral by direction,
# or (mapped sheets) another entity's single record.
_CASE, _PERSON, _PARTICIPANT, _INCOMING, _OUTGOING = "case", "person", "participant", "incoming", "outgoing"
_RECORD_KIND = {_INCOMING: "referral", _OUTGOING: "referral"}
_FIXED = (_CASE, _PERSON, _PARTICIPANT, _INCOMING, _OUTGOING)
_SHARED_FROM = 3  # records from here on go in a bundle only when filled; the case, person and participant always do


def supported(plan: Plan) -> bool:
    names = [name for _, name, _ in plan.plain]
    return len(set(names)) == len(names) and plan.constants.keys().isdisjoint(names)


def _destination(name: str, entity: str) -> str:
    if name in INCOMING_REFERRAL_FIELDS:
        return _INCOMING
    if name in OUTGOING_REFERRAL_FIELDS:
        return _OUTGOING
    if entity in ("victim", "perpetrator"):
        return _PARTICIPANT
    return entity


_BLANK = ("", None, memo_key(None))  # cells the row-by-row reader skips without converting them


class _Memo(dict[Any, Any]):
    """Raw cell → value, computed on first sight; beside it the value's fingerprint piece, and the cells whose row
    must be read row by row (a note from the converter, or a value validation would not pass)."""

    __slots__ = ("bad", "convert", "full", "kind", "name", "pieces", "prefix")

    def __init__(self, convert: Converter, kind: str, name: str) -> None:
        super().__init__(dict.fromkeys(_BLANK))
        self.convert, self.kind, self.name, self.prefix = convert, kind, name, f"({name!r}, "
        self.pieces: dict[Any, str | None] = dict.fromkeys(_BLANK)
        self.bad: set[Any] = set()
        self.full = False

    def __missing__(self, key: Any) -> Any:
        # A cell that is not text comes as its memo_key (type, cell): TRUE and 1 convert differently.
        raw = key if key.__class__ is not tuple else key[1]
        value, piece, bad = self.compute(raw)
        if len(self) < _MEMO_LIMIT:
            self[key], self.pieces[key] = value, piece
            if bad:
                self.bad.add(key)
        else:
            self.full = True
        return value

    def compute(self, raw: Any) -> tuple[Any, str | None, bool]:
        value, note = self.convert(raw)
        if value is None:
            return None, None, note is not None
        return value, self.prefix + repr(value), note is not None or not value_passes(self.kind, self.name, value)


class _Column:
    __slots__ = ("dest", "form", "index", "memo", "name")

    def __init__(self, index: int, name: str, convert: Converter, dest: str) -> None:
        self.index, self.name, self.dest = index, name, dest
        self.memo = _Memo(convert, _RECORD_KIND.get(dest, dest), name)
        # Text, e-mail and phone values rarely repeat: converted and checked a column at a time, not remembered.
        self.form = COLUMN_FORMS.get(convert)

    def read(self, cells: tuple[Any, ...], pieces: bool) -> tuple[list[Any], list[str | None], set[int]]:
        """The column's values, fingerprint pieces (if asked for), and the offsets of the rows that must be read
        row by row."""
        memo = self.memo
        if self.form is not None:
            values = self.form(cells)
            if values is not None:
                kind, name = memo.kind, self.name
                present = [v for v in values if v is not None]
                slow: set[int] = set()
                if not texts_pass(kind, name, present):
                    slow = {i for i, v in enumerate(values) if v is not None and not value_passes(kind, name, v)}
                out: list[str | None] = []
                if pieces:
                    out = list(map(memo.prefix.__add__, map(repr, values)))
                    if len(present) < len(values):
                        for i in compress(range(len(values)), map(is_, values, repeat(None))):
                            out[i] = None
                return values, out, slow
        try:
            "".join(cells)
        except TypeError:  # numbers, dates or booleans from a spreadsheet: remembered by type and value
            cells = tuple(c if c.__class__ is str else memo_key(c) for c in cells)
        values = list(map(memo.__getitem__, cells))
        if memo.full:  # more distinct values than it remembers: the rest computed again, cell by cell
            results = [(memo[c], memo.pieces[c], c in memo.bad) if c in memo.pieces
                       else memo.compute(c if c.__class__ is not tuple else c[1]) for c in cells]  # fmt: skip
            return ([r[0] for r in results], [r[1] for r in results] if pieces else [],
                    {i for i, r in enumerate(results) if r[2]})  # fmt: skip
        slow = set()
        if memo.bad and not memo.bad.isdisjoint(cells):
            slow = {i for i, c in enumerate(cells) if c in memo.bad}
        return values, list(map(memo.pieces.__getitem__, cells)) if pieces else [], slow


class ColumnReader:
    """Reads the data rows of one sheet with one plan; `rows` yields what `checked.checked_rows` would."""

    def __init__(self, source: TabularSource, plan: Plan, entities: dict[str, str]) -> None:
        self.source, self.plan, self.entities = source, plan, entities
        self.columns = [_Column(i, name, conv, _destination(name, entities.get(name, "case")))
                        for i, name, conv in plan.plain]  # fmt: skip
        self.width = max([c.index for c in self.columns] + [i for i, _, _ in plan.flags], default=-1) + 1
        groups: dict[str, list[int]] = {}
        for n, c in enumerate(self.columns):
            groups.setdefault(c.dest, []).append(n)
        consts: dict[str, dict[str, Any]] = {}
        for name, value in plan.constants.items():
            consts.setdefault(_destination(name, entities.get(name, "case")), {})[name] = value
        others = [d for d in dict.fromkeys([*groups, *consts]) if d not in _FIXED]
        self.others = others
        dests = [*_FIXED, *others]
        # Per destination: the offsets of its columns, their field names, and its constants.
        self.groups = [groups.get(d, []) for d in dests]
        self.consts = [consts.get(d) for d in dests]
        # What each record starts with: the case's id (set per row), the person's id, the participant's person
        # and role, the referral's direction, the link of a person's record to its person.
        self.heads: list[dict[str, Any]] = [{"id": ""}, {"id": "p1"}, {"person": "p1", "role": plan.role},
                                            {"direction": "Incoming"}, {"direction": "Outgoing"}]  # fmt: skip
        for d in others:
            head: dict[str, Any] = {"id": d[0] + "1"} if d == "organisation" else {}
            if d in _PERSON_LINKED:
                head["person"] = "p1"
            self.heads.append(head)
        # A record of another entity goes in the bundle when it holds more than its head.
        self.sizes = [len(h) for h in self.heads[len(_FIXED) :]]
        # Without an id column every key is a fingerprint, built from pieces in field-name order (constants too).
        self.pieces = not plan.id_columns
        self.piece_order = sorted([(c.name, n) for n, c in enumerate(self.columns)] + [(k, -1) for k in plan.constants])
        self.const_piece = {k: f"({k!r}, {v!r}" for k, v in plan.constants.items()}
        self.ticks: dict[Any, bool] = {}  # cell of a one-column-per-choice column → ticked?
        self.offsets = {c.name: j for j, c in enumerate(self.columns)}  # field → its column's offset
        # Per record kind, its fields: column offset, or -1 for a constant.
        self.kinds: dict[str, dict[str, int]] = {}
        for n, c in enumerate(self.columns):
            self.kinds.setdefault(c.memo.kind, {})[c.name] = n
        for name in plan.constants:
            dest = _destination(name, entities.get(name, "case"))
            self.kinds.setdefault(_RECORD_KIND.get(dest, dest), {})[name] = -1

    def rows(self, raw_rows: Iterator[list[Any]], number: int) -> Iterator[CheckedRow]:
        """`number` is the row number just before the first of `raw_rows`."""
        block: list[list[Any]] = []
        for raw in raw_rows:
            block.append(raw)
            if len(block) == BLOCK:
                yield from self._block(block, number)
                number += BLOCK
                block = []
        if block:
            yield from self._block(block, number)

    def _block(self, block: list[list[Any]], number: int) -> Iterator[CheckedRow]:
        width, n = self.width, len(block)
        padded = block
        if min(map(len, block)) < width:
            padded = [r if len(r) >= width else [*r, *([""] * (width - len(r)))] for r in block]
        cells = list(zip(*padded, strict=False)) if width else []  # rows may be wider than the plan
        values: list[list[Any]] = []
        pieces: list[list[str | None]] = []
        slow: set[int] = set()
        nones: list[Any] = [None] * n
        live: set[int] = set()  # the columns with a value in this block (templates leave many empty)
        for j, c in enumerate(self.columns):
            col = cells[c.index]
            if col.count("") + col.count(None) == n:
                values.append(nones)
                pieces.append(nones)
                continue
            live.add(j)
            v, p, s = c.read(col, self.pieces)
            values.append(v)
            pieces.append(p)
            slow |= s
        slow |= self._ticks(cells, values, n)
        if max(map(len, block)) > header_width(self.plan):  # the row reader refuses them
            slow.update(off for off, r in enumerate(block) if cells_beyond_header(self.plan, r))
        check = self._suspects(values, n)
        # A row with no value at all is blank: skipped, as the row-by-row reader skips it.
        if live:
            counts = map(methodcaller("count", None), zip(*[values[j] for j in sorted(live)], strict=True))
            special = slow | set(compress(range(n), map(eq, counts, repeat(len(live)))))
        else:
            special = set(range(n))
        # Each record of each row, filled a column at a time (in plan order, so keys keep the row reader's order).
        records: list[Any] = []
        for k, (head, group) in enumerate(zip(self.heads, self.groups, strict=True)):
            const = self.consts[k]
            if k >= _SHARED_FROM and not group and not const:
                records.append(repeat(head, n))  # a referral or other record never filled is never in a bundle
                continue
            recs = list(map(dict.copy, repeat(head, n)))
            for i in group:
                if i not in live:
                    continue
                name = self.columns[i].name
                for rec, value in zip(recs, values[i], strict=True):
                    if value is not None:
                        rec[name] = value
            if const:
                for r in recs:
                    r.update(const)
            records.append(recs)
        if self.pieces:
            wanted = [pieces[i] if i >= 0 else repeat(self.const_piece[name], n)
                      for name, i in self.piece_order if i < 0 or i in live]  # fmt: skip
            piece_rows: Any = zip(*wanted, strict=True) if wanted else repeat((), n)
        else:
            piece_rows = repeat(None, n)
        extra_rows = zip(*records[len(_FIXED) :], strict=True) if self.others else repeat((), n)
        others, sizes = self.others, self.sizes
        seen, problems = self.source._seen, self.source.problems
        id_columns, record_column = self.plan.id_columns, self.plan.record_column
        blake2b = hashlib.blake2b
        rows = zip(*records[: len(_FIXED)], extra_rows, piece_rows, strict=True)
        for off, (case, person, part, inc, outg, extra, prow) in enumerate(rows):
            if off in special:
                if off in slow:
                    yield from self._slow(block[off], number + off + 1)
                continue  # blank
            row = number + off + 1
            key = ""
            if id_columns:
                raw = block[off]
                for i in id_columns:
                    if i < len(raw) and not is_blank(raw[i]):
                        key = _clean_id(raw[i])
                        break
            case["id"] = key
            if key and record_column is not None:
                key = with_record(key, self.plan, block[off])
            if not key:
                if prow is None:  # a row without its id: the row-by-row reader says so, or fingerprints it
                    yield from self._slow(block[off], row)
                    continue
                # Each piece is "(name, value" without its ")", so that the join closes them all.
                text = "[" + "), ".join(filter(None, prow)) + ")]"
                key = case["id"] = "fp-" + blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
            bundle: dict[str, Any] = {"htcds_version": "2.0", "case": case, "persons": [person], "participants": [part]}
            if len(inc) > 1 or len(outg) > 1:
                bundle["referrals"] = [r for r in (inc, outg) if len(r) > 1]
            for k, rec in enumerate(extra):
                if len(rec) > sizes[k]:
                    bundle[_LISTS[others[k]]] = [rec]
            mine: list[Problem] = []
            if key in seen:
                repeated = _duplicate(row, key)
                problems.append(repeated)
                mine.append(repeated)
            seen.add(key)
            if check is None or off in check:
                validate_bundle(bundle, row, mine)
            yield row, key, bundle, mine

    def _ticks(self, cells: list[tuple[Any, ...]], values: list[list[Any]], n: int) -> set[int]:
        """Rows whose one-column-per-choice ticks add a choice their joined cell does not hold (or that have no
        joined column): the row-by-row reader merges those."""
        out: set[int] = set()
        plain = self.offsets
        for i, name, choice in self.plan.flags:
            if i >= len(cells):
                continue
            ticked = [k for k, t in enumerate(map(self._truthy, cells[i])) if t]
            if not ticked:
                continue
            joined: list[Any] = values[plain[name]] if name in plain else [None] * n
            out.update(k for k in ticked if not (isinstance(joined[k], list) and choice in joined[k]))
        return out

    def _truthy(self, cell: Any) -> bool:
        try:
            return self.ticks[cell]
        except KeyError:
            result = self.ticks[cell] = truthy(cell)
            return result
        except TypeError:
            return truthy(cell)

    def _suspects(self, values: list[list[Any]], n: int) -> set[int] | None:
        """Offsets of the rows a rule across fields may concern (None: all of them)."""
        out: set[int] = set()
        for kind, fields in self.kinds.items():
            columns = {name: values[i] if i >= 0 else [self.plan.constants[name]] * n for name, i in fields.items()}
            found = rule_suspects(kind, columns, n, self.plan.role)
            if found is None:
                return None
            out |= found
        return out

    def _slow(self, raw: list[Any], row: int) -> Iterator[CheckedRow]:
        """One row the way `base.TabularSource` and `checked.checked_rows` read it."""
        problems = self.source.problems
        start = len(problems)
        out = convert_row(self.plan, raw, row, problems, self.entities)
        if out is None:
            return
        key, bundle = out
        if key in self.source._seen:
            problems.append(_duplicate(row, key))
        self.source._seen.add(key)
        mine = [p for p in problems[start:] if p.row == row]
        validate_bundle(bundle, row, mine)
        yield row, key, bundle, mine


def _duplicate(row: int, key: str) -> Problem:
    return source_problem("duplicate-key", f"Row {row} repeats the source id {key!r} of an earlier row.", row=row,
                          value=key, severity=WARNING)  # fmt: skip
