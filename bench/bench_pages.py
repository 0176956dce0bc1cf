"""Time the case worker's pages with a large demo organisation loaded.

    PHARE_DATA_DIR=/tmp/benchdata python bench/bench_pages.py [--requests 200] [--cases 200000] [--fill]

Needs the demo organisation (`phare demo --cases N`). `--fill` tops it up to `--cases` by duplicating the
existing synthetic cases in SQL (new numbers and uids, same people), which is much faster than generating them;
the pages only care about the number of rows. It measures nothing: a run without it does. Measures, with Django's test Client as the demo supervisor (who
sees every case): the case list's first page, a filtered page, a name search, a case page, the supervisor's and the
case worker's home pages and the case worker's task list (`--tasks` tasks on open cases), and the analyst's
dashboards (whole and filtered) served from their stored snapshot, each request with the cache cleared so that it
checks the snapshot against the audit log and draws every figure (the first view, which counts everything
inline and stores the snapshot, is timed once apart; so is the filtered dashboard's first view as the page answers
it once the organisation is slow to count, the count handed to the worker, and the worker's count); p50/p95 over `--requests` requests each, CPU time per
request, and the number of SQL queries per page. Before timing, it reads the whole database once into the
operating system's page cache (`read_into_page_cache`: a server with memory for its database). Writes
bench/results/pages.json under the database and the
number of cases. Runs on SQLite by default and on PostgreSQL when DATABASE_URL is set (with PHARE_DB_ROLE set,
each request runs as that role under row-level security, as in production).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phare.settings")

import django

django.setup()

from django.core.cache import cache  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from phare.cases.models import Case, CaseParticipant, Person  # noqa: E402
from phare.crypto.fields import EncryptedTextField  # noqa: E402
from phare.dashboards.models import DashboardSnapshot  # noqa: E402
from phare.work.models import Task  # noqa: E402

ROOT = Path(__file__).resolve().parent
EMPTY = "''"  # SQL's empty text


def fill(org_id: int, target: int) -> None:
    """Duplicate the organisation's cases (and their participants) in SQL until it holds `target` cases."""
    base = Case.objects.filter(organisation_id=org_id).count()
    if base >= target:
        return
    cols = [f.column for f in Case._meta.concrete_fields if f.column not in ("id", "uid", "number", "seq")]
    pcols = [f.column for f in CaseParticipant._meta.concrete_fields if f.column not in ("id", "uid", "case_id")]
    # Encrypted values are sealed for their own row: a copy would not open (TamperedValueError), so copies
    # leave them empty.
    sealed = {f.column for m in (Case, CaseParticipant) for f in m._meta.concrete_fields if isinstance(f, EncryptedTextField)}
    max_seq = Case.objects.filter(organisation_id=org_id).order_by("-seq").values_list("seq", flat=True).first() or 0
    q = connection.ops.quote_name
    k = 1
    with transaction.atomic():
        while base * k < target:
            off = max_seq * k
            n = min(base, target - base * k)
            if connection.vendor == "postgresql":
                uid, num = "gen_random_uuid()", (f"to_char(\"cas_OpenedDate\", 'YYYY') || '-' || "
                                               f"CASE WHEN seq + {off} < 1000000 THEN lpad((seq + {off})::text, 6, '0') ELSE (seq + {off})::text END")
                puid = "gen_random_uuid()"
            else:
                uid = puid = "lower(hex(randomblob(16)))"
                num = f"strftime('%Y', \"cas_OpenedDate\") || '-' || printf('%06d', seq + {off})"
            with connection.cursor() as cur:
                cur.execute(
                    f"INSERT INTO cases_case ({', '.join(q(c) for c in cols)}, uid, number, seq) "
                    f"SELECT {', '.join(EMPTY if c in sealed else q(c) for c in cols)}, {uid}, {num}, seq + {off} FROM cases_case "
                    f"WHERE organisation_id = %s AND seq <= %s ORDER BY seq LIMIT %s",
                    [org_id, max_seq, n],
                )
                cur.execute(
                    f"INSERT INTO cases_caseparticipant ({', '.join(q(c) for c in pcols)}, uid, case_id) "
                    f"SELECT {', '.join(EMPTY if c in sealed else 'p.' + q(c) for c in pcols)}, {puid}, c2.id FROM cases_caseparticipant p "
                    f"JOIN cases_case c1 ON c1.id = p.case_id JOIN cases_case c2 ON c2.organisation_id = c1.organisation_id "
                    f"AND c2.seq = c1.seq + {off} WHERE c1.organisation_id = %s AND c1.seq <= %s",
                    [org_id, max_seq],
                )
            k += 1
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    else:
        with connection.cursor() as cur:
            cur.execute("ANALYZE")


