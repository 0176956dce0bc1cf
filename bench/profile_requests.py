"""CPU per request of bench_load.py's loop, in one process, without locust or gunicorn: where the time goes.

    PHARE_DATA_DIR=var/prof python bench/profile_requests.py [--iterations 40] [--role supervisor]
                                                             [--profile 4] [--label after]

Needs the demo organisation (`phare demo --cases 5000`). With the production settings (DEBUG off, so Django's
cached template loader, and the same middleware), as the demo user of `--role` (a supervisor by default, the role
bench_load.py's users have) signed in with both factors, it runs the locust loop `--iterations` times: the case
list, list?status=Active, a deeper page, a first-name search, a case page and a comment (POST, with the CSRF
check on, as a browser sends it). For each it reports this process's CPU ms per request (on SQLite that includes
the database; on PostgreSQL, with DATABASE_URL set, the backend's CPU is read from /proc apart, and PHARE_DB_ROLE
makes each request run under row-level security as in production), the wall time and the SQL queries. Then
`--profile` more loops under cProfile give the top functions by own time and by cumulative time, per request.
Writes bench/results/profile_requests.json under `--label` and the database (earlier labels are kept), so a
before and an after sit side by side; the load average is recorded with each run, since the machine is shared.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ["DEBUG"] = "false"  # production: the cached template loader, no query log
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phare.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

import phare  # noqa: E402
from phare.accounts.models import Organisation, User  # noqa: E402
from phare.accounts.testing import login_with_mfa  # noqa: E402
from phare.cases.access import visible_cases  # noqa: E402
from phare.cases.models import CLOSED_STATUSES, Case  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "profile_requests.json"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PAGES = ("list", "list-filtered", "list-deep", "search", "case", "comment")


def backend_cpu() -> tuple[int, float] | None:
    """(pid, CPU seconds) of this connection's PostgreSQL backend when it runs on this machine."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        row = cur.fetchone()
    try:
        fields = Path(f"/proc/{row[0]}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return None
    return int(row[0]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Loop:
    """The locustfile's loop, one request at a time, each a (page name, callable) pair."""

    def __init__(self, client: Client, cases: list[str], names: list[str], deep_pages: int, seed: int = 1) -> None:
        self.client, self.cases, self.names, self.deep = client, cases, names, deep_pages
        self.rng = random.Random(seed)
        self.csrf = ""
        self.n = 0

    def _get(self, url: str) -> None:
        r = self.client.get(url)
        # A redirect would be the sign-in or the second factor asking again: the run would time the wrong page.
        assert r.status_code == 200, (url, r.status_code, r.get("Location", ""))
        m = CSRF.search(r.content.decode())
        if m:
            self.csrf = m.group(1)

    def _comment(self, number: str) -> None:
        self.n += 1
        data = {
            "cco_CaseComment": f"Follow-up call noted (PROFILETOKEN-{self.n:07d})",
            "csrfmiddlewaretoken": self.csrf,
        }
        r = self.client.post(f"/cases/{number}/comments/add/", data)
        assert r.status_code == 302 and f"/cases/{number}/" in r["Location"], (number, r.status_code)

    def requests(self) -> list[tuple[str, Callable[[], None]]]:
        number = self.rng.choice(self.cases)
        page, name = self.rng.randint(2, self.deep), self.rng.choice(self.names)
        return [
            ("list", lambda: self._get("/cases/")),
            ("list-filtered", lambda: self._get("/cases/?status=Active")),
            ("list-deep", lambda: self._get(f"/cases/?page={page}")),
            ("search", lambda: self._get(f"/cases/?q={name}")),
            ("case", lambda: self._get(f"/cases/{number}/")),
            ("comment", lambda: self._comment(number)),
        ]


def setup(role: str, load_users: int = 50) -> tuple[User, list[str], list[str], int]:
    org = Organisation.objects.get(slug="demo")
    # bench_load.py's supervisors: they are in the list's owner filter, as in the load run.
    for i in range(load_users):
        username = f"load-supervisor-{i:02d}"
        if not User.objects.filter(username=username).exists():
            User.objects.create_user(username=username, password=None, organisation=org, role="supervisor",
                                     first_name="Load", last_name=f"Supervisor {i}")  # fmt: skip
    user = User.objects.get(organisation=org, role=role, username=f"demo-{role.replace('_', '')}")
    rng = random.Random(1)
    visible = visible_cases(user).exclude(cas_Status__in=CLOSED_STATUSES)
    ids = list(visible.values_list("id", flat=True).order_by("id"))
    picked = rng.sample(ids, min(200, len(ids)))
    cases = list(Case.objects.filter(id__in=picked).values_list("number", flat=True))
    names: list[str] = []
    for c in Case.objects.filter(id__in=picked[:100]).select_related("primary_person"):
        first = getattr(c.primary_person, "prs_FirstName", "") or ""
        if first.isalpha() and first not in names:
            names.append(first)
    total = visible_cases(user).count()
    return user, cases, names[:50] or ["Ana"], max(2, min(total // 25, 400))


def timed(loop: Loop, iterations: int) -> dict[str, dict[str, float]]:
    cpu: dict[str, list[float]] = {p: [] for p in PAGES}
    wall: dict[str, list[float]] = {p: [] for p in PAGES}
    db: dict[str, list[float]] = {p: [] for p in PAGES}
    for _ in range(iterations):
        for page, run in loop.requests():
            s0 = backend_cpu()
            t0, c0 = time.perf_counter(), time.process_time()
            run()
            cpu[page].append((time.process_time() - c0) * 1000)
            wall[page].append((time.perf_counter() - t0) * 1000)
            s1 = backend_cpu()
            if s0 and s1 and s0[0] == s1[0]:
                db[page].append((s1[1] - s0[1]) * 1000)
    out: dict[str, dict[str, float]] = {}
    for p in PAGES:
        out[p] = {"cpu_mean_ms": round(statistics.mean(cpu[p]), 2), "cpu_p50_ms": round(statistics.median(cpu[p]), 2),
                  "wall_p50_ms": round(statistics.median(wall[p]), 2)}  # fmt: skip
        if len(db[p]) == iterations:  # kernel ticks of 10 ms: only the mean means anything
            out[p]["db_cpu_mean_ms"] = round(statistics.mean(db[p]), 2)
    every = [x for p in PAGES for x in cpu[p]]
    out["loop"] = {"cpu_mean_ms": round(statistics.mean(every), 2)}
    if all("db_cpu_mean_ms" in out[p] for p in PAGES):
        out["loop"]["db_cpu_mean_ms"] = round(statistics.mean(out[p]["db_cpu_mean_ms"] for p in PAGES), 2)
    return out


def queries(loop: Loop) -> dict[str, int]:
    counts = {}
    for page, run in loop.requests():
        with CaptureQueriesContext(connection) as ctx:
            run()
        counts[page] = len(ctx.captured_queries)
    return counts


def profiled(loop: Loop, iterations: int, top: int) -> dict[str, Any]:
    prof = cProfile.Profile()
    for _ in range(iterations):
        for _page, run in loop.requests():
            prof.enable()
            run()
            prof.disable()
    n = iterations * len(PAGES)
    stats = pstats.Stats(prof)
    entries = stats.stats  # type: ignore[attr-defined]

    def name(key: tuple[str, int, str]) -> str:
        path, line, func = key
        for marker in ("site-packages/", "/phare/", "/htcds/", "/lib/python3"):
            if marker in path:
                path = path[path.index(marker) + len(marker) :]
                break
        return f"{path}:{line}({func})"

    def listing(index: int) -> list[list[Any]]:
        rows = sorted(entries.items(), key=lambda kv: kv[1][index], reverse=True)[:top]
        # (function, calls per request, own ms per request, cumulative ms per request)
        return [[name(k), round(v[1] / n, 1), round(1000 * v[2] / n, 3), round(1000 * v[3] / n, 3)] for k, v in rows]

    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(top)
    return {"requests": n, "by_own_time": listing(2), "by_cumulative_time": listing(3), "_text": text.getvalue()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=40, help="timed loops (6 requests each)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--role", default="supervisor", help="supervisor (bench_load.py's users) or case_worker")
    ap.add_argument("--load-users", type=int, default=50, help="bench_load.py's users, created if missing")
    ap.add_argument("--profile", type=int, default=4, help="loops under cProfile (0: none)")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--label", default="current")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--print-profile", action="store_true", help="print cProfile's own-time listing")
    args = ap.parse_args()

    user, cases, names, deep = setup(args.role, args.load_users)
    client = login_with_mfa(Client(enforce_csrf_checks=True), user)
    loop = Loop(client, cases, names, deep)
    for _ in range(args.warmup):
        for _page, run in loop.requests():
            run()
    load0 = os.getloadavg()
    figures = timed(loop, args.iterations)
    load1 = os.getloadavg()
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "role": args.role, "iterations": args.iterations, "cases_visible": visible_cases(user).count(),
        "deep_pages": f"2..{deep}", "load_average_start": [round(x, 2) for x in load0],
        "load_average_end": [round(x, 2) for x in load1],
        "pages": figures, "queries": queries(loop),
    }  # fmt: skip
    if args.profile:
        prof = profiled(loop, args.profile, args.top)
        if args.print_profile:
            print(prof["_text"])
        result["profile"] = {k: v for k, v in prof.items() if not k.startswith("_")}
    db_key = f"{connection.vendor}{'+rls' if os.getenv('PHARE_DB_ROLE') else ''}, {result['cases_visible']} cases"
    # The tree the pages came from: run with PYTHONPATH=<a checkout of another commit> for a before figure.
    tree = Path(phare.__file__).resolve().parents[1]
    head = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    result["code"] = {"tree": str(tree), "commit": head.stdout.strip()}
    out = Path(args.out)
    doc: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
    doc.setdefault("benchmark", "profile_requests")
    doc["machine"] = {"cores": os.cpu_count(), "python": platform.python_version(), "django": django.get_version()}
    doc.setdefault("runs", {}).setdefault(db_key, {})[args.label] = result
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"{db_key} {args.label}: load {result['load_average_start']} -> {result['load_average_end']}")
    for p in (*PAGES, "loop"):
        f = figures[p]
        print(f"  {p:14} cpu {f['cpu_mean_ms']:7.2f} ms (p50 {f.get('cpu_p50_ms', 0):6.2f})"
              f"  wall p50 {f.get('wall_p50_ms', 0):7.2f}  db {f.get('db_cpu_mean_ms', '-')}"
              f"  queries {result['queries'].get(p, '-')}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
