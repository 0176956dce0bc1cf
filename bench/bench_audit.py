"""Audited transactions under contention on PostgreSQL: how many a second the audit log takes, side by side for
two versions of the code (a checkout of the version before, and this tree), in one run.

Every read of personal data writes an audit event in its own transaction, so the audit write is what every
request of a busy instance does. Each tree gets a fresh database (`phare migrate`) and `--orgs` organisations;
then `--writers` processes (one database connection each, as gunicorn's workers) record `case.viewed` events in
transactions of their own for `--seconds`, writer i for organisation i mod `--orgs`. Rounds alternate the trees
(A B, B A, ...) so that a machine shared with other jobs weighs on both alike. Reported per tree and organisation
count: audited transactions a second, the CPU time per transaction (writers plus their PostgreSQL backends) and
the ratio to the first tree. Writes bench/results/audit.json.

    git archive <rev> | tar -x -C /tmp/before
    python bench/bench_audit.py --tree /tmp/before --tree . [--writers 8] [--orgs 1,8] [--seconds 15] [--rounds 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG = "postgresql://postgres@127.0.0.1:5432"


def pg(sql: str, dbname: str = "postgres") -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(f"{PG}/{dbname}", autocommit=True) as conn:
        cur = conn.execute(sql)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


def cpu_of(pid: int) -> float:
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def writer(org_slug: str, start_at: float, seconds: float) -> None:
    """One writer process: audited transactions for one organisation until the time is up; prints its figures."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phare.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from phare.accounts.models import Organisation
    from phare.audit.log import record

    org = Organisation.objects.get(slug=org_slug)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        backend = int(cur.fetchone()[0])
    time.sleep(max(0.0, start_at - time.time()))
    cpu0, db0 = time.process_time(), cpu_of(backend)
    n = 0
    deadline = time.time() + seconds
    while time.time() < deadline:
        with transaction.atomic():
            record("case.viewed", organisation=org, target_type="cases.case", target_id=f"bench-{n}",
                   detail={"persons": [f"00000000-0000-0000-0000-{n:012d}"], "names_shown": True})  # fmt: skip
        n += 1
    print(json.dumps({"n": n, "cpu_s": time.process_time() - cpu0, "db_cpu_s": cpu_of(backend) - db0}))


