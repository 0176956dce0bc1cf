"""Crash benchmark: `kill -9` at random moments, then check that nothing was lost and nothing doubled.

On a scratch database (a temporary SQLite file; `--postgres` for a `phare_crash` PostgreSQL database, dropped
first and at the end) with the demo organisation, three scenarios share `--kills` (default 100):

(a) importer: a generated HTCDS-template CSV (`--rows`, default 3,000, with a source id column) is imported
    with `phare import FILE --org demo` (alternately `--mode atomic` and `--mode skip-bad`, the batched mode
    whose partial progress survives a kill) and killed after a random delay up to the import's normal
    duration, measured first by an uninterrupted import of the same rows under other source ids. After each
    kill the database is checked: every ImportedRecord points to an existing case that has a participant and
    its person; every case created since the setup has an ImportedRecord; no source key twice. When an
    attempt finishes before its kill, that round must hold exactly `--rows` cases and the next round uses
    new source ids; at the end the last round is run to completion and checked the same way.
(b) web server: `phare serve` (gunicorn, 2 workers x 4 threads) while a client thread, signed in with password
    and TOTP, posts comments carrying unique tokens one after the other. The gunicorn master and workers (one
    process group) are killed at random moments and restarted. The client never retries a POST whose response
    it did not get. Afterwards every acknowledged token (302) must exist exactly once; unacknowledged tokens
    must exist at most once (how many of them committed anyway is reported).
(c) worker: an import job (kind `bench.import`, registered by this script's worker child, since the imports
    app registers no job kind) is queued; `phare worker --once` runs it and is killed mid-job; the bench then
    moves the job's lease into the past (standing in for the 10-minute expiry) and starts another worker,
    until the job is done. Checks as in (a) after each kill; at the end the job is `done` and its rows are
    in exactly once.

Finally `phare audit verify` must succeed. Writes bench/results/crash.json.

    python bench/bench_crash.py [--kills 100] [--rows 3000] [--postgres] [--seed 1]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import hashlib
import hmac
import json
import os
import platform
import random
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
PHARE = str(BIN / "phare")
PG = "postgresql://postgres@127.0.0.1:5432"
PG_DB = "phare_crash"
SOURCE = "htcds-template"  # TemplateSource's name: every template file shares it, so rounds differ by key prefix
PORT = 8112


# -- the database, read directly (no Django in the parent, so checks are fast and independent) -----------------


class Db:
    def __init__(self, url: str) -> None:
        self.url = url
        self.pg = url.startswith("postgres")

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.pg:
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as conn:
                cur = conn.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]
                return cur.fetchall() if cur.description else []
        conn = sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=60)
        try:
            cur = conn.execute(sql, params)
            rows = cur.fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.query(sql, params)[0][0]


def import_violations(db: Db, baseline_case_id: int, prefix: str | None = None) -> list[str]:
    """The importer's invariants, over all imported rows (or one round's prefix)."""
    like = (prefix or "") + "%"
    out: list[str] = []
    n = db.one("SELECT COUNT(*) FROM imports_importedrecord r LEFT JOIN cases_case c ON c.id = r.case_id "
               "WHERE r.source_key LIKE ? AND c.id IS NULL", (like,))  # fmt: skip
    if n:
        out.append(f"{n} ImportedRecord rows point to a missing case")
    n = db.one("SELECT COUNT(*) FROM imports_importedrecord r WHERE r.source_key LIKE ? AND NOT EXISTS ("
               "SELECT 1 FROM cases_caseparticipant p JOIN cases_person s ON s.id = p.person_id "
               "WHERE p.case_id = r.case_id)", (like,))  # fmt: skip
    if n:
        out.append(f"{n} imported cases have no participant with its person")
    n = db.one("SELECT COUNT(*) FROM cases_case c WHERE c.id > ? AND NOT EXISTS ("
               "SELECT 1 FROM imports_importedrecord r WHERE r.case_id = c.id)", (baseline_case_id,))  # fmt: skip
    if n:
        out.append(f"{n} cases created since setup have no ImportedRecord (orphans of a killed import)")
    n = db.one("SELECT COUNT(*) FROM (SELECT organisation_id, source, source_key FROM imports_importedrecord "
               "GROUP BY organisation_id, source, source_key HAVING COUNT(*) > 1) d")  # fmt: skip
    if n:
        out.append(f"{n} source keys imported more than once")
    n = db.one("SELECT COUNT(*) FROM (SELECT case_id FROM imports_importedrecord GROUP BY case_id "
               "HAVING COUNT(*) > 1) d")  # fmt: skip
    if n:
        out.append(f"{n} cases claimed by more than one source key")
    return out


def round_count(db: Db, prefix: str) -> tuple[int, int]:
    """(ImportedRecord rows, distinct cases) of one round."""
    row = db.query("SELECT COUNT(*), COUNT(DISTINCT case_id) FROM imports_importedrecord WHERE source = ? "
                   "AND source_key LIKE ?", (SOURCE, prefix + "%"))[0]  # fmt: skip
    return int(row[0]), int(row[1])


# -- processes ------------------------------------------------------------------------------------------------


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    fh = log.open("ab")
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def kill9(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the whole process group (gunicorn master and workers, or a command and anything it forked)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def run_or_kill(proc: subprocess.Popen[bytes], delay: float) -> bool:
    """True if the process finished by itself within `delay`, else kill -9 it and return False."""
    try:
        proc.wait(timeout=delay)
        return True
    except subprocess.TimeoutExpired:
        kill9(proc)
        return False


def make_csv(path: Path, rows: int, prefix: str) -> None:
    from tests.fixtures.sources import big_template_rows, csv_row

    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        for i, r in enumerate(big_template_rows(rows)):
            head = "id" if i == 0 else "" if i == 1 else f"{prefix}{i - 2:05d}"
            w.writerow([head, *csv_row(r)])


# -- children (run with the scratch environment) ---------------------------------------------------------------


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phare.settings")
    import django

    django.setup()


def child_setup(out: Path) -> None:
    """A signed-in client's account: a supervisor with a confirmed TOTP device; and a case to comment on."""
    django_setup()
    from phare.accounts import mfa
    from phare.accounts.models import Organisation, Role, User
    from phare.cases.models import Case

    org = Organisation.objects.get(slug="demo")
    password = "Crash-bench-" + os.urandom(9).hex()
    user = User.objects.create_user(username="crash-client", password=password, organisation=org, role=Role.SUPERVISOR)
    uri = mfa.enrol_demo_device(user)
    numbers = list(Case.objects.filter(organisation=org).order_by("id").values_list("number", flat=True)[:20])
    out.write_text(json.dumps({"username": user.username, "password": password, "otpauth": uri, "cases": numbers}))