def fill_tasks(org_id: int, target: int) -> None:
    """Tasks on the organisation's open cases, for their owners, due from a month ago to a month ahead, one in
    five done: what the home pages and the task list count and list."""
    from datetime import timedelta

    from django.utils import timezone

    have = Task.objects.filter(organisation_id=org_id).count()
    if have >= target:
        return
    rng = random.Random(7)
    today = timezone.localdate()
    cases = list(Case.objects.filter(organisation_id=org_id, cas_Status__in=["Active", "FollowUp"])
                 .exclude(cas_CaseOwner__isnull=True).order_by("?").values_list("id", "cas_CaseOwner_id")[: target - have])  # fmt: skip
    titles = ["Call back about the appointment", "Book an interpreter", "Ask the shelter for a bed", "Court date letter"]
    rows = [Task(organisation_id=org_id, case_id=cid, assignee_id=owner, title=rng.choice(titles),
                 due=today + timedelta(days=rng.randint(-30, 30)),
                 done_at=timezone.now() if rng.random() < 0.2 else None) for cid, owner in cases]  # fmt: skip
    with transaction.atomic():
        Task.objects.bulk_create(rows, batch_size=2000)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def signed_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    try:  # pass the second factor for the benchmark session, as the sign-in view would
        from phare.accounts.middleware import SESSION_MFA, SESSION_SEEN, SESSION_STARTED

        session = client.session
        session[SESSION_MFA] = True
        session[SESSION_STARTED] = session[SESSION_SEEN] = time.time()
        session.save()
    except ImportError:
        pass
    return client


