"""Demo data generation: `phare demo --cases N` into a fresh database, timed.

    python bench/bench_demo.py [--cases 200000]                  # SQLite in a fresh data dir
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/phare_bench_demo python bench/bench_demo.py

The PostgreSQL database named in DATABASE_URL is dropped and created again. Migrations and the organisation
are not timed. Writes bench/results/demo.json under the database vendor: cases, seconds, cases per second,
rows written, peak memory, and the projection to the issue's 200,000 cases when fewer were asked for.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=200_000)
    args = ap.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        name, server = url.rsplit("/", 1)[1], url.rsplit("/", 1)[0] + "/postgres"
        subprocess.run(["psql", server, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True, capture_output=True)
        subprocess.run(["psql", server, "-qc", f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
    data_dir = Path(os.environ.setdefault("PHARE_DATA_DIR", "/tmp/phare-bench-demo"))
    if not url:
        shutil.rmtree(data_dir, ignore_errors=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phare.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from phare.cases.demo import create_demo, ensure_org
    from phare.cases.models import Case, CaseParticipant, Person, PersonIndex

    call_command("migrate", verbosity=0)
    ensure_org("demo")
    load = os.getloadavg()
    t0, c0 = time.perf_counter(), time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = create_demo(args.cases, slug="demo", seed=1, progress=lambda n: print(f"  {n:,}", file=sys.stderr, flush=True))
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    generator_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    rows = {m.__name__: m.objects.count() for m in (Case, Person, CaseParticipant, PersonIndex)}
    out = {
        "database": connection.vendor,
        "cases": result.created,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),  # the writing process (this one)
        "generator_cpu_seconds": round(generator_cpu, 1),  # the process generating and sealing (phare.cases.forked)
        "cases_per_s": round(result.created / seconds),
        "ms_per_case": round(seconds / result.created * 1000, 3),
        "projected_seconds_for_200000": round(seconds / result.created * 200_000),
        "target_seconds_for_200000": 60 if connection.vendor == "sqlite" else 180,  # issue 23 for SQLite
        "rows": rows,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average_at_start": load,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "measured": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if connection.vendor == "sqlite":
        # What writing the same rows costs SQLite alone (bench/sqlite_floor.py): the part of the time no
        # preparation can remove.
        from bench.sqlite_floor import measured

        connection.close()
        floor = measured(Path(connection.settings_dict["NAME"]))
        out["bare_sqlite_write"] = floor
        out["time_ratio_to_bare_sqlite_write"] = round(seconds / float(floor["seconds"]), 1)  # type: ignore[arg-type]
    print(json.dumps(out, indent=2))
    path = ROOT / "bench" / "results" / "demo.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[connection.vendor] = out
    path.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