def child_worker() -> None:
    """`phare worker --once` with the bench's job kind registered."""
    django_setup()
    from django.core.management import call_command

    from phare.accounts.models import Organisation, User
    from phare.imports.service import run_import
    from phare.jobs import queue
    from phare.jobs.models import Job

    @queue.handler("bench.import")
    def bench_import(job: Job) -> dict[str, Any]:
        org = Organisation.objects.get(pk=job.organisation_id)
        actor = User.objects.get(pk=job.payload["actor"])
        report = run_import(Path(job.payload["path"]), org, actor, mode="skip-bad",
                            progress=lambda n: queue.report_progress(job, n))  # fmt: skip
        return report.counts()

    call_command("worker", once=True, poll=0.2)


def child_enqueue(path: str) -> None:
    django_setup()
    from phare.accounts.models import Organisation, User
    from phare.jobs import queue

    org = Organisation.objects.get(slug="demo")
    actor = User.objects.get(username="demo-admin")
    # Each kill costs the job an attempt, and a job out of attempts is failed on purpose (a poison job must not
    # kill workers for ever): give this one as many attempts as the bench has kills.
    job = queue.enqueue("bench.import", {"path": path, "actor": actor.pk}, organisation=org, max_attempts=1000)
    print(job.pk)


def child_tokens(tokens_file: Path, out: Path) -> None:
    """Comment texts are encrypted at rest: count each token's comments in Python."""
    django_setup()
    from phare.cases.models import CaseComment

    wanted = set(json.loads(tokens_file.read_text()))
    seen: dict[str, int] = {}
    for text in CaseComment.objects.filter(author__username="crash-client").values_list("cco_CaseComment", flat=True):
        tok = text.rsplit(" ", 1)[-1]
        if tok in wanted:
            seen[tok] = seen.get(tok, 0) + 1
    out.write_text(json.dumps(seen))


