"""The reading half of an import: parse, coerce and validate each row, hash it, and compute what the writing half
will need from it (the duplicate-check probe, the blind-index digests of its people, the lookups it names).

On a machine with more than one core, a file of some size is read in a forked child process while the parent
writes (phare.cases.forked): the two halves then overlap instead of taking turns. The child never touches the
database (it inherits the organisation's blind-index key and data key from the parent, fetched before the fork)
and runs at most AHEAD_ROWS rows ahead. Without a child the same generator runs in the parent.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from htcds.sources import Source, checked_rows, report_dict
from htcds.sources.base import TabularSource
from htcds.validation import ERROR
from phare.cases import forked

CHUNK = 250  # rows per message from the reading process
AHEAD_ROWS = 6000  # how far the reader may run ahead of the writer: more than one write batch, so both keep busy
# (row, key, bundle, problems as report dicts, rejected?, content hash, first person's values or None,
#  lookup fields named, ((kind, value), digest) of its people's blind indexes, the first person's marks for the
#  check of the same person twice in the file)
Prepared = tuple[int, str, dict[str, Any], list[dict[str, Any]], bool, str, dict[str, Any] | None, list[str],
                 list[tuple[tuple[str, str], str]], list[tuple[str, ...]]]  # fmt: skip
Indexer = Callable[[str, str], str]


@dataclass(frozen=True)
class Keys:
    """What a reading process needs to prepare new people without the database: the organisation's blind-index
    function and its active data key (pk, key), both fetched by the parent before it forks."""

    indexer: Indexer
    wrap: tuple[int, bytes]
    duplicates: bool = True  # whether anyone is there to be a duplicate of: else no probes to send back


# The process reading the file failed or vanished; nothing of this import is kept (the caller's transaction rolls
# back what the current batch wrote).
ReadError = forked.ForkedError


def prepare(source: Source, keys: Keys | None, known: Container[str] = ()) -> Iterator[Prepared]:
    """Each row with everything the writer needs from it; with `keys`, the people of rows whose key is not
    `known` (the rows to be written as new) also get their blind-index rows, their person key and their
    sealed fields (phare.crypto.fields.PresealedPerson), and every record its field values and sealed values, and
    the records other than people and cases their whole rows (phare.cases.bundles.prepare_records, bulk.Rows), so
    the writer only has to insert them."""
    from phare.cases import bulk
    from phare.cases.bundles import PREPARED_KEYS, RECORDS, prepare_person, prepare_records
    from phare.cases.models import Person
    from phare.imports.records import content_hash, model_values, person_marks, skipped_fields

    rows = bulk.Rows()
    for row, key, bundle, problems in checked_rows(source):
        for name in ("persons", *(k for k, _ in RECORDS)):
            recs = bundle.get(name)
            for rec in ([recs] if isinstance(recs, dict) else recs) if isinstance(recs, (dict, list)) else ():
                if isinstance(rec, dict):  # not a dict: the row's problem already
                    # Only this reader may say what a record's values, index rows and sealed values are.
                    for k in PREPARED_KEYS:
                        rec.pop(k, None)
        dicts = [report_dict(p, source) for p in problems]
        bad = any(p.severity == ERROR for p in problems)
        h = content_hash(bundle)
        probe: dict[str, Any] | None = None
        skipped: list[str] = []
        digests: list[tuple[tuple[str, str], str]] = []
        if not bad:
            for n, person in enumerate(bundle.get("persons") or ()):
                values = model_values(Person, person, skipped)
                if n == 0:  # for the duplicate checks: with the people recorded, and within the file
                    probe = values
                if keys is not None and key not in known:
                    mine = prepare_person(person, values, keys.indexer, keys.wrap)
                    if keys.duplicates:
                        digests.extend(mine)
            if keys is not None and key not in known:
                prepare_records(bundle, writer_values, keys.wrap, rows)
            skipped_fields(bundle, skipped, persons=False)  # the persons' went in above
        yield row, key, bundle, dicts, bad, h, probe, skipped, digests, person_marks(probe) if probe else []


def writer_values(model: type[Any], record: dict[str, Any]) -> dict[str, Any]:
    """What the import's writer computes for a record (phare.imports.service.run_import's BundleWriter)."""
    from phare.imports.records import model_values

    return model_values(model, record, [])


def use_reader_process(source: Source) -> bool:
    """A child reads when there is a second core, fork is available, and the file is big enough to pay for it."""
    if not forked.available() or source.path is None:
        return False
    try:
        size = source.path.stat().st_size
    except OSError:
        return False
    return size >= int(getattr(settings, "PHARE_IMPORT_READER_MIN_BYTES", 1 << 20))


def rows(source: Source, keys: Keys | None, known: Container[str]) -> Iterator[Prepared]:
    """The prepared rows of `source`: read in a child process when given the keys it needs, else here. After the
    last row, `source.problems` and `source.columns` hold what reading found, as if the file had been read here."""
    if keys is None:
        yield from prepare(source, None)  # the writer's memo computes each digest when it first needs it
        return
    data_rows: set[int] = set()

    def produce() -> Iterator[Prepared]:  # in the child
        for item in prepare(source, keys, known):
            data_rows.add(item[0])
            yield item

    def end() -> tuple[list[Any], dict[str, str]]:  # the rows' own problems went with them: only the file's are left
        return [p for p in source.problems if p.row not in data_rows], source.columns

    def ended(payload: tuple[list[Any], dict[str, str]]) -> None:
        source.problems[:] = payload[0]
        source.columns.update(payload[1])

    # The columns read go with each chunk: a re-import clears the fields they emptied.
    read = forked.items(produce, name="phare-import-reader", chunk=CHUNK, ahead=AHEAD_ROWS,
                        state=lambda: source.columns, on_state=source.columns.update, end=end, on_end=ended)  # fmt: skip
    first = next(read, None)  # the child has forked: the sheet it reads need not be held here too
    if isinstance(source, TabularSource):
        source.opened = None
    if first is not None:
        yield first
        yield from read
