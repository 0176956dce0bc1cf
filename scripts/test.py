"""Run the test suite on SQLite, then on PostgreSQL when a server answers (always in CI).

Browser tests run in the SQLite pass only: they test pages, not the database, and Chromium is the slow part. The
tests of the pure-Python package (tests/htcds) also run once, in the SQLite pass: they never touch a database.
The two passes run side by side (a machine with two cores finishes in the time of the longer one); the PostgreSQL
pass writes to var/test-postgres.log, printed when both are done. PHARE_TEST_SERIAL=1 runs them one after the other.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

PG_ONLY = ["--ignore=tests/htcds"]  # the PostgreSQL pass skips what never touches a database
PG_URL = os.getenv("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def postgres_available() -> bool:
    try:
        with psycopg.connect(PG_URL.replace("postgres://", "postgresql://", 1), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def run(label: str, env: dict[str, str], extra: list[str]) -> int:
    print(f"\n=== tests on {label} ===", flush=True)
    return subprocess.call([sys.executable, "-m", "pytest", *extra, *sys.argv[1:]], env=env)


def main() -> int:
    base = dict(os.environ)
    base.pop("DATABASE_URL", None)
    sqlite_env = {**base, "PHARE_DATA_DIR": os.path.abspath("var/test-sqlite")}
    if not postgres_available():
        if os.getenv("CI"):
            print(f"PostgreSQL is required in CI but does not answer at {PG_URL}", file=sys.stderr)
            return 1
        status = run("SQLite", sqlite_env, [])
        print(f"\nPostgreSQL does not answer at {PG_URL}: ran the SQLite pass only.")
        return status
    pg_env = {**base, "DATABASE_URL": PG_URL, "PHARE_DATA_DIR": os.path.abspath("var/test-postgres")}
    if os.getenv("PHARE_TEST_SERIAL"):
        status = run("SQLite", sqlite_env, [])
        return run("PostgreSQL", pg_env, ["-m", "not browser", *PG_ONLY]) or status
    log = Path("var/test-postgres.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        postgres = subprocess.Popen([sys.executable, "-m", "pytest", "-m", "not browser", *PG_ONLY, *sys.argv[1:]], env=pg_env,
                                    stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        status = run("SQLite (PostgreSQL runs beside it)", sqlite_env, [])
        pg_status = postgres.wait()
    print("\n=== tests on PostgreSQL ===", flush=True)
    print(log.read_text(encoding="utf-8"), flush=True)
    return status or pg_status


if __name__ == "__main__":
    sys.exit(main())