def prepare(env: dict[str, str], orgs: int) -> None:
    """Child process: the organisations, and one event each (the chain's head exists before the timing)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phare.settings")
    import django

    django.setup()
    from django.db import transaction

    from phare.accounts.models import Organisation
    from phare.audit.log import record

    for i in range(orgs):
        org, _ = Organisation.objects.get_or_create(slug=f"bench-audit-{i}", defaults={"org_Name": f"Bench {i}"})
        with transaction.atomic():
            record("organisation.security_changed", organisation=org)


def verify_log() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phare.settings")
    import django

    django.setup()
    from phare.audit.log import verify

    v = verify()
    print(json.dumps({"ok": v.ok, "events": v.checked, "reason": v.reason}))


def run_round(tree: Path, env: dict[str, str], writers: int, orgs: int, seconds: float) -> dict[str, float]:
    start_at = time.time() + 4 + writers * 0.5  # every writer set up (django.setup) before the clock starts
    procs = [subprocess.Popen([sys.executable, __file__, "--writer", f"bench-audit-{i % orgs}", str(start_at),
                               str(seconds)], env=env, cwd=tree, stdout=subprocess.PIPE, text=True)
             for i in range(writers)]  # fmt: skip
    outs = [json.loads(p.communicate(timeout=seconds + 120)[0].strip().splitlines()[-1]) for p in procs]
    n = sum(o["n"] for o in outs)
    cpu = sum(o["cpu_s"] + o["db_cpu_s"] for o in outs)
    return {"transactions": n, "per_s": n / seconds, "cpu_ms_per_transaction": 1000 * cpu / n if n else 0.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", action="append", help="a source tree to measure (repeat; the first is the base)")
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--orgs", default="1,8", help="organisation counts to measure, comma-separated")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "audit.json"))
    ap.add_argument("--writer", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--prepare", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--verify", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.writer:
        writer(args.writer[0], float(args.writer[1]), float(args.writer[2]))
        return
    if args.prepare:
        prepare(dict(os.environ), args.prepare)
        return
    if args.verify:
        verify_log()
        return
    trees = [Path(t).resolve() for t in (args.tree or [str(ROOT)])]
    # Say in the result which version each tree is (its commit, when it is a git checkout).
    described = {}
    for tree in trees:
        rev = subprocess.run(["git", "-C", str(tree), "describe", "--always", "--dirty"], capture_output=True,
                             text=True, check=False)  # fmt: skip
        described[str(tree)] = rev.stdout.strip() or "not a git checkout"
    org_counts = [int(x) for x in args.orgs.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="phare-bench-audit-"))
    envs: dict[Path, dict[str, str]] = {}
    figures: dict[str, dict[str, list[dict[str, float]]]] = {}
    verdicts: dict[str, Any] = {}
    try:
        for i, tree in enumerate(trees):
            db = f"phare_bench_audit_{i}"
            env = {**os.environ, "DATABASE_URL": f"{PG}/{db}", "PHARE_DATA_DIR": str(tmp / f"data-{i}"),
                   "DEBUG": "false", "DJANGO_SETTINGS_MODULE": "phare.settings", "PYTHONPATH": str(tree)}  # fmt: skip
            env.pop("PHARE_DB_ROLE", None)
            pg(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            pg(f"CREATE DATABASE {db}")
            subprocess.run([sys.executable, "-m", "phare.cli", "migrate", "-v0"], env=env, cwd=tree, check=True,
                           timeout=1800)  # fmt: skip
            subprocess.run([sys.executable, __file__, "--prepare", str(max(org_counts))], env=env, cwd=tree,
                           check=True, timeout=600)  # fmt: skip
            envs[tree] = env
        for r in range(args.rounds):
            for orgs in org_counts:
                for tree in trees if r % 2 == 0 else trees[::-1]:
                    got = run_round(tree, envs[tree], args.writers, orgs, args.seconds)
                    figures.setdefault(str(tree), {}).setdefault(str(orgs), []).append(got)
                    print(f"round {r} {tree} orgs={orgs}: {got}", flush=True)
        for tree in trees:
            done = subprocess.run([sys.executable, __file__, "--verify"], env=envs[tree], cwd=tree, check=True,
                                  capture_output=True, text=True, timeout=600)  # fmt: skip
            verdicts[str(tree)] = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        for i in range(len(trees)):
            with contextlib.suppress(Exception):
                pg(f"DROP DATABASE IF EXISTS phare_bench_audit_{i} WITH (FORCE)")
        shutil.rmtree(tmp, ignore_errors=True)

    def mean(xs: list[float]) -> float:
        return round(sum(xs) / len(xs), 1)

    summary: dict[str, Any] = {}
    base = str(trees[0])
    for tree in trees:
        t = str(tree)
        summary[t] = {}
        for orgs in org_counts:
            runs = figures[t][str(orgs)]
            per_s = mean([x["per_s"] for x in runs])
            base_per_s = mean([x["per_s"] for x in figures[base][str(orgs)]])
            summary[t][f"orgs_{orgs}"] = {
                "transactions_per_s": per_s,
                "per_round": [round(x["per_s"], 1) for x in runs],
                "cpu_ms_per_transaction": mean([x["cpu_ms_per_transaction"] for x in runs]),
                "ratio_to_base": round(per_s / base_per_s, 2) if base_per_s else None,
            }
    result = {
        "benchmark": "audit",
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "postgres": pg("SHOW server_version")[0][0], "load_average_at_end": os.getloadavg(),
                    "note": "writers and PostgreSQL share the machine with other jobs; rounds alternate the trees"},
        "config": {"trees": described, "writers": args.writers, "orgs": org_counts,
                   "seconds_per_round": args.seconds, "rounds": args.rounds,
                   "transaction": "record('case.viewed', ...) alone in its transaction, one connection per writer"},
        "results": summary,
        "audit_verify": verdicts,
    }  # fmt: skip
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
