"""`make mutants`: apply each mutant of the catalogue (tests/mutants/catalogue.py) in a scratch copy of the tree,
run the tests that must notice it, and fail naming every mutant that survives.

A mutant is killed when one of its tests fails (pytest exit status 1 with a FAILED test; an error in a test's
set-up, such as a fixture that cannot be found, says nothing of the guard). Anything else is reported: a survivor
(the tests pass with the guard gone), a stale entry (its `find` text is no longer in the file exactly once: the
guard moved, update the entry), or a broken mutant (the mutated file does not compile, or pytest could not run the
tests, or a test erred before it ran).

    python scripts/mutants.py                 # every mutant, on SQLite and (for PostgreSQL-only guards) PostgreSQL
    python scripts/mutants.py --only ID ...   # some of them
    python scripts/mutants.py --jobs 2        # two scratch copies at once (default: the machine's cores, at most 4)
    python scripts/mutants.py --json out.json # the outcome of each, for bench/ or CI logs
    python scripts/mutants.py --record        # remember which test killed each mutant (tests/mutants/killers.json)
    python scripts/mutants.py --budget 400    # start no mutant after 400 s (CI's limit); those are listed, not failed

Each mutant first runs the one test that killed it last time (tests/mutants/killers.json), when that test is among
its tests: if it fails, the mutant is killed, at the cost of one test; if it passes (renamed, or no longer enough),
the mutant's whole test list runs as before. The shortcut never turns a survivor into a kill: a kill is always a
failure of one of the mutant's own tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from queue import Queue

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.mutants.catalogue import CATALOGUE, Mutant  # noqa: E402

KILLERS = ROOT / "tests" / "mutants" / "killers.json"
PG_URL = os.getenv("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
# Plugins that a mutant's tests never use (no fixture, marker or option of theirs is in tests/): each loads its
# library at pytest's start, 1.1 s of the 2.7 s that starting pytest for one mutant took. Their libraries still
# load where a test imports them (tests/test_api_fuzz.py, the property tests).
UNUSED_PLUGINS = ("schemathesis", "anyio", "locust", "platformdirs", "hypothesispytest")
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "var", "artifacts", "__pycache__", "*.pyc", "test_*-*", ".mypy_cache",
                                     ".ruff_cache", "*.egg-info")  # fmt: skip


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("postgres://", "postgresql://", 1), connect_timeout=3):
            return True
    except Exception:
        return False


def scratch_copy(base: Path, n: int) -> Path:
    dest = base / f"tree{n}"
    shutil.copytree(ROOT, dest, ignore=COPY_IGNORE)
    return dest


def check_entry(m: Mutant) -> str:
    """'' when the entry applies, else why not."""
    path = ROOT / m["file"]
    if not path.exists():
        return f"{m['file']} does not exist"
    count = path.read_text("utf-8").count(m["find"])
    if count != 1:
        return f"its code occurs {count} times in {m['file']} (expected once): the guard moved, update the entry"
    return ""


def run_one(m: Mutant, tree: Path, db: str, slot: int) -> dict[str, object]:
    path = tree / m["file"]
    original = path.read_text("utf-8")
    mutated = original.replace(m["find"], m["replace"], 1)
    started = time.monotonic()
    try:
        if path.suffix == ".py":  # a template's guard is mutated too; only Python is compiled first
            compile(mutated, str(path), "exec")
    except SyntaxError as exc:
        return {"id": m["id"], "db": db, "outcome": "broken", "detail": f"does not compile: {exc}"}
    path.write_text(mutated, "utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env["PHARE_DATA_DIR"] = str(tree / "var" / f"mutant-{db}")
    env["CI"] = env.get("CI", "")
    if db == "postgresql":
        env["DATABASE_URL"] = PG_URL
    # A slot's SQLite test database is built once and reused: mutants change code, not the schema. A mutant of a
    # migration or of what migrations run gets a fresh one.
    fresh = db != "sqlite" or "/migrations/" in m["file"] or m["file"] == "phare/rls.py"
    reuse = ["--create-db"] if fresh else ["--reuse-db"]
    env["PHARE_TEST_DB_NAME"] = f"test_mutant_{slot}" + ("_fresh" if fresh else "")

    def pytest(tests: list[str]) -> tuple[int, list[str]]:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-rf", "-p", "no:warnings", "-p", "no:cacheprovider",
             *(f"-pno:{name}" for name in UNUSED_PLUGINS), *reuse,
             "-m", "not browser", *tests],
            cwd=tree, env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        lines = (proc.stdout + proc.stderr).strip().splitlines()
        return proc.returncode, [line for line in lines if line.startswith("FAILED ")][:1] + lines[-2:]

    killer = killer_of(m)
    try:
        status, tail = pytest([killer]) if killer else (0, [])
        if outcome_of(status, tail) != "killed":
            status, tail = pytest(m["tests"])
    except subprocess.TimeoutExpired:
        status, tail = -1, ["timed out after 900 s"]
    finally:
        path.write_text(original, "utf-8")
    outcome = outcome_of(status, tail)
    return {"id": m["id"], "db": db, "outcome": outcome, "seconds": round(time.monotonic() - started, 1),
            "detail": " | ".join(tail)}  # fmt: skip


def outcome_of(status: int, tail: list[str]) -> str:
    """killed, survived or broken, from pytest's exit status and the lines kept of its output (its first FAILED line,
    from -rf, and its last lines): exit status 1 also means a test that errs before it runs (a fixture or a plugin
    missing), which is no kill."""
    if status == 1 and any(line.startswith("FAILED ") for line in tail):
        return "killed"
    return "survived" if status == 0 else "broken"


_killers: dict[str, str] | None = None


def killer_of(m: Mutant) -> str:
    """The test that killed this mutant last time, if it still belongs to the mutant's tests."""
    global _killers
    if _killers is None:
        _killers = json.loads(KILLERS.read_text("utf-8")) if KILLERS.exists() else {}
    node = _killers.get(m["id"], "")
    return node if node and any(_belongs(node, t) for t in m["tests"]) else ""