# -- scenario helpers -------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    kills: int = 0
    attempts: int = 0
    completed_rounds: int = 0
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kills": self.kills, "attempts": self.attempts, "completed_rounds": self.completed_rounds,
                "violations": len(self.violations), "violation_details": self.violations[:50],
                "seconds": round(self.seconds, 1), **self.extra}  # fmt: skip


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path, db_url: str) -> None:
        self.args = args
        self.tmp = tmp
        self.db = Db(db_url)
        self.rng = random.Random(args.seed)
        self.env = {**os.environ, "DATABASE_URL": db_url, "PHARE_DATA_DIR": str(tmp / "data"), "DEBUG": "false",
                    "DJANGO_SETTINGS_MODULE": "phare.settings", "PYTHONPATH": str(ROOT)}  # fmt: skip
        self.env.pop("PHARE_DB_ROLE", None)
        self.deadline = time.monotonic() + args.max_minutes * 60
        self.baseline = 0

    def child(self, *argv: str, timeout: float = 600) -> str:
        out = subprocess.run([sys.executable, __file__, "--child", *argv], env=self.env, cwd=ROOT, check=True,
                             capture_output=True, text=True, timeout=timeout)  # fmt: skip
        return out.stdout

    def phare(self, *argv: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PHARE, *argv], env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def check(self, sc: Scenario, when: str) -> None:
        for v in import_violations(self.db, self.baseline):
            sc.violations.append(f"{when}: {v}")

    def check_round(self, sc: Scenario, prefix: str, when: str) -> None:
        n, cases = round_count(self.db, prefix)
        if n != self.args.rows or cases != self.args.rows:
            sc.violations.append(f"{when}: round {prefix} has {n} records / {cases} cases, expected {self.args.rows}")

    # (a) ------------------------------------------------------------------------------------------------
    def importer(self, budget: int) -> Scenario:
        sc = Scenario("importer")
        t0 = time.monotonic()
        cal = self.tmp / "import_cal.csv"
        make_csv(cal, self.args.rows, "CALA-")
        t = time.monotonic()
        done = self.phare("import", str(cal), "--org", "demo", "--mode", "skip-bad", "--json")
        normal = time.monotonic() - t
        if done.returncode:
            raise RuntimeError(f"calibration import failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
        self.check_round(sc, "CALA-", "calibration")
        sc.extra["normal_import_s"] = round(normal, 1)
        print(f"(a) uninterrupted import of {self.args.rows} rows: {normal:.1f} s", flush=True)
        rnd = 0
        prefix, path = self._round_file("A", rnd)
        modes = {"atomic": 0, "skip-bad": 0}
        while sc.kills < budget and not self.out_of_time():
            mode = "atomic" if sc.attempts % 2 == 0 else "skip-bad"
            sc.attempts += 1
            proc = start([PHARE, "import", str(path), "--org", "demo", "--mode", mode, "--json"], self.env,
                         self.tmp / "import.log")  # fmt: skip
            if run_or_kill(proc, self.rng.uniform(0.0, normal)):
                if proc.returncode:
                    sc.violations.append(f"attempt {sc.attempts}: import exited {proc.returncode}")
                self.check(sc, f"round {rnd} completed")
                self.check_round(sc, prefix, f"round {rnd} completed")
                sc.completed_rounds += 1
                rnd += 1
                prefix, path = self._round_file("A", rnd)
                continue
            sc.kills += 1
            modes[mode] += 1
            self.check(sc, f"after kill {sc.kills} ({mode})")
        final = self.phare("import", str(path), "--org", "demo", "--mode", "skip-bad", "--json")
        if final.returncode:
            sc.violations.append(f"final import exited {final.returncode}: {final.stderr[-500:]}")
        self.check(sc, "final")
        self.check_round(sc, prefix, "final")
        again = self.phare("import", str(path), "--org", "demo", "--json")
        report = json.loads(again.stdout.strip().splitlines()[-1]) if again.returncode == 0 else {}
        if report.get("created") or report.get("updated") or report.get("unchanged") != self.args.rows:
            sc.violations.append(f"re-import of the finished round is not all unchanged: {again.stdout[-300:]}")
        sc.extra["kills_by_mode"] = modes
        sc.seconds = time.monotonic() - t0
        return sc

    def _round_file(self, tag: str, rnd: int) -> tuple[str, Path]:
        prefix = f"{tag}{rnd}-"
        path = self.tmp / f"import_{tag}{rnd}.csv"
        if not path.exists():
            make_csv(path, self.args.rows, prefix)
        return prefix, path

    # (b) ------------------------------------------------------------------------------------------------
    def web(self, budget: int) -> Scenario:
        import requests

        sc = Scenario("web")
        t0 = time.monotonic()
        acct = json.loads((self.tmp / "client.json").read_text())
        base = f"http://127.0.0.1:{PORT}"
        log = self.tmp / "server.log"
        cmd = [PHARE, "serve", "--host", "127.0.0.1", "--port", str(PORT), "--workers", "2"]
        server = start(cmd, self.env, log)
        wait_up(base, 180)
        acked: list[str] = []
        unacked: list[str] = []
        other: list[str] = []
        stop = threading.Event()
        s = requests.Session()
        csrf = sign_in(s, base, acct)
        number = acct["cases"][0]

        def client() -> None:
            nonlocal csrf
            i = 0
            while not stop.is_set():
                tok = f"CRASHTOKEN-{i:06d}"
                i += 1
                try:
                    r = s.post(f"{base}/cases/{number}/comments/add/", timeout=30, allow_redirects=False,
                               data={"cco_CaseComment": f"crash bench {tok}", "csrfmiddlewaretoken": csrf})  # fmt: skip
                except requests.RequestException:
                    unacked.append(tok)  # no answer: not retried
                    while not stop.is_set():
                        try:
                            if s.get(f"{base}/healthz", timeout=2).status_code == 200:
                                break
                        except requests.RequestException:
                            time.sleep(0.2)
                    continue
                if r.status_code == 302 and f"/cases/{number}/" in r.headers.get("Location", ""):
                    acked.append(tok)
                else:
                    other.append(f"{tok}: HTTP {r.status_code} {r.headers.get('Location', '')}")

        th = threading.Thread(target=client, daemon=True)
        th.start()
        restarts: list[float] = []
        try:
            while sc.kills < budget and not self.out_of_time():
                time.sleep(self.rng.uniform(0.2, 3.0))
                kill9(server)
                sc.kills += 1
                sc.attempts += 1
                t = time.monotonic()
                server = start(cmd, self.env, log)
                wait_up(base, 180)
                restarts.append(time.monotonic() - t)
            time.sleep(1.0)
        finally:
            stop.set()
            th.join(timeout=60)
            kill9(server)
        tokens = acked + unacked
        (self.tmp / "tokens.json").write_text(json.dumps(tokens))
        self.child("tokens", str(self.tmp / "tokens.json"), str(self.tmp / "seen.json"))
        seen: dict[str, int] = json.loads((self.tmp / "seen.json").read_text())
        lost = [t for t in acked if seen.get(t, 0) == 0]
        dup = [t for t in tokens if seen.get(t, 0) > 1]
        committed_unacked = [t for t in unacked if seen.get(t, 0) == 1]
        sc.violations += [f"acknowledged {t} lost" for t in lost] + [f"{t} stored {seen[t]} times" for t in dup]
        sc.violations += [f"unexpected answer {o}" for o in other]
        server_log = log.read_text(errors="replace")
        if "Traceback" in server_log:
            sc.extra["server_tracebacks"] = server_log.count("Traceback")
            sc.extra["server_log_tail"] = server_log[-3000:]
        sc.extra.update({"posts": len(tokens) + len(other), "acknowledged": len(acked), "lost": len(lost),
                         "duplicated": len(dup), "unacknowledged": len(unacked),
                         "unacknowledged_committed": len(committed_unacked),
                         "unacknowledged_not_committed": len(unacked) - len(committed_unacked),
                         "other_answers": len(other),
                         "restart_s_mean": round(sum(restarts) / len(restarts), 1) if restarts else None})  # fmt: skip
        sc.seconds = time.monotonic() - t0
        return sc

    # (c) ------------------------------------------------------------------------------------------------
    def worker(self, budget: int) -> Scenario:
        sc = Scenario("worker")
        t0 = time.monotonic()
        wcmd = [sys.executable, __file__, "--child", "worker"]
        log = self.tmp / "worker.log"
        prefix, path = self._round_file("CALW", 0)
        job = int(self.child("enqueue", str(path)).strip())
        t = time.monotonic()
        proc = start(wcmd, self.env, log)
        proc.wait(timeout=3600)
        normal = time.monotonic() - t
        self._job_done(sc, job, prefix, "calibration")
        sc.extra["normal_job_s"] = round(normal, 1)
        print(f"(c) uninterrupted import job of {self.args.rows} rows: {normal:.1f} s", flush=True)
        rnd = 0
        prefix, path = self._round_file("W", rnd)
        job = int(self.child("enqueue", str(path)).strip())
        takeovers = 0
        max_attempts_seen = 0
        while sc.kills < budget and not self.out_of_time():
            status = self.db.one("SELECT status FROM jobs_job WHERE id = ?", (job,))
            if status == "running":
                # The killed worker's lease would run for 10 minutes: let it expire now.
                self.db.query("UPDATE jobs_job SET lease_until = ? WHERE id = ?", ("2000-01-01 00:00:00", job))
                takeovers += 1
            sc.attempts += 1
            proc = start(wcmd, self.env, log)
            if run_or_kill(proc, self.rng.uniform(0.0, normal)):
                if proc.returncode:
                    sc.violations.append(f"worker exited {proc.returncode}")
                self._job_done(sc, job, prefix, f"round {rnd} completed")
                sc.completed_rounds += 1
                rnd += 1
                prefix, path = self._round_file("W", rnd)
                job = int(self.child("enqueue", str(path)).strip())
                continue
            sc.kills += 1
            self.check(sc, f"after worker kill {sc.kills}")
            max_attempts_seen = max(max_attempts_seen, int(self.db.one("SELECT attempts FROM jobs_job WHERE id = ?",
                                                                         (job,))))  # fmt: skip
        status = self.db.one("SELECT status FROM jobs_job WHERE id = ?", (job,))
        if status == "running":
            self.db.query("UPDATE jobs_job SET lease_until = ? WHERE id = ?", ("2000-01-01 00:00:00", job))
            takeovers += 1
        proc = start(wcmd, self.env, log)
        proc.wait(timeout=3600)
        self._job_done(sc, job, prefix, "final")
        self.check(sc, "final")
        sc.extra.update({"lease_takeovers": takeovers, "max_attempts_counter_seen": max_attempts_seen,
                         "jobs": self.db.query("SELECT id, status, attempts, max_attempts FROM jobs_job "
                                               "WHERE kind = 'bench.import' ORDER BY id")})  # fmt: skip
        sc.seconds = time.monotonic() - t0
        return sc

    def _job_done(self, sc: Scenario, job: int, prefix: str, when: str) -> None:
        status = self.db.one("SELECT status FROM jobs_job WHERE id = ?", (job,))
        if status != "done":
            sc.violations.append(f"{when}: job {job} is {status}, not done")
        self.check_round(sc, prefix, when)


def totp(secret_b32: str, at: float | None = None) -> str:
    """RFC 6238 (SHA-1, 6 digits, 30 s), as django-otp computes it for Phare's devices."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int((time.time() if at is None else at) // 30)), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return f"{(struct.unpack('>I', mac[off : off + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def sign_in(s: Any, base: str, acct: dict[str, Any]) -> str:
    """Password, then the TOTP code; returns a CSRF token for later POSTs."""
    csrf = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
    tok = csrf.search(s.get(f"{base}/accounts/login/", timeout=30).text)
    r = s.post(f"{base}/accounts/login/", allow_redirects=False, timeout=30,
               data={"username": acct["username"], "password": acct["password"], "csrfmiddlewaretoken": tok.group(1) if tok else ""})  # fmt: skip
    if r.status_code != 302:
        raise RuntimeError(f"sign-in failed: HTTP {r.status_code}")
    tok = csrf.search(s.get(f"{base}/accounts/mfa/", timeout=30).text)
    secret = parse_qs(urlparse(acct["otpauth"]).query)["secret"][0]
    r = s.post(f"{base}/accounts/mfa/", allow_redirects=False, timeout=30,
               data={"code": totp(secret), "csrfmiddlewaretoken": tok.group(1) if tok else ""})  # fmt: skip
    if r.status_code != 302:
        raise RuntimeError(f"TOTP step failed: HTTP {r.status_code}")
    page = s.get(f"{base}/cases/{acct['cases'][0]}/", timeout=30)
    tok = csrf.search(page.text)
    if page.status_code != 200 or tok is None:
        raise RuntimeError(f"case page after sign-in: HTTP {page.status_code}")
    return tok.group(1)


def wait_up(base: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{base} did not come up in {timeout} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=100, help="kills in total, shared by the three scenarios")
    ap.add_argument("--rows", type=int, default=3000, help="rows per import file")
    ap.add_argument("--postgres", action="store_true", help=f"use a PostgreSQL database {PG_DB} instead of SQLite")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-minutes", type=float, default=120, help="stop killing after this long (bounded run)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "crash.json"))
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        name, rest = args.child[0], args.child[1:]
        {"setup": lambda: child_setup(Path(rest[0])), "worker": child_worker, "enqueue": lambda: child_enqueue(rest[0]),
         "tokens": lambda: child_tokens(Path(rest[0]), Path(rest[1]))}[name]()  # fmt: skip
        return

    tmp = Path(tempfile.mkdtemp(prefix="phare-bench-crash-"))
    if args.postgres:
        import psycopg

        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")  # type: ignore[arg-type]
            conn.execute(f"CREATE DATABASE {PG_DB}")  # type: ignore[arg-type]
        db_url = f"{PG}/{PG_DB}"
    else:
        db_url = f"sqlite:///{tmp / 'crash.sqlite3'}"
    bench = Bench(args, tmp, db_url)
    t_all = time.monotonic()
    try:
        for cmd in (["migrate", "-v0"], ["demo", "--cases", "50", "--seed", "1"]):
            r = bench.phare(*cmd)
            if r.returncode:
                raise RuntimeError(f"phare {cmd}: {r.stderr[-2000:]}")
        bench.child("setup", str(tmp / "client.json"))
        bench.baseline = int(bench.db.one("SELECT COALESCE(MAX(id), 0) FROM cases_case"))
        a_budget = args.kills // 3 + (1 if args.kills % 3 else 0)
        b_budget = args.kills // 3 + (1 if args.kills % 3 == 2 else 0)
        c_budget = args.kills - a_budget - b_budget
        results = {}
        for name, fn, budget in (("importer", bench.importer, a_budget), ("web", bench.web, b_budget),
                                 ("worker", bench.worker, c_budget)):  # fmt: skip
            print(f"scenario {name}: {budget} kills", flush=True)
            sc = fn(budget)
            results[name] = sc.as_dict()
            print(f"  {name}: {sc.kills} kills, {len(sc.violations)} violations, {sc.seconds:.0f} s", flush=True)
            for v in sc.violations[:10]:
                print(f"    {v}", flush=True)
        verify = bench.phare("audit", "verify")
        audit = {"ok": verify.returncode == 0, "output": (verify.stdout + verify.stderr).strip()[-500:]}
        total_violations = sum(r["violations"] for r in results.values()) + (0 if audit["ok"] else 1)
        out = {
            "benchmark": "crash",
            "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
            "config": {"database": "postgresql" if args.postgres else "sqlite (WAL)", "kills_requested": args.kills,
                       "rows_per_import": args.rows, "seed": args.seed, "signal": "SIGKILL to the process group"},
            "scenarios": results,
            "kills": sum(r["kills"] for r in results.values()),
            "violations": total_violations,
            "audit_verify": audit,
            "seconds": round(time.monotonic() - t_all, 1),
        }  # fmt: skip
        path = Path(args.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=2, default=str) + "\n")
        print(f"kills: {out['kills']}, violations: {total_violations}, audit chain: {'ok' if audit['ok'] else 'BROKEN'}"
              f" ({audit['output']})\nwrote {path}")  # fmt: skip
    finally:
        if args.postgres:
            import psycopg

            with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")  # type: ignore[arg-type]
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
