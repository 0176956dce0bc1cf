"""Files at rest and formula neutralising: what they cost, side by side with doing without.

On the benchmark's 100,000-row template CSV (37 MB): sealing it as an upload is kept (phare.crypto.sealed) beside a
plain copy of the file, and opening it into the memory copy an import reads beside a plain read of it, with the
Python memory each needs at its peak; writing the rows as CSV through htcds.cells beside the plain csv.writer Phare
used before, and reading them through htcds.sources.tabular, which undoes the neutralising, beside the same reader
without that step (and the bare csv.reader); and the XLSX export of 10,000 of the cases with its sheet assembled in memory beside openpyxl's own
temporary file, with the size that sheet takes in memory. Writes bench/results/files.json.

    python bench/bench_files.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, int]:
    """Best time of `repeat` runs, and the peak of Python memory in the last."""
    best = float("inf")
    peak = 0
    for _ in range(repeat):
        tracemalloc.start()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return round(best, 3), peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="phare-bench-files-"))
    os.environ.update(DATABASE_URL=f"sqlite:///{work / 'bench.sqlite3'}", PHARE_DATA_DIR=str(work / "data"),
                      DJANGO_SETTINGS_MODULE="phare.settings")  # fmt: skip
    import django

    django.setup()
    from django.core.management import call_command

    from htcds import cells
    from htcds.sources import open_source
    from htcds.sources.export import write_xlsx
    from htcds.sources.tabular import open_table
    from phare.accounts.models import Organisation
    from phare.crypto.sealed import SealedFile, memory_file
    from tests.fixtures.sources import big_template_rows, csv_row

    call_command("migrate", verbosity=0)
    org = Organisation.objects.create(slug="bench", org_Name="Bench")
    load = os.getloadavg()[0]
    rows = [csv_row(r) for r in big_template_rows(args.rows)]  # as a spreadsheet saves them
    plain = work / "cases.csv"
    with plain.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    size = plain.stat().st_size
    files = work / "data" / "files"
    files.mkdir(parents=True)
    kept = SealedFile(files / "cases.csv", org.pk, "import-upload")

    def seal() -> None:
        with plain.open("rb") as src:
            kept.write_chunks(iter(lambda: src.read(1 << 20), b""))

    def copy() -> None:
        shutil.copyfile(plain, files / "copy.csv")

    def unseal() -> None:
        with kept.clear_copy() as path:
            assert path.stat().st_size == size

    def read_plain() -> None:
        with memory_file("cases.csv") as path, plain.open("rb") as src, path.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)

    out: dict[str, Any] = {"machine": platform.platform(), "python": platform.python_version(), "load_average": load,
                           "rows": args.rows, "file_mb": round(size / 1e6, 1)}  # fmt: skip
    seal_s, seal_peak = timed(seal)
    copy_s, _ = timed(copy)
    open_s, open_peak = timed(unseal)
    read_s, _ = timed(read_plain)
    out["sealed_at_rest"] = {
        "seal_s": seal_s, "plain_copy_s": copy_s, "seal_vs_copy": round(seal_s / copy_s, 2),
        "open_to_memory_s": open_s, "plain_to_memory_s": read_s, "open_vs_plain": round(open_s / read_s, 2),
        "seal_peak_python_mb": round(seal_peak / 1e6, 1), "open_peak_python_mb": round(open_peak / 1e6, 1),
        "sealed_size_over_plain": round(kept.path.stat().st_size / size, 5),
    }  # fmt: skip

    def write_neutralised() -> None:
        with (work / "n.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            for r in rows:
                w.writerow(cells.csv_row(r))

    def write_plain() -> None:
        with (work / "p.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            for r in rows:
                w.writerow(["" if v is None else v for v in r])

    def read_unneutralised() -> None:
        for _ in open_table(plain).rows:
            pass

    def read_bare() -> None:
        with plain.open(newline="", encoding="utf-8") as fh:
            for _ in csv.reader(fh):
                pass

    from htcds.sources import tabular

    def read_without_undo() -> None:
        undo = tabular.unneutralised_row
        tabular.unneutralised_row = lambda row: row  # type: ignore[assignment]
        try:
            read_unneutralised()
        finally:
            tabular.unneutralised_row = undo

    w_n, _ = timed(write_neutralised, 1)
    w_p, _ = timed(write_plain, 1)
    r_n, _ = timed(read_unneutralised)
    r_w, _ = timed(read_without_undo)
    r_p, _ = timed(read_bare)
    out["csv_formulas"] = {"write_neutralised_s": w_n, "write_plain_s": w_p, "write_ratio": round(w_n / w_p, 2),
                           "read_s": r_n, "read_without_undoing_s": r_w, "read_ratio": round(r_n / r_w, 2),
                           "bare_csv_reader_s": r_p}  # fmt: skip

    bundles = [b for _, (_, _, b) in zip(range(10_000), open_source(plain), strict=False)]
    from openpyxl.worksheet import _writer

    sheet_bytes: list[int] = []
    cleanup = _writer.WorksheetWriter.cleanup

    def measured(self: Any) -> None:
        sheet_bytes.append(os.stat(self.out).st_size)
        cleanup(self)

    _writer.WorksheetWriter.cleanup = measured  # type: ignore[method-assign]

    def xlsx_memory() -> None:
        with memory_file("sheet.xml") as sheet:
            write_xlsx(bundles, work / "m.xlsx", sheet_file=sheet)

    def xlsx_temporary() -> None:
        write_xlsx(bundles, work / "t.xlsx")

    x_m, _ = timed(xlsx_memory, 1)
    x_t, _ = timed(xlsx_temporary, 1)
    out["xlsx_sheet_in_memory"] = {"cases": len(bundles), "memory_s": x_m, "temporary_file_s": x_t,
                                   "ratio": round(x_m / x_t, 2), "sheet_mb": round(sheet_bytes[0] / 1e6, 1),
                                   "sheet_kb_per_case": round(sheet_bytes[0] / len(bundles) / 1e3, 2)}  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)
    results = ROOT / "bench" / "results" / "files.json"
    results.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