def _belongs(node: str, test: str) -> bool:
    if "::" in test:  # a test (or a class): itself or one of its parameters
        return node == test or node.startswith((test + "[", test + "::"))
    return node.split("::")[0] == test or node.startswith(test.rstrip("/") + "/")


def killer_in(tail: str) -> str:
    """The failing test's node id in pytest's short summary ('FAILED tests/x.py::test_y - ...')."""
    for line in tail.split(" | "):
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" ", 1)[1].split(" - ", 1)[0].strip()
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=None, help="mutant ids to run")
    parser.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, 4))
    parser.add_argument("--json", help="write the outcomes to this file")
    parser.add_argument("--record", action="store_true", help="write the test that killed each mutant to killers.json")
    parser.add_argument("--budget", type=float, default=0, help="seconds after which mutants not yet started are "
                        "reported as not run instead of run (CI's time limit); 0: no limit")  # fmt: skip
    args = parser.parse_args()

    ids = [m["id"] for m in CATALOGUE]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        print(f"duplicate mutant ids: {sorted(dupes)}")
        return 1
    chosen = [m for m in CATALOGUE if args.only is None or m["id"] in args.only]
    pg = postgres_available()
    if not pg and os.getenv("CI"):
        print(f"PostgreSQL is required in CI but does not answer at {PG_URL}")
        return 1
    results: list[dict[str, object]] = []
    work: list[tuple[Mutant, str]] = []
    for m in chosen:
        problem = check_entry(m)
        if problem:
            results.append({"id": m["id"], "db": "-", "outcome": "stale", "detail": problem})
            continue
        db = "postgresql" if m.get("db") == "postgresql" else "sqlite"
        if db == "postgresql" and not pg:
            results.append({"id": m["id"], "db": db, "outcome": "skipped", "detail": "PostgreSQL does not answer"})
            continue
        work.append((m, db))

    lock = threading.Lock()
    with tempfile.TemporaryDirectory(prefix="phare-mutants-") as tmp:
        slots: Queue[tuple[int, Path]] = Queue()
        for n in range(max(1, min(args.jobs, len(work) or 1))):
            slots.put((n, scratch_copy(Path(tmp), n)))

        started = time.monotonic()
        known = json.loads(KILLERS.read_text("utf-8")) if args.record and KILLERS.exists() else {}

        def task(item: tuple[Mutant, str]) -> None:
            if args.budget and time.monotonic() - started > args.budget:
                with lock:
                    results.append({"id": item[0]["id"], "db": item[1], "outcome": "unrun", "detail": "time budget"})
                return
            slot, tree = slots.get()
            try:
                res = run_one(item[0], tree, item[1], slot)
            finally:
                slots.put((slot, tree))
            with lock:
                results.append(res)
                node = killer_in(str(res.get("detail", ""))) if args.record and res["outcome"] == "killed" else ""
                if node:  # written as it goes, so that an interrupted run keeps what it learnt
                    known[str(res["id"])] = node
                    KILLERS.write_text(json.dumps(dict(sorted(known.items())), indent=1) + "\n", "utf-8")
                print(f"{res['outcome']:>8}  {res['id']} ({res['db']}, {res.get('seconds', 0)} s)", flush=True)

        with ThreadPoolExecutor(max_workers=slots.qsize()) as pool:
            list(pool.map(task, work))

    bad = [r for r in results if r["outcome"] not in ("killed", "skipped", "unrun")]
    unrun = [r for r in results if r["outcome"] == "unrun"]
    if unrun:
        print(f"\n{len(unrun)} mutants not run within the time budget of {args.budget:.0f} s: "
              + " ".join(str(r["id"]) for r in unrun))  # fmt: skip
    killed = sum(1 for r in results if r["outcome"] == "killed")
    print(f"\n{killed} of {len(results)} mutants killed")
    for r in bad:
        print(f"  {str(r['outcome']).upper()}: {r['id']} ({r['db']}): {r['detail']}")
    if args.json:
        Path(args.json).write_text(json.dumps(sorted(results, key=lambda r: str(r["id"])), indent=1) + "\n", "utf-8")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