def backend_cpu() -> tuple[int, float] | None:
    """(pid, CPU seconds) of this connection's PostgreSQL backend when the server runs on this machine: the
    server's share of a page, which the client's CPU time leaves out."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return pid, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def read_into_page_cache() -> dict[str, float]:
    """Read the whole database once, so that the pages are timed against a database held in memory, as on a server
    with memory for it (docs/deploy.md): on this shared machine the other benchmarks' gigabytes pushed the million
    cases out of the operating system's page cache, and a name search, whose 40 requests each read index pages no
    other page touches, then timed the disk (598 ms p95 on SQLite against 51 ms of CPU). SQLite: its files read
    through; PostgreSQL: pg_prewarm's "read" mode over every table, index and TOAST relation (run as the database
    owner: the application role may not create the extension)."""
    t0 = time.perf_counter()
    read = 0
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        for path in (Path(name), Path(name + "-wal")):
            if path.exists():
                with path.open("rb", buffering=0) as fh:
                    while block := fh.read(1 << 23):
                        read += len(block)
    else:
        url = os.environ["DATABASE_URL"]
        sql = ("CREATE EXTENSION IF NOT EXISTS pg_prewarm; SELECT sum(pg_prewarm(c.oid, 'read')) * current_setting("
               "'block_size')::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN "
               "('public', 'pg_toast') AND c.relkind IN ('r', 'i', 't', 'm')")  # fmt: skip
        out = subprocess.run(["psql", url, "-Atqc", sql], check=True, capture_output=True, text=True).stdout.split()
        read = int(out[-1])
    return {"seconds": round(time.perf_counter() - t0, 1), "mb": round(read / 1e6)}


def measure(client: Client, urls: list[str], n: int, before: Any = None) -> dict[str, float | int]:
    times: list[float] = []
    cpu: list[float] = []
    queries: list[int] = []
    db_cpu: list[float] = []
    for i in range(n):
        url = urls[i % len(urls)]
        if before is not None:
            before()
        server0 = backend_cpu()
        with CaptureQueriesContext(connection) as ctx:
            t0, c0 = time.perf_counter(), time.process_time()
            r = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        server1 = backend_cpu()
        if server0 and server1 and server0[0] == server1[0]:  # the same backend (a persistent connection)
            db_cpu.append((server1[1] - server0[1]) * 1000)
        # A redirect here is the sign-in or the second factor asking again: the run would time the wrong page.
        assert r.status_code == 200, (url, r.status_code, r.get("Location", ""))
        queries.append(len(ctx.captured_queries))
    times.sort()
    cpu.sort()
    return {
        "requests": n,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "max_ms": round(times[-1], 1),
        # This process's CPU time per request: on a machine shared with other work the wall time above includes
        # waiting for a core; this does not (on PostgreSQL it leaves out the server's own time).
        "cpu_p50_ms": round(statistics.median(cpu), 1),
        "cpu_p95_ms": round(cpu[int(0.95 * (len(cpu) - 1))], 1),
        "queries_min": min(queries),
        "queries_max": max(queries),
        # The PostgreSQL backend's CPU per request, averaged (the kernel counts it in 10 ms ticks).
        **({"db_cpu_mean_ms": round(statistics.mean(db_cpu), 1)} if len(db_cpu) == n else {}),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--cases", type=int, default=200_000)
    ap.add_argument("--fill", action="store_true")
    ap.add_argument("--org", default="demo")
    ap.add_argument("--tasks", type=int, default=20_000, help="with --fill: tasks on open cases for the home pages")
    ap.add_argument("--label", default="", help="the run's key in pages.json (default: the number of cases)")
    args = ap.parse_args()

    from phare.accounts.models import Organisation, Role, User

    org = Organisation.objects.get(slug=args.org)
    if args.fill:
        t0 = time.monotonic()
        fill(org.id, args.cases)
        fill_tasks(org.id, args.tasks)
        print(f"filled to {Case.objects.filter(organisation=org).count()} cases in {time.monotonic() - t0:.0f} s")
        # Pages timed right after a load of a million rows would record the load (the planner's statistics, the
        # caches, the machine still writing), and their figures would replace a quiet run's in pages.json.
        print("now measure: run again without --fill")
        return
    total = Case.objects.filter(organisation=org).count()
    warmed = read_into_page_cache()
    load_at_start = [round(x, 1) for x in os.getloadavg()]
    sup = User.objects.get(organisation=org, role=Role.SUPERVISOR, username=f"{args.org}-supervisor")
    client = signed_in(sup)
    # The demo's case worker owns half the organisation's cases: the worst case for "my" lists and counts.
    worker = User.objects.get(organisation=org, role=Role.CASE_WORKER, username=f"{args.org}-caseworker")
    rng = random.Random(1)
    numbers = list(Case.objects.filter(organisation=org).order_by("?").values_list("number", flat=True)[:200])
    surnames: list[str] = []
    for p in Person.objects.filter(organisation=org).order_by("id")[:400]:
        if p.prs_SecondName:
            surnames.append(p.prs_SecondName)
    rng.shuffle(surnames)
    pages = {
        "case_list_first_page": ["/cases/"],
        "case_list_filtered": ["/cases/?status=open&exploitation=SexualExploitation",
                               "/cases/?status=Closed&trafficking=ActualVictimOfTrafficking",
                               "/cases/?exploitation=ForcedLabour&opened_from=2020-01-01&page=3"],
        "case_list_name_search": [f"/cases/?q={s}" for s in surnames[:50]],
        "case_page": [f"/cases/{n}/" for n in numbers],
    }  # fmt: skip
    for urls in pages.values():  # warm caches (templates, keys, catalogue)
        client.get(urls[0])
    results = {}
    for name, urls in pages.items():
        # A fresh session per page: a session left idle while other pages are timed (15 minutes at 200,000
        # cases) is signed out by the idle timeout, and every request then answers 302 to the sign-in page.
        client = signed_in(sup)
        results[name] = measure(client, urls, args.requests)
    # Each role's home page and the task list (phare.work), as the supervisor and as the case worker.
    worker_pages = {"home_case_worker": ["/"], "tasks_case_worker": ["/work/tasks/"], "tasks_overdue": ["/work/tasks/?when=overdue"]}
    results["home_supervisor"] = measure(signed_in(sup), ["/"], args.requests)
    for name, urls in worker_pages.items():
        worker_client = signed_in(worker)
        worker_client.get(urls[0])
        results[name] = measure(worker_client, urls, args.requests)
    # The dashboards, as the demo analyst. The first view of each has no snapshot and counts inline (what the
    # worker's recount costs); the requests after it are served from the snapshot.
    analyst = User.objects.get(organisation=org, role=Role.ANALYST, username=f"{args.org}-analyst")
    dashboards = {"dashboard": ["/dashboards/"], "dashboard_filtered": ["/dashboards/?start=2023-01-01&end=2023-12-31&status=open"]}
    first_view = {}
    handed: dict[str, Any] = {}
    DashboardSnapshot.objects.filter(organisation=org).delete()
    for name, urls in dashboards.items():
        analyst_client = signed_in(analyst)
        if name == "dashboard_filtered":
            # New filters once the organisation is known to be slow to count: the page hands the count to the
            # worker and answers at once (queries._hand_to_worker); run here as the worker would.
            cache.clear()
            t0 = time.perf_counter()
            page = analyst_client.get(urls[0]).content.decode()
            handed = {"slow_to_count": "Counting the figures" in page, "page_ms": round((time.perf_counter() - t0) * 1000, 1)}
            if handed["slow_to_count"]:
                from phare.jobs import (
                    handlers,  # noqa: F401  (registers the job kinds)
                    queue,
                )

                t0 = time.perf_counter()
                queue.drain()
                handed["worker_count_ms"] = round((time.perf_counter() - t0) * 1000, 1)
            DashboardSnapshot.objects.filter(organisation=org, key__startswith="2023").delete()
        cache.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        # (What the worker's count costs, whatever the organisation's size: the page counts while the person waits.)
        with override_settings(PHARE_DASHBOARD_INLINE_SECONDS=10**9):
            assert analyst_client.get(urls[0]).status_code == 200
        first_view[name] = {"ms": round((time.perf_counter() - t0) * 1000, 1), "cpu_ms": round((time.process_time() - c0) * 1000, 1)}
        results[name] = measure(analyst_client, urls, args.requests, before=cache.clear)
    tasks = Task.objects.filter(organisation=org).count()
    out = {
        "database": connection.vendor,
        "cases": total,
        "tasks": tasks,
        # (--fill copies cases onto the people already there: a run generated whole has a person per participant.)
        "people": Person.objects.filter(organisation=org).count(),
        "python": platform.python_version(),
        "machine": f"{platform.machine()} x{os.cpu_count()}",
        "target_p95_ms": 150,
        "target_dashboard_p95_ms": 500,
        # Was the machine shared? Wall times include waiting for a core; CPU times do not.
        "load_average_at_start": load_at_start,
        "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
        "measured": time.strftime("%Y-%m-%d %H:%M:%S"),
        "conn_max_age": connection.settings_dict.get("CONN_MAX_AGE"),
        "database_read_into_page_cache": warmed,
        "pages": results,
        "dashboard_first_view_inline_count": first_view,
        "dashboard_filtered_first_view_handed_to_worker": handed,
    }
    print(json.dumps(out, indent=2))
    dest = ROOT / "results" / "pages.json"
    dest.parent.mkdir(exist_ok=True)
    existing = json.loads(dest.read_text()) if dest.exists() else {}
    if "pages" in existing.get(connection.vendor, {}):  # the file's earlier layout: one run per database
        del existing[connection.vendor]
    existing.setdefault(connection.vendor, {})[args.label or str(total)] = out
    dest.write_text(json.dumps(existing, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
