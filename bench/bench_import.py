"""Import benchmark: 100,000 filled HTCDS template rows as XLSX and CSV.

Measures, each in a fresh process (so peak memory is that step's own): the bare read of the file
(python-calamine for XLSX, the csv module for CSV) and parse + coerce + validate through htcds.sources (by
columns, as imports read sheets, and row by row, as they did before), then reports the ratios; the bare read and
the column reader again with the cyclic GC off, as `phare import` runs its reader. With `--full` it also runs the
whole `phare import` into a fresh SQLite database (and with
`--pg` into PostgreSQL), and its dry run, sampling the memory of the importer and of its reading process together,
then `phare export` of the imported cases in each format beside the bare write of the same file.
Writes bench/results/import.json.

    python bench/bench_import.py [--rows 100000] [--full]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def generate(rows: int, out_dir: Path) -> tuple[Path, Path]:
    from openpyxl import Workbook

    from tests.fixtures.sources import big_template_rows, csv_row

    xlsx, csv_path = out_dir / f"htcds_{rows}.xlsx", out_dir / f"htcds_{rows}.csv"
    if not xlsx.exists() or not csv_path.exists():
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("Case Sheet")
        with csv_path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            for r in big_template_rows(rows):
                ws.append(r)
                writer.writerow(csv_row(r))
        wb.save(xlsx)
    return xlsx, csv_path


def measure(kind: str, path: Path) -> dict[str, float]:
    """Runs in the child process: one step over the file; time and peak RSS. A kind ending in "-nogc" runs with
    the cyclic garbage collector off, as `phare import` reads (phare.cases.bulk.relaxed_gc)."""
    import gc

    if kind.endswith("-nogc"):
        gc.freeze()
        gc.disable()
        kind = kind.removesuffix("-nogc")
    start = time.perf_counter()
    n = 0
    if kind == "bare":
        if path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as fh:
                for _ in csv.reader(fh):
                    n += 1
        else:
            from python_calamine import CalamineWorkbook

            for _ in CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Case Sheet").iter_rows():
                n += 1
    else:
        from htcds.sources import checked_rows, open_source
        from htcds.sources.checked import checked_row_by_row
        from htcds.validation import errors

        bad = 0
        source = open_source(path)
        # "rows": the row-by-row reader, which sheets used before they were read by columns (and still use
        # for the plans the column reader does not cover).
        read = checked_row_by_row(source, iter(source)) if kind == "rows" else checked_rows(source)
        for _, _, _, problems in read:
            n += 1
            bad += bool(errors(problems))
        if bad:
            print(f"warning: {bad} rows with errors", file=sys.stderr)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"rows": n, "seconds": round(seconds, 3), "rows_per_s": round(n / seconds), "peak_rss_mb": round(peak_mb, 1)}


def child(kind: str, path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--measure", kind, str(path)], check=True, capture_output=True,
                         text=True, cwd=ROOT)  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def full_import(path: Path, tmp: Path, pg_url: str = "", dry_run: bool = False) -> dict[str, float]:
    """The whole `phare import` into a fresh database, SQLite or (with `pg_url`, whose database is dropped and
    created again) PostgreSQL; migrate and the organisation are not timed."""
    if pg_url:
        name = pg_url.rsplit("/", 1)[1]
        server = pg_url.rsplit("/", 1)[0] + "/postgres"
        subprocess.run(["psql", server, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True, capture_output=True)
        subprocess.run(["psql", server, "-qc", f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
        env = dict(os.environ, DATABASE_URL=pg_url, PHARE_DATA_DIR=str(tmp / "pg"))
    else:
        db = tmp / "bench.sqlite3"
        db.unlink(missing_ok=True)
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{db}", PHARE_DATA_DIR=str(tmp / "sqlite"))
    phare = [str(Path(sys.executable).with_name("phare"))]
    subprocess.run([*phare, "migrate", "-v0"], check=True, env=env, cwd=ROOT)
    make_org = (
        "from phare.accounts.models import Organisation, User; o = Organisation.objects.create(org_Name='Bench', "
        "slug='bench'); User.objects.create_user('bench', password='bench-password-1', organisation=o, role='admin')"
    )
    subprocess.run([*phare, "shell", "-c", make_org], check=True, env=env, cwd=ROOT)
    out, err = tmp / "import.out.json", tmp / "import.err"
    load = os.getloadavg()  # each run's own: the whole script takes minutes, and the machine is shared
    start = time.perf_counter()
    # Output to files, not pipes: the JSON report of 100,000 rows would fill a pipe nobody reads while sampling.
    with out.open("w") as stdout, err.open("w") as stderr:
        command = [*phare, "import", str(path), "--org", "bench", "--json", "--mode", "skip-bad"]
        proc = subprocess.Popen([*command, "--dry-run"] if dry_run else command, env=env, cwd=ROOT, stdout=stdout,
                                stderr=stderr, text=True)  # fmt: skip
        peak = _watch_memory(proc)
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"phare import failed ({proc.returncode}): {err.read_text()[-2000:]}")
    created = int(json.loads(out.read_text()).get("created", 0))
    return {"seconds": round(seconds, 2), "created": created, "rows_per_s": round(created / seconds), **peak,
            "load_average_at_start": [round(x, 2) for x in load]}  # fmt: skip


def exports(tmp: Path) -> dict[str, dict[str, float]]:
    """`phare export` of every case the SQLite import left in `tmp`, each format beside the bare write of the same
    content (csv.writer, openpyxl's write-only workbook, json.dumps per bundle), which is what the file itself
    costs without reading the database, decrypting and assembling the cases."""
    from openpyxl import Workbook
    from python_calamine import CalamineWorkbook

    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}", PHARE_DATA_DIR=str(tmp / "sqlite"))
    phare = str(Path(sys.executable).with_name("phare"))
    out: dict[str, dict[str, float]] = {}
    for fmt in ("csv", "xlsx", "json"):
        target = tmp / f"export.{fmt}"
        start = time.perf_counter()
        proc = subprocess.Popen([phare, "export", fmt, "--org", "bench", "--out", str(target)], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL)  # fmt: skip
        peak = _watch_memory(proc)
        seconds = time.perf_counter() - start
        if proc.returncode:
            raise SystemExit(f"phare export {fmt} failed ({proc.returncode})")
        bare = tmp / f"bare.{fmt}"
        if fmt == "csv":
            with target.open(newline="", encoding="utf-8") as fh:
                rows = list(csv.reader(fh))
            start = time.perf_counter()
            with bare.open("w", newline="", encoding="utf-8") as fh:
                csv.writer(fh).writerows(rows)
        elif fmt == "xlsx":
            rows = CalamineWorkbook.from_path(str(target)).get_sheet_by_name("Case Sheet").to_python()
            start = time.perf_counter()
            wb = Workbook(write_only=True)
            ws = wb.create_sheet("Case Sheet")
            for row in rows:
                ws.append(row)
            wb.save(bare)
        else:
            bundles = json.loads(target.read_text("utf-8"))["bundles"]
            start = time.perf_counter()
            with bare.open("w", encoding="utf-8") as fh:
                for b in bundles:
                    fh.write(json.dumps(b, ensure_ascii=False, indent=1))
        bare_seconds = time.perf_counter() - start
        out[fmt] = {"seconds": round(seconds, 2), "file_mb": round(target.stat().st_size / 1e6, 1),
                    "peak_rss_mb": peak["peak_rss_importer_mb"],
                    "bare_write_seconds": round(bare_seconds, 2), "time_ratio": round(seconds / bare_seconds, 1)}  # fmt: skip
        print("export", fmt, json.dumps(out[fmt]), file=sys.stderr)
    return out


def _tree(pid: int) -> list[int]:
    out = [pid]
    for p in out:
        with contextlib.suppress(OSError):
            out.extend(int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split())
    return out


def _kb(pid: int, field: str, name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _watch_memory(proc: subprocess.Popen[Any]) -> dict[str, float]:
    """Peak memory of the import and its reading process together, sampled every 0.5 s (reading smaps_rollup
    walks a process's page tables: more often slowed the import down): the sum of their proportional set sizes
    (pages a fork still shares with its parent are counted once), and the importer's own RSS."""
    peak_pss = peak_rss = 0
    while proc.poll() is None:
        tree = _tree(proc.pid)
        peak_pss = max(peak_pss, sum(_kb(p, "Pss", "smaps_rollup") for p in tree))
        peak_rss = max(peak_rss, _kb(proc.pid, "VmRSS", "status"))
        time.sleep(0.5)
    return {"peak_pss_all_processes_mb": round(peak_pss / 1024, 1), "peak_rss_importer_mb": round(peak_rss / 1024, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--full", type=int, default=0, help="also import this many rows into SQLite (0: skip)")
    ap.add_argument("--pg", default="", help="also import the CSV into this PostgreSQL database (dropped first)")
    ap.add_argument("--measure", nargs=2)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]))))
        return
    data_dir = ROOT / "var" / "bench"
    data_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    xlsx, csv_path = generate(args.rows, data_dir)
    result: dict[str, object] = {"rows": args.rows, "generate_seconds": round(time.perf_counter() - t0, 1),
                                 "python": platform.python_version(), "machine": platform.machine(),
                                 "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()}  # fmt: skip
    for label, path in (("csv", csv_path), ("xlsx", xlsx)):
        bare, sources, by_rows = child("bare", path), child("sources", path), child("rows", path)
        bare_nogc, sources_nogc = child("bare-nogc", path), child("sources-nogc", path)
        result[label] = {"bare_read": bare, "parse_coerce_validate": sources,
                         "parse_coerce_validate_row_by_row": by_rows,
                         "time_ratio": round(sources["seconds"] / bare["seconds"], 2),
                         "time_ratio_row_by_row": round(by_rows["seconds"] / bare["seconds"], 2),
                         "memory_ratio": round(sources["peak_rss_mb"] / bare["peak_rss_mb"], 2),
                         # Both again with the cyclic GC off, as the import runs its reader.
                         "bare_read_gc_off": bare_nogc, "parse_coerce_validate_gc_off": sources_nogc,
                         "time_ratio_gc_off": round(sources_nogc["seconds"] / bare_nogc["seconds"], 2)}  # fmt: skip
        print(label, json.dumps(result[label]), file=sys.stderr)
    if args.full:
        small_xlsx, small_csv = generate(args.full, data_dir)
        runs = [("dry_run_sqlite_csv", small_csv, "", True), ("full_import_sqlite_xlsx", small_xlsx, "", False),
                ("full_import_sqlite_csv", small_csv, "", False)]  # fmt: skip
        if args.pg:
            runs.append(("full_import_postgresql_csv", small_csv, args.pg, False))
        for label, path, pg, dry in runs:
            result[label] = {"rows": args.full, **full_import(path, data_dir, pg, dry)}
            print(label, json.dumps(result[label]), file=sys.stderr)
            if label == "full_import_sqlite_csv":
                # What writing the same rows costs SQLite alone (bench/sqlite_floor.py), beside the import.
                from bench.sqlite_floor import measured

                floor = measured(data_dir / "bench.sqlite3")
                result[label]["bare_sqlite_write"] = floor
                result[label]["time_ratio_to_bare_sqlite_write"] = round(result[label]["seconds"] / floor["seconds"], 1)
                # ... and as an import must write them: indexes in place, a commit every 5,000 rows.
                as_import = measured(data_dir / "bench.sqlite3", as_import=True)
                result[label]["bare_sqlite_write_as_import"] = as_import
                result[label]["time_ratio_to_bare_sqlite_write_as_import"] = round(
                    result[label]["seconds"] / as_import["seconds"], 1)  # fmt: skip
                result["export_sqlite"] = {"cases": result[label]["created"], **exports(data_dir)}
        result["target_full_import_seconds"] = 60
        result["target_full_import_sqlite_seconds"] = 15  # issue 23
    out = ROOT / "bench" / "results" / "import.json"
    out.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
