"""Time the case worker's pages with a large demo organisation loaded.

    PHARE_DATA_DIR=/tmp/benchdata python bench/bench_pages.py [--requests 200] [--cases 200000] [--fill]

Needs the demo organisation (`phare demo --cases N`). `--fill` tops it up to `--cases` by duplicating the
existing synthetic cases in SQL (new numbers and uids, same people), which is much faster than generating them;
the pages only care about the number of rows. Measures, with Django's test Client as the demo supervisor (who
sees every case): the case list's first page, a filtered page, a name search, and a case page; p50/p95 over
`--requests` requests each and the number of SQL queries per page. Writes bench/results/pages.json.
Runs on SQLite by default and on PostgreSQL when DATABASE_URL is set.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phare.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from phare.cases.models import Case, CaseParticipant, Person  # noqa: E402

ROOT = Path(__file__).resolve().parent


def fill(org_id: int, target: int) -> None:
    """Duplicate the organisation's cases (and their participants) in SQL until it holds `target` cases."""
    base = Case.objects.filter(organisation_id=org_id).count()
    if base >= target:
        return
    cols = [f.column for f in Case._meta.concrete_fields if f.column not in ("id", "uid", "number", "seq")]
    pcols = [f.column for f in CaseParticipant._meta.concrete_fields if f.column not in ("id", "uid", "case_id")]
    max_seq = Case.objects.filter(organisation_id=org_id).order_by("-seq").values_list("seq", flat=True).first() or 0
    q = connection.ops.quote_name
    k = 1
    with transaction.atomic():
        while base * k < target:
            off = max_seq * k
            n = min(base, target - base * k)
            if connection.vendor == "postgresql":
                uid, num = "gen_random_uuid()", f"to_char(\"cas_OpenedDate\", 'YYYY') || '-' || lpad((seq + {off})::text, 6, '0')"
                puid = "gen_random_uuid()"
            else:
                uid = puid = "lower(hex(randomblob(16)))"
                num = f"strftime('%Y', \"cas_OpenedDate\") || '-' || printf('%06d', seq + {off})"
            with connection.cursor() as cur:
                cur.execute(
                    f"INSERT INTO cases_case ({', '.join(q(c) for c in cols)}, uid, number, seq) "
                    f"SELECT {', '.join(q(c) for c in cols)}, {uid}, {num}, seq + {off} FROM cases_case "
                    f"WHERE organisation_id = %s AND seq <= %s ORDER BY seq LIMIT %s",
                    [org_id, max_seq, n],
                )
                cur.execute(
                    f"INSERT INTO cases_caseparticipant ({', '.join(q(c) for c in pcols)}, uid, case_id) "
                    f"SELECT {', '.join('p.' + q(c) for c in pcols)}, {puid}, c2.id FROM cases_caseparticipant p "
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


def measure(client: Client, urls: list[str], n: int) -> dict[str, float | int]:
    times: list[float] = []
    queries: list[int] = []
    for i in range(n):
        url = urls[i % len(urls)]
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            r = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (url, r.status_code)
        queries.append(len(ctx.captured_queries))
    times.sort()
    return {
        "requests": n,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "max_ms": round(times[-1], 1),
        "queries_max": max(queries),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--cases", type=int, default=200_000)
    ap.add_argument("--fill", action="store_true")
    ap.add_argument("--org", default="demo")
    args = ap.parse_args()

    from phare.accounts.models import Organisation, Role, User

    org = Organisation.objects.get(slug=args.org)
    if args.fill:
        t0 = time.monotonic()
        fill(org.id, args.cases)
        print(f"filled to {Case.objects.filter(organisation=org).count()} cases in {time.monotonic() - t0:.0f} s")
    total = Case.objects.filter(organisation=org).count()
    sup = User.objects.get(organisation=org, role=Role.SUPERVISOR, username=f"{args.org}-supervisor")
    client = Client()
    client.force_login(sup)
    try:  # pass the second factor for the benchmark session, as the sign-in view would
        from phare.accounts.middleware import SESSION_MFA, SESSION_SEEN, SESSION_STARTED

        session = client.session
        session[SESSION_MFA] = True
        session[SESSION_STARTED] = session[SESSION_SEEN] = time.time()
        session.save()
    except ImportError:
        pass
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
    results = {name: measure(client, urls, args.requests) for name, urls in pages.items()}
    out = {
        "database": connection.vendor,
        "cases": total,
        "python": platform.python_version(),
        "machine": f"{platform.machine()} x{os.cpu_count()}",
        "target_p95_ms": 150,
        "pages": results,
    }
    print(json.dumps(out, indent=2))
    dest = ROOT / "results" / "pages.json"
    dest.parent.mkdir(exist_ok=True)
    existing = json.loads(dest.read_text()) if dest.exists() else {}
    existing[connection.vendor] = out
    dest.write_text(json.dumps(existing, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
