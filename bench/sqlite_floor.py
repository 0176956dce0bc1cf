"""The bare SQLite write of the rows a bulk load wrote: what writing them costs SQLite alone, without generating,
checking, sealing or building a single value. A floor for `phare demo` and `phare import` on SQLite.

    python bench/sqlite_floor.py PATH/TO/db.sqlite3 [TABLE ...]

Reads every row of the load's tables (by default those phare.cases.bundles.written_models names) from the loaded
database, then, timed: inserts them into an empty file with the same schema and the application's pragmas (WAL,
synchronous NORMAL, its page cache), 2,000 rows per `executemany` (the writer's chunk), the tables interleaved in
100 batches as the load interleaves them, with the tables' unique constraints in place and their other indexes
built at the end (as `bulk.deferred_indexes` does), then commits. Foreign keys are not checked (the load checks
them), so this is a lower bound. The copy lives in a temporary directory removed at the end (its sealed values
stay sealed: they are copied as stored). Prints one JSON object; bench_demo.py and bench_import.py record it beside their
own time.

    python bench/sqlite_floor.py --as-import PATH/TO/db.sqlite3

The same rows written as an import must write them: every index in place from the start and a commit after each
twentieth of the rows (an import of 100,000 rows commits every 5,000, so that other connections read a consistent
file between its batches, and a failure keeps what was committed). It cannot build its indexes at the end: they
must be there between commits. The floor no import into this schema can go under.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TABLES = ("accounts_personkey", "cases_person", "cases_case", "cases_personindex", "cases_caseparticipant",
          "cases_referral", "cases_casecomment", "cases_traffickingevent", "cases_supportplan", "cases_consent",
          "cases_assessment", "cases_caseevent", "work_task", "imports_importedrecord")  # fmt: skip
BATCHES = 100
CHUNK = 2000
IMPORT_COMMITS = 20  # 100,000 rows, committed every 5,000 (phare.imports)


def bare_write(source: Path, tables: tuple[str, ...] = TABLES, as_import: bool = False) -> dict[str, object]:
    cache_mb = int(os.environ.get("SQLITE_CACHE_MB", "64"))  # as phare.settings gives the application's connections
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    schema = dict(src.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
    indexes = [sql for (sql,) in src.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN "
        f"({', '.join('?' * len(tables))})", tables) if not sql.lstrip().upper().startswith("CREATE UNIQUE")]  # fmt: skip
    data: dict[str, tuple[str, list[tuple[object, ...]]]] = {}
    for table in tables:
        if table not in schema:
            continue
        columns = [row[1] for row in src.execute(f"PRAGMA table_info('{table}')")]
        names = ", ".join(f'"{c}"' for c in columns)
        sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'
        data[table] = (sql, src.execute(f'SELECT {names} FROM "{table}" ORDER BY rowid').fetchall())
    src.close()
    with tempfile.TemporaryDirectory(prefix="phare-floor-") as tmp:
        db = sqlite3.connect(Path(tmp) / "floor.sqlite3", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(f"PRAGMA cache_size=-{cache_mb * 1024}")
        for sql in schema.values():
            db.execute(sql)
        if as_import:
            for sql in indexes:
                db.execute(sql)
        db.execute("BEGIN IMMEDIATE")
        start = time.perf_counter()
        cpu = time.process_time()
        for b in range(BATCHES):
            for sql, rows in data.values():
                lo, hi = len(rows) * b // BATCHES, len(rows) * (b + 1) // BATCHES
                for at in range(lo, hi, CHUNK):
                    db.executemany(sql, rows[at : min(at + CHUNK, hi)])
            if as_import and (b + 1) % (BATCHES // IMPORT_COMMITS) == 0 and b + 1 < BATCHES:
                db.execute("COMMIT")
                db.execute("BEGIN IMMEDIATE")
        inserted = time.perf_counter() - start
        for sql in [] if as_import else indexes:
            db.execute(sql)
        indexed = time.perf_counter() - start
        db.execute("COMMIT")
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        db.close()
    return {"rows": sum(len(rows) for _, rows in data.values()), "as_import": as_import, "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu, 2), "insert_seconds": round(inserted, 2),
            "index_seconds": round(indexed - inserted, 2), "commit_seconds": round(seconds - indexed, 2),
            "rows_by_table": {t: len(rows) for t, (_, rows) in data.items()}}  # fmt: skip


def measured(source: Path, as_import: bool = False) -> dict[str, object]:
    """`bare_write(source)` in a fresh process (the rows it holds in memory stay out of the caller's peak)."""
    args = [sys.executable, __file__, *(["--as-import"] if as_import else []), str(source)]
    out = subprocess.run(args, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


if __name__ == "__main__":
    argv = sys.argv[1:]
    flag = argv[:1] == ["--as-import"]
    argv = argv[1:] if flag else argv
    print(json.dumps(bare_write(Path(argv[0]), tuple(argv[1:]) or TABLES, as_import=flag)))
