"""Load benchmark: 50 concurrent supervisors on PostgreSQL, through gunicorn, driven by locust.

Steps: a fresh PostgreSQL database `phare_bench` (dropped first if it exists), `phare migrate`,
`phare demo --cases N` (timed), 50 load users (role supervisor, organisation `demo`, confirmed TOTP devices),
`phare serve` on 127.0.0.1, then `locust -f bench/locustfile.py --headless` for `--duration` seconds. Each
user signs in once (password + TOTP) and loops: case list, filtered list, a deeper page, a name search, a
case page, a comment (the write), with a think time between requests. Afterwards the comments written are
counted in the database against the acknowledged POSTs. Writes bench/results/load.json; the server is stopped
and the database dropped in all cases.

Production set-up, as docs/deploy.md says: `phare rls install` after the demo, and the server connects as an
application role (its own, `phare_bench_app`: row-level security applies to every request) with persistent connections
(DB_CONN_MAX_AGE=60). `--workers 4` gunicorn processes (2 x cores) with the 4 threads each that `phare serve`
configures, i.e. 16 requests in flight at most.

Think time: each run of `--profiles` is a separate 5-minute locust run against the same server. `working`
(2-8 s, mean 5 s, between clicks) is a case worker reading a list or a case before the next click, and is the
run the targets are judged on; `saturation` (0.5-1.5 s) asks for about 50 requests per second from 50 users,
more than two shared cores can serve, and shows the throughput ceiling and what latency does beyond it.

    python bench/bench_load.py [--cases 200000] [--duration 300] [--users 50] [--workers 4]
                               [--profiles working:2-8,saturation:0.5-1.5]

Before and after side by side: `--compare-with REV` checks REV out into a scratch git worktree and prepares, for
it and for this tree, a database of its own migrated and filled by that tree's code (same `--cases`, same seed,
same load users), RLS and a server as above, both running at once. Then `--rounds` rounds of `--duration` seconds
each at saturation (`--think`, 0.1-0.3 s) alternate before, after, before, after..., so the other jobs of a shared
machine weigh on both alike; this tree's driver and locustfile load both servers (only the server code differs).
Each round reports apart its sign-in phase (50 Argon2 hashes, until the last user is in) and the saturation after
it: requests a second, p50/p95, errors, server CPU per request (gunicorn's processes + that database's backends,
read from /proc every 0.2 s), sessions waiting for a lock, the machine's busy cores, load averages at start and
end. The pooled figures and the ratio after/before go into `--out` (the earlier 200,000-case run kept under
`earlier_run_200k`); both databases are dropped and the worktree removed in all cases.

    python bench/bench_load.py --compare-with 75f0d4d --cases 20000 --rounds 3 --duration 100
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PHARE = str(BIN / "phare")
DB = "phare_bench"  # --db
PG = "postgresql://postgres@127.0.0.1:5432"
# A role of the benchmark's own: roles belong to the whole PostgreSQL server, and installing row-level security
# with a password sets that role's password, which would lock out a Phare on the same server using `phare_app`.
APP_ROLE = "phare_bench_app"
APP_PASSWORD = "bench-" + secrets.token_urlsafe(12)


def pg(sql: str, dbname: str = "postgres") -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(f"{PG}/{dbname}", autocommit=True) as conn:
        cur = conn.execute(sql)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


def setup_users(out: Path, n: int, n_cases: int) -> None:
    """Runs in a child process with the bench environment: load users, case numbers, names to search."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phare.settings")
    import django

    django.setup()
    from django.db import transaction

    from phare.accounts import mfa
    from phare.accounts.models import Organisation, Role, User
    from phare.cases.models import Case

    org = Organisation.objects.get(slug="demo")
    password = "Load-" + secrets.token_urlsafe(18)
    users = []
    with transaction.atomic():
        for i in range(n):
            username = f"load-supervisor-{i:02d}"
            User.objects.filter(username=username).delete()
            u = User.objects.create_user(username=username, password=password, organisation=org, role=Role.SUPERVISOR,
                                         first_name="Load", last_name=f"Supervisor {i}")  # fmt: skip
            users.append({"username": username, "password": password, "otpauth": mfa.enrol_demo_device(u)})
    rng = random.Random(1)
    total = Case.objects.filter(organisation=org).count()
    # Open cases only: a closed case refuses comments (read-only until reopened), and the loop writes one.
    from phare.cases.models import CLOSED_STATUSES

    open_cases = Case.objects.filter(organisation=org).exclude(cas_Status__in=CLOSED_STATUSES)
    ids = list(open_cases.values_list("id", flat=True).order_by("id"))
    picked = rng.sample(ids, min(2000, len(ids)))
    cases = list(Case.objects.filter(id__in=picked).values_list("number", flat=True))
    names: list[str] = []
    for c in Case.objects.filter(id__in=picked[:300]).select_related("primary_person"):
        first = getattr(c.primary_person, "prs_FirstName", "") or ""
        if first.isalpha() and first not in names:
            names.append(first)
    pages = max(2, min(total // 25, 400))  # up to an offset of 10,000 rows
    out.write_text(json.dumps({"users": users, "cases": cases, "names": names[:50] or ["Ana"],
                               "deep_pages": list(range(2, pages + 1)), "cases_total": total}))  # fmt: skip


def count_tokens(out: Path, run_id: str) -> None:
    """Child process: how many comments with this run's tokens exist, and how many tokens twice."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phare.settings")
    import django

    django.setup()
    from phare.audit.log import verify
    from phare.cases.models import CaseComment

    # Comment text is encrypted at rest: read the load users' comments and look for the tokens in Python.
    prefix = f"LOADTOKEN-{run_id}-" if run_id else "LOADTOKEN-"
    seen: dict[str, int] = {}
    for text in (
        CaseComment.objects.filter(author__username__startswith="load-supervisor-")
        .values_list("cco_CaseComment", flat=True)
        .iterator(chunk_size=2000)
    ):
        if prefix in text:
            tok = text[text.index(prefix) :].split(")")[0]
            seen[tok] = seen.get(tok, 0) + 1
    dup = sum(1 for n in seen.values() if n > 1)
    v = verify()
    out.write_text(json.dumps({"comments": sum(seen.values()), "duplicated": dup, "audit_ok": v.ok, "audit_checked": v.checked,
                               "audit_reason": v.reason}))  # fmt: skip


def percentiles(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"count": 0}
    s = sorted(values)

    def q(p: float) -> float:
        return round(s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))], 1)

    return {"count": len(s), "p50_ms": q(50), "p95_ms": q(95), "p99_ms": q(99), "max_ms": round(s[-1], 1),
            "mean_ms": round(sum(s) / len(s), 1)}  # fmt: skip


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def pg_run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([PHARE, *command], env=env, cwd=ROOT, timeout=600, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"phare {' '.join(command[:2])} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc), processes gone since counting nothing."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def server_pids(server: subprocess.Popen[bytes]) -> list[int]:
    """gunicorn's master and workers: every process of the server's session."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[3]) == server.pid:  # pgid
                    out.append(int(entry.name))
    return out


def backend_pids() -> list[int]:
    return [r[0] for r in pg(f"SELECT pid FROM pg_stat_activity WHERE datname = '{DB}' AND pid <> pg_backend_pid()")]


class Sampler(threading.Thread):
    """What the database sessions of the server are doing, sampled every 0.2 s during a run: running a statement,
    waiting for a lock (the audit chain's head), or idle inside a transaction (Python working while the
    transaction, and any lock it took, stays open)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.samples: list[dict[str, int]] = []

    def run(self) -> None:
        import psycopg

        with psycopg.connect(f"{PG}/{DB}", autocommit=True) as conn:
            while not self.stop.wait(0.2):
                rows = conn.execute(
                    "SELECT state, wait_event_type FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
                    " AND backend_type = 'client backend'", [DB]).fetchall()  # fmt: skip
                self.samples.append({
                    "lock_wait": sum(1 for st, w in rows if st == "active" and w == "Lock"),
                    "running": sum(1 for st, w in rows if st == "active" and w != "Lock"),
                    "idle_in_transaction": sum(1 for st, _ in rows if st == "idle in transaction"),
                })  # fmt: skip

    def summary(self) -> dict[str, Any]:
        n = len(self.samples) or 1
        return {"samples": len(self.samples),
                **{f"mean_{k}": round(sum(s[k] for s in self.samples) / n, 2)
                   for k in ("running", "lock_wait", "idle_in_transaction")}}  # fmt: skip


def locust_run(args: argparse.Namespace, env: dict[str, str], conf: Path, tmp: Path, name: str, low: float,
               high: float, timings: dict[str, float],
               server: subprocess.Popen[bytes]) -> tuple[dict[str, Any], int]:  # fmt: skip
    """One locust run with think times between `low` and `high` seconds: its figures, and the writes acknowledged."""
    times_path = tmp / f"times-{name}.json"
    lenv = {**env, "PHARE_LOAD_CONF": str(conf), "PHARE_LOAD_TIMES": str(times_path), "PHARE_LOAD_THINK": f"{low},{high}"}
    sampler = Sampler()
    sampler.start()
    web_pids = server_pids(server)
    db_before = backend_pids()
    cpu_before = cpu_seconds(web_pids) + cpu_seconds(db_before)
    t = time.monotonic()
    loc = subprocess.run(
        [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "-u", str(args.users),
         "-r", str(args.spawn_rate), "-t", f"{args.duration}s", "--host", f"http://127.0.0.1:{args.port}",
         "--csv", str(tmp / f"locust-{name}"), "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING"],
        env=lenv, cwd=ROOT, timeout=args.duration + 300, capture_output=True, text=True,
    )  # fmt: skip
    seconds = timings[f"load_{name}_s"] = round(time.monotonic() - t, 1)
    sampler.stop.set()
    sampler.join()
    # Backends that closed during the run are missed; those opened during it count from zero.
    web_cpu = cpu_seconds(web_pids)
    db_cpu = cpu_seconds(sorted(set(db_before) | set(backend_pids())))
    cpu = web_cpu + db_cpu - cpu_before
    print(loc.stdout[-6000:] + loc.stderr[-6000:], flush=True)
    times: list[list[Any]] = json.loads(times_path.read_text())
    by_name: dict[str, list[float]] = {}
    for r in times:
        by_name.setdefault(r[0], []).append(r[1])
    failures: list[dict[str, str]] = []
    fcsv = tmp / f"locust-{name}_failures.csv"
    if fcsv.exists():
        import csv

        failures = list(csv.DictReader(fcsv.open()))
    measured = [r for r in times if not r[0].startswith("login:")]
    run = {
        "think_time_s": f"{low}-{high} (mean {(low + high) / 2:g})",
        "requests": len(measured),
        "logins": sum(1 for r in times if r[0] == "login:mfa" and r[2]),
        "errors": sum(1 for r in times if not r[2]),
        "requests_per_s": round(len(measured) / seconds, 1) if seconds else None,
        "audited_writes_per_s": None,
        "server_cpu_s": round(cpu, 1),
        "server_cpu_ms_per_request": round(1000 * cpu / len(times), 1) if times else None,
        "db_sessions": sampler.summary(),
        "reads": percentiles([r[1] for r in times if r[0].startswith("read:")]),
        "writes": percentiles([r[1] for r in times if r[0].startswith("write:")]),
        "by_name": {k: percentiles(v) for k, v in sorted(by_name.items())},
        "failures": failures,
    }
    return run, sum(1 for r in times if r[0].startswith("write:") and r[2])


def audit_events() -> int:
    return int(pg("SELECT count(*) FROM audit_auditevent", DB)[0][0])


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {k: version(k) for k in ("django", "gunicorn", "locust", "psycopg")}


# --- Before and after side by side (--compare-with REV) ---------------------------------------------------------


class Meter(threading.Thread):
    """Every 0.2 s during a round: CPU used so far by one server (gunicorn's processes, and the PostgreSQL backends of
    its database, each counted from when first seen or from the round's start), the whole machine's busy share
    (/proc/stat), and what those backends are doing (running, waiting for a lock, idle inside a transaction).
    A backend that exits keeps the CPU last read for it (at most 0.2 s of it is missed)."""

    def __init__(self, server: subprocess.Popen[bytes], db: str) -> None:
        super().__init__(daemon=True)
        self.server, self.db = server, db
        self.stop = threading.Event()
        self.base: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.web: set[int] = set()
        self.backends: set[int] = set()
        self.series: list[tuple[float, float, float, int, int]] = []  # t, web cpu, db cpu, busy, total jiffies
        self.sessions: list[tuple[float, int, int, int]] = []  # t, running, lock_wait, idle_in_transaction

    @staticmethod
    def jiffies() -> tuple[int, int]:
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = f[3] + f[4]
        return sum(f) - idle, sum(f)

    def read(self, conn: Any, first: bool) -> None:
        rows = conn.execute(
            "SELECT pid, state, wait_event_type FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'", [self.db]).fetchall()  # fmt: skip
        t = time.time()
        if first or len(self.series) % 10 == 0:
            self.web |= set(server_pids(self.server))
        self.backends |= {r[0] for r in rows}
        sums = {"web": 0.0, "db": 0.0}
        for kind, pids in (("web", self.web), ("db", self.backends - self.web)):
            for pid in pids:
                now = cpu_seconds([pid]) if Path(f"/proc/{pid}").exists() else None
                if now is not None:
                    self.base.setdefault(pid, now if first else 0.0)
                    self.last[pid] = now
                sums[kind] += self.last.get(pid, 0.0) - self.base.get(pid, 0.0)
        busy, total = self.jiffies()
        self.series.append((t, sums["web"], sums["db"], busy, total))
        self.sessions.append((t, sum(1 for r in rows if r[1] == "active" and r[2] != "Lock"),
                              sum(1 for r in rows if r[1] == "active" and r[2] == "Lock"),
                              sum(1 for r in rows if r[1] == "idle in transaction")))  # fmt: skip

    def run(self) -> None:
        import psycopg

        with psycopg.connect(f"{PG}/{self.db}", autocommit=True) as conn:
            self.read(conn, True)
            while not self.stop.wait(0.2):
                self.read(conn, False)
            self.read(conn, False)

    def at(self, t: float) -> tuple[float, float, int, int]:
        """Web CPU, database CPU, busy and total jiffies at time t (the last sample at or before it)."""
        best = self.series[0]
        for s in self.series:
            if s[0] > t:
                break
            best = s
        return best[1], best[2], best[3], best[4]

    def window(self, t0: float, t1: float) -> dict[str, Any]:
        w0, d0, b0, n0 = self.at(t0)
        w1, d1, b1, n1 = self.at(t1)
        inside = [s for s in self.sessions if t0 <= s[0] <= t1] or [(0.0, 0, 0, 0)]
        n = len(inside)
        return {"web_cpu_s": round(w1 - w0, 2), "db_cpu_s": round(d1 - d0, 2),
                "machine_busy_cores": round((b1 - b0) / max(1, n1 - n0) * (os.cpu_count() or 1), 2),
                "sessions_sampled": n,
                "mean_running": round(sum(s[1] for s in inside) / n, 2),
                "mean_lock_wait": round(sum(s[2] for s in inside) / n, 2),
                "share_of_samples_with_a_lock_wait": round(sum(1 for s in inside if s[2]) / n, 3),
                "max_lock_wait": max(s[2] for s in inside),
                "mean_idle_in_transaction": round(sum(s[3] for s in inside) / n, 2)}  # fmt: skip


def tree_env(tree: Path, db: str, data: Path) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": f"{PG}/{db}", "PHARE_DATA_DIR": str(data), "DEBUG": "false",
           "DJANGO_SETTINGS_MODULE": "phare.settings", "PYTHONPATH": str(tree)}  # fmt: skip
    env.pop("PHARE_DB_ROLE", None)
    return env


def prepare(label: str, tree: Path, db: str, port: int, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """A fresh database migrated and filled by this tree's own code, the load users, RLS, and its server."""
    env = tree_env(tree, db, tmp / f"data-{label}")
    where = subprocess.run([sys.executable, "-c", "import phare; print(phare.__file__)"], env=env, cwd=tree,
                           check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
    if not where.startswith(str(tree)):
        raise RuntimeError(f"{label}: phare imported from {where}, not from {tree}")
    timings: dict[str, float] = {}
    pg(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    pg(f"CREATE DATABASE {db}")
    t = time.monotonic()
    subprocess.run([PHARE, "migrate", "-v0"], env=env, check=True, cwd=tree, timeout=1800)
    timings["migrate_s"] = round(time.monotonic() - t, 1)
    t = time.monotonic()
    subprocess.run([PHARE, "demo", "--cases", str(args.cases), "--seed", "1"], env=env, check=True, cwd=tree,
                   timeout=4 * 3600, stdout=subprocess.DEVNULL)  # fmt: skip
    timings["demo_s"] = round(time.monotonic() - t, 1)
    pg("VACUUM ANALYZE", db)
    conf = tmp / f"conf-{label}.json"
    t = time.monotonic()
    # This (current) driver's user set-up, importing the tree's own models.
    subprocess.run([sys.executable, __file__, "--setup-users", str(conf), str(args.users), "--cases", str(args.cases)],
                   env=env, check=True, cwd=tree, timeout=900)  # fmt: skip
    timings["setup_users_s"] = round(time.monotonic() - t, 1)
    done = subprocess.run([PHARE, "rls", "install", "--password", APP_PASSWORD], env={**env, "PHARE_DB_ROLE": APP_ROLE},
                          cwd=tree, timeout=600,
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"{label}: rls install failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    app_env = {**env, "DATABASE_URL": f"postgresql://{APP_ROLE}:{APP_PASSWORD}@127.0.0.1:5432/{db}",
               "DB_CONN_MAX_AGE": "60"}  # fmt: skip
    log = (tmp / f"server-{label}.log").open("wb")
    server = subprocess.Popen([PHARE, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
                               str(args.workers)], env=app_env, cwd=tree, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)  # fmt: skip
    wait_http(f"http://127.0.0.1:{port}/healthz", 120, server)
    cfg = json.loads(conf.read_text())
    return {"label": label, "tree": tree, "db": db, "port": port, "env": env, "conf": conf, "server": server,
            "timings": timings, "cases_in_db": cfg["cases_total"], "deep_pages": cfg["deep_pages"][-1],
            "acked": 0, "last_start": 0.0, "rounds": [], "latencies": [], "phare": where}  # fmt: skip


def compare_round(target: dict[str, Any], args: argparse.Namespace, tmp: Path, n: int) -> dict[str, Any]:
    """One locust run at saturation against one server: sign-ins, then the loop until the round ends."""
    # A TOTP code is accepted once per 30-second period and user: never sign the same users in twice within one.
    wait = target["last_start"] + 31 - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    target["last_start"] = time.monotonic()
    label = target["label"]
    times_path = tmp / f"times-{label}-{n}.json"
    low, _, high = args.think.partition("-")
    lenv = {**target["env"], "PHARE_LOAD_CONF": str(target["conf"]), "PHARE_LOAD_TIMES": str(times_path),
            "PHARE_LOAD_THINK": f"{low},{high}", "PYTHONPATH": str(ROOT)}  # fmt: skip
    audit_before = int(pg("SELECT count(*) FROM audit_auditevent", target["db"])[0][0])
    meter = Meter(target["server"], target["db"])
    load_start = os.getloadavg()
    meter.start()
    time.sleep(0.3)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    t_start = time.time()
    loc = subprocess.run(
        [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "-u", str(args.users),
         "-r", str(args.spawn_rate), "-t", f"{args.duration}s", "--host", f"http://127.0.0.1:{target['port']}",
         "--csv", str(tmp / f"locust-{label}-{n}"), "--only-summary", "--stop-timeout", "5", "--loglevel", "WARNING"],
        env=lenv, cwd=ROOT, timeout=args.duration + 300, capture_output=True, text=True,
    )  # fmt: skip
    t_stopped = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    meter.stop.set()
    meter.join()
    load_end = os.getloadavg()
    if loc.returncode not in (0, 1):  # 1: some requests failed, which the figures report
        print(loc.stdout[-4000:] + loc.stderr[-4000:], flush=True)
    times: list[list[Any]] = json.loads(times_path.read_text())
    t_end = max((r[3] for r in times), default=t_stopped)  # the last response, not locust's own shutdown
    logins = [r for r in times if r[0] == "login:mfa" and r[2]]
    # Saturation proper starts once every user has signed in (50 Argon2 hashes first); it ends with the round.
    t_signed = max((r[3] for r in logins), default=t_start)
    steady = [r for r in times if not r[0].startswith("login:") and r[3] > t_signed]
    window_s = max(0.001, t_end - t_signed)
    during = meter.window(t_signed, t_end)
    signin = meter.window(t_start, t_signed)
    cpu = during["web_cpu_s"] + during["db_cpu_s"]
    early = [r for r in times if r[3] <= t_signed]
    early_other = [r for r in early if not r[0].startswith("login:")]
    locust_cpu = (after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime)
    target["acked"] += sum(1 for r in times if r[0].startswith("write:") and r[2])
    target["latencies"].extend(r[1] for r in steady)
    out = {
        "target": label, "round": n,
        "load_average_start": [round(x, 2) for x in load_start], "load_average_end": [round(x, 2) for x in load_end],
        "round_s": round(t_stopped - t_start, 1),
        "sign_in_phase": {"seconds": round(t_signed - t_start, 1), "sign_ins": len(logins),
                          "requests": len(early), **signin,
                          # The phase's CPU less its other requests at the saturation's CPU per request:
                          # the four requests of a sign-in (form, password with Argon2, TOTP form, TOTP).
                          "server_cpu_ms_per_sign_in": round(1000 * (signin["web_cpu_s"] + signin["db_cpu_s"]
                                                                     - cpu / max(1, len(steady)) * len(early_other))
                                                             / max(1, len(logins)), 1)},
        "saturation": {"seconds": round(window_s, 1), "requests": len(steady),
                       "requests_per_s": round(len(steady) / window_s, 2),
                       "errors": sum(1 for r in steady if not r[2]),
                       "latency": percentiles([r[1] for r in steady]),
                       "server_cpu_ms_per_request": round(1000 * cpu / max(1, len(steady)), 1),
                       "web_cpu_ms_per_request": round(1000 * during["web_cpu_s"] / max(1, len(steady)), 1),
                       "db_cpu_ms_per_request": round(1000 * during["db_cpu_s"] / max(1, len(steady)), 1),
                       "server_cores_used": round(cpu / window_s, 2), **during},
        "errors_whole_round": sum(1 for r in times if not r[2]),
        "locust_cpu_ms_per_request": round(1000 * locust_cpu / max(1, len(times)), 1),
        "audited_events": int(pg("SELECT count(*) FROM audit_auditevent", target["db"])[0][0]) - audit_before,
    }  # fmt: skip
    target["rounds"].append(out)
    s = out["saturation"]
    print(f"round {n} {label}: {s['requests_per_s']} req/s, p50 {s['latency'].get('p50_ms')} ms, p95 "
          f"{s['latency'].get('p95_ms')} ms, {s['server_cpu_ms_per_request']} ms CPU/request, lock waits "
          f"{s['mean_lock_wait']}, errors {out['errors_whole_round']}, load {load_start[0]:.1f}->{load_end[0]:.1f}",
          flush=True)  # fmt: skip
    return out


def pooled(target: dict[str, Any]) -> dict[str, Any]:
    rounds = [r["saturation"] for r in target["rounds"]]
    secs = sum(r["seconds"] for r in rounds)
    reqs = sum(r["requests"] for r in rounds)
    web = sum(r["web_cpu_s"] for r in rounds)
    dbc = sum(r["db_cpu_s"] for r in rounds)
    sign = [r["sign_in_phase"] for r in target["rounds"]]
    lat = percentiles(target["latencies"])
    return {"requests_per_s": round(reqs / secs, 2), "requests_per_s_by_round": [r["requests_per_s"] for r in rounds],
            "p50_ms": lat.get("p50_ms"), "p95_ms": lat.get("p95_ms"), "p99_ms": lat.get("p99_ms"),
            "errors": sum(r["errors_whole_round"] for r in target["rounds"]),
            "server_cpu_ms_per_request": round(1000 * (web + dbc) / max(1, reqs), 1),
            "web_cpu_ms_per_request": round(1000 * web / max(1, reqs), 1),
            "db_cpu_ms_per_request": round(1000 * dbc / max(1, reqs), 1),
            "server_cores_used": round((web + dbc) / secs, 2),
            "mean_lock_wait": round(sum(r["mean_lock_wait"] * r["sessions_sampled"] for r in rounds)
                                    / max(1, sum(r["sessions_sampled"] for r in rounds)), 2),
            "share_of_samples_with_a_lock_wait": round(sum(r["share_of_samples_with_a_lock_wait"] * r["sessions_sampled"]
                                                           for r in rounds)
                                                       / max(1, sum(r["sessions_sampled"] for r in rounds)), 3),
            "sign_in_phase_s": [s["seconds"] for s in sign],
            "server_cpu_ms_per_sign_in": round(sum(s["server_cpu_ms_per_sign_in"] * s["sign_ins"] for s in sign)
                                               / max(1, sum(s["sign_ins"] for s in sign)), 1),
            "locust_cpu_ms_per_request": round(sum(r["locust_cpu_ms_per_request"] for r in target["rounds"])
                                               / max(1, len(target["rounds"])), 1),
            # What two dedicated cores would serve at this CPU per request, locust elsewhere and no lock waits.
            "cpu_bound_ceiling_on_2_cores_per_s": round(2000 / max(0.1, 1000 * (web + dbc) / max(1, reqs)), 1)}  # fmt: skip


def compare(args: argparse.Namespace) -> None:
    rev = subprocess.run(["git", "rev-parse", args.compare_with], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout.strip()  # fmt: skip
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, check=True, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "phare", "htcds"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="phare-bench-loadcmp-"))
    before_tree = tmp / "before-tree"
    targets: list[dict[str, Any]] = []
    try:
        subprocess.run(["git", "worktree", "add", "--detach", str(before_tree), rev], cwd=ROOT, check=True,
                       capture_output=True)  # fmt: skip
        for label, tree, db, port in (("before", before_tree, f"{args.db}_before", args.port + 1),
                                      ("after", ROOT, f"{args.db}_after", args.port)):  # fmt: skip
            t = time.monotonic()
            targets.append(prepare(label, tree, db, port, args, tmp))
            print(f"{label}: ready in {time.monotonic() - t:.0f} s ({targets[-1]['timings']})", flush=True)
        for n in range(1, args.rounds + 1):
            for target in targets:  # before, after, before, after...: noise from other jobs hits both alike
                compare_round(target, args, tmp, n)
        checks: dict[str, Any] = {}
        for target in targets:
            stop(target["server"])
            log = (tmp / f"server-{target['label']}.log").read_text(errors="replace")
            check = tmp / f"check-{target['label']}.json"
            subprocess.run([sys.executable, __file__, "--count-tokens", str(check), ""], env=target["env"],
                           check=True, cwd=target["tree"], timeout=1800)  # fmt: skip
            c = json.loads(check.read_text())
            checks[target["label"]] = {"writes_acknowledged": target["acked"], "writes_in_db": c["comments"],
                                       "tokens_duplicated": c["duplicated"], "audit_verify_ok": c["audit_ok"],
                                       "audit_events_checked": c["audit_checked"], "audit_reason": c["audit_reason"],
                                       "server_errors_in_log": log.count("Traceback")}  # fmt: skip
        summary = {t["label"]: pooled(t) for t in targets}
        b, a = summary["before"], summary["after"]
        ratio = {"requests_per_s": round(a["requests_per_s"] / b["requests_per_s"], 2),
                 "requests_per_s_by_round_pair": [round(x / y, 2) for x, y in
                                                  zip(a["requests_per_s_by_round"], b["requests_per_s_by_round"], strict=True)],
                 "server_cpu_per_request_before_over_after": round(b["server_cpu_ms_per_request"]
                                                                   / a["server_cpu_ms_per_request"], 2),
                 "cpu_bound_ceiling_on_2_cores": round(a["cpu_bound_ceiling_on_2_cores_per_s"]
                                                       / b["cpu_bound_ceiling_on_2_cores_per_s"], 2),
                 "p95": round(a["p95_ms"] / b["p95_ms"], 2) if a["p95_ms"] and b["p95_ms"] else None}  # fmt: skip
        result = {
            "benchmark": "load",
            "mode": f"before and after side by side (--compare-with {args.compare_with})",
            "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                        "postgres": pg("SHOW server_version")[0][0], **versions(),
                        "note": "locust, both servers and PostgreSQL share the machine with other jobs: see the "
                                "load averages of each round; rounds alternate so the noise hits both alike"},
            "config": {"before": rev, "after": head.stdout.strip() + (" + uncommitted changes" if dirty else ""),
                       "cases": args.cases, "cases_in_db": {t["label"]: t["cases_in_db"] for t in targets},
                       "users": args.users, "spawn_rate": args.spawn_rate, "think_time_s": args.think,
                       "rounds_per_version": args.rounds, "round_s": args.duration,
                       "server": f"phare serve from each tree: gunicorn {args.workers} workers x 4 threads",
                       "database": f"PostgreSQL, one database per tree migrated and filled by that tree "
                                   f"(demo --seed 1), connecting as {APP_ROLE} (row-level security), "
                                   "DB_CONN_MAX_AGE=60 (docs/deploy.md)",
                       "driver": "this tree's bench_load.py and locustfile.py against both servers: only the server "
                                 "code differs",
                       "loop": "list, list?status=Active, list?page=2..N, list?q=<first name>, case page, POST comment",
                       "deep_pages": {t["label"]: f"2..{t['deep_pages']}" for t in targets},
                       "saturation": "requests from the last sign-in of the round to its end (sign-ins reported apart)",
                       "server_cpu": "gunicorn's processes + the PostgreSQL backends of that server's database"},
            "setup_timings": {t["label"]: t["timings"] for t in targets},
            "summary": summary,
            "ratio_after_over_before": ratio,
            "checks": checks,
            "rounds": [r for n in range(args.rounds) for t in targets for r in t["rounds"][n : n + 1]],
        }  # fmt: skip
        out = Path(args.out)
        with contextlib.suppress(OSError, ValueError):
            old = json.loads(out.read_text())
            if "earlier_run_200k" in old:
                result["earlier_run_200k"] = old["earlier_run_200k"]
            elif old.get("config", {}).get("cases") == 200_000:
                result["earlier_run_200k"] = old
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps({"summary": summary, "ratio_after_over_before": ratio, "checks": checks}, indent=2))
        print(f"wrote {out}")
    finally:
        for target in targets:
            stop(target["server"])
            with contextlib.suppress(Exception):
                pg(f"DROP DATABASE IF EXISTS {target['db']} WITH (FORCE)")
        subprocess.run(["git", "worktree", "remove", "--force", str(before_tree)], cwd=ROOT, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    global DB
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=200_000)
    ap.add_argument("--duration", type=int, default=300, help="seconds of load")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--spawn-rate", type=float, default=10)
    ap.add_argument("--workers", type=int, default=4, help="gunicorn workers (4 threads each)")
    ap.add_argument("--port", type=int, default=8111)
    ap.add_argument("--profiles", default="working:2-8,saturation:0.5-1.5",
                    help="name:min-max think time in seconds, comma-separated; the first one is judged")  # fmt: skip
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "load.json"))
    ap.add_argument("--db", default=DB, help="PostgreSQL database to create, use and drop")
    ap.add_argument("--compare-with", metavar="REV",
                    help="measure REV's server (a scratch git worktree) and this tree's, alternating rounds")
    ap.add_argument("--rounds", type=int, default=3, help="with --compare-with: rounds per version")
    ap.add_argument("--think", default="0.1-0.3", help="with --compare-with: think time in seconds, min-max")
    ap.add_argument("--setup-users", nargs=2, metavar=("OUT", "N"), help=argparse.SUPPRESS)
    ap.add_argument("--count-tokens", nargs=2, metavar=("OUT", "RUN"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    DB = args.db
    if args.setup_users:
        setup_users(Path(args.setup_users[0]), int(args.setup_users[1]), args.cases)
        return
    if args.count_tokens:
        count_tokens(Path(args.count_tokens[0]), args.count_tokens[1])
        return
    if args.compare_with:
        compare(args)
        return

    tmp = Path(tempfile.mkdtemp(prefix="phare-bench-load-"))
    env = {**os.environ, "DATABASE_URL": f"{PG}/{DB}", "PHARE_DATA_DIR": str(tmp / "data"), "DEBUG": "false",
           "DJANGO_SETTINGS_MODULE": "phare.settings", "PYTHONPATH": str(ROOT)}  # fmt: skip
    env.pop("PHARE_DB_ROLE", None)
    server: subprocess.Popen[bytes] | None = None
    timings: dict[str, float] = {}
    result: dict[str, Any] = {}
    try:
        pg(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        pg(f"CREATE DATABASE {DB}")
        t = time.monotonic()
        subprocess.run([PHARE, "migrate", "-v0"], env=env, check=True, cwd=ROOT, timeout=1800)
        timings["migrate_s"] = round(time.monotonic() - t, 1)
        t = time.monotonic()
        subprocess.run([PHARE, "demo", "--cases", str(args.cases), "--seed", "1"], env=env, check=True, cwd=ROOT,
                       timeout=4 * 3600)  # fmt: skip
        timings["demo_s"] = round(time.monotonic() - t, 1)
        print(f"demo: {args.cases} cases in {timings['demo_s']} s", flush=True)
        pg("VACUUM ANALYZE", DB)
        conf = tmp / "load.json"
        t = time.monotonic()
        subprocess.run([sys.executable, __file__, "--setup-users", str(conf), str(args.users)], env=env, check=True,
                       cwd=ROOT, timeout=900)  # fmt: skip
        timings["setup_users_s"] = round(time.monotonic() - t, 1)
        pg_run(["rls", "install", "--password", APP_PASSWORD], {**env, "PHARE_DB_ROLE": APP_ROLE})
        app_env = {**env, "DATABASE_URL": f"postgresql://{APP_ROLE}:{APP_PASSWORD}@127.0.0.1:5432/{DB}",
                   "DB_CONN_MAX_AGE": "60"}  # fmt: skip
        log = (tmp / "server.log").open("wb")
        server = subprocess.Popen([PHARE, "serve", "--host", "127.0.0.1", "--port", str(args.port), "--workers",
                                   str(args.workers)], env=app_env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)  # fmt: skip
        wait_http(f"http://127.0.0.1:{args.port}/healthz", 120, server)
        runs: dict[str, Any] = {}
        acked_total = 0
        for i, profile in enumerate(args.profiles.split(",")):
            name, _, span = profile.partition(":")
            low, _, high = span.partition("-")
            if i:
                # A fresh set of sign-ins: TOTP codes are accepted once per 30-second period and user.
                time.sleep(31)
            before = audit_events()
            runs[name], acked = locust_run(args, env, conf, tmp, name, float(low), float(high), timings, server)
            runs[name]["audited_writes_per_s"] = round((audit_events() - before) / timings[f"load_{name}_s"], 1)
            acked_total += acked
        stop(server)
        server = None
        server_log = (tmp / "server.log").read_text(errors="replace")
        check = tmp / "check.json"
        # The locustfile's run id is in every token; count all load tokens of this (fresh) database.
        subprocess.run([sys.executable, __file__, "--count-tokens", str(check), ""], env=env, check=True, cwd=ROOT,
                       timeout=1800)  # fmt: skip
        db_check = json.loads(check.read_text())
        cfg = json.loads(conf.read_text())
        judged = runs[next(iter(runs))]
        result = {
            "benchmark": "load",
            "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                        "postgres": pg("SHOW server_version")[0][0], **versions(),
                        "note": "locust, gunicorn and PostgreSQL share the same machine"},
            "config": {"cases": args.cases, "cases_in_db": cfg["cases_total"], "users": args.users,
                       "spawn_rate": args.spawn_rate, "duration_s_per_run": args.duration, "profiles": args.profiles,
                       "server": f"phare serve: gunicorn {args.workers} workers x 4 threads, 127.0.0.1:{args.port}",
                       "database": f"PostgreSQL, connecting as {APP_ROLE} (row-level security), DB_CONN_MAX_AGE=60",
                       "loop": "list, list?status=Active, list?page=2..N, list?q=<first name>, case page, POST comment",
                       "deep_pages": f"2..{cfg['deep_pages'][-1]}"},
            "timings": timings,
            "runs": runs,
            "writes_acknowledged": acked_total,
            "writes_in_db": db_check["comments"],
            "tokens_duplicated": db_check["duplicated"],
            "audit_verify": {"ok": db_check["audit_ok"], "events": db_check["audit_checked"],
                             "reason": db_check["audit_reason"]},
            "server_errors_in_log": server_log.count("Traceback"),
        }  # fmt: skip
        r95, w95 = judged["reads"].get("p95_ms"), judged["writes"].get("p95_ms")
        result["targets"] = {
            "judged_on": next(iter(runs)),
            "zero_errors": judged["errors"] == 0 and db_check["comments"] == acked_total and not db_check["duplicated"],
            "read_p95_lt_300ms": r95 is not None and r95 < 300,
            "write_p95_lt_500ms": w95 is not None and w95 < 500,
        }
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        if result["server_errors_in_log"]:
            print(server_log[-8000:])
        print(json.dumps({"runs": {k: {m: v[m] for m in ("requests", "errors", "requests_per_s", "reads", "writes")}
                                   for k, v in runs.items()},
                          **{k: result[k] for k in ("writes_acknowledged", "writes_in_db", "targets")}}, indent=2))  # fmt: skip
        print(f"wrote {out}")
    finally:
        stop(server)
        try:
            pg(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        except Exception as exc:  # report, but do not hide the original error
            print(f"could not drop {DB}: {exc}", file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
