"""Run the test suite on SQLite, then on PostgreSQL when a server answers (always in CI).

Browser tests run in the SQLite pass only: they test pages, not the database, and Chromium is the slow part.
"""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg

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
    status = run("SQLite", sqlite_env, [])
    if postgres_available():
        pg_env = {**base, "DATABASE_URL": PG_URL, "PHARE_DATA_DIR": os.path.abspath("var/test-postgres")}
        status = run("PostgreSQL", pg_env, ["-m", "not browser"]) or status
    elif os.getenv("CI"):
        print(f"PostgreSQL is required in CI but does not answer at {PG_URL}", file=sys.stderr)
        return 1
    else:
        print(f"\nPostgreSQL does not answer at {PG_URL}: ran the SQLite pass only.")
    return status


if __name__ == "__main__":
    sys.exit(main())
