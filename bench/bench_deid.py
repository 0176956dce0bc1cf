"""Benchmark of htcds.deid against anjana (k-anonymity) and pac-synth (DP synthetic data).

Run: python bench/bench_deid.py [--quick]

pac-synth runs with its defaults (every thread, no sensitive_zeros), as a user would run it, and again in Phare's
conditions (one thread, zeros as values). Phare's synthesiser draws its noise from OpenDP's samplers over the
columns' public domains (htcds.deid.domains), as its releases do. For k-anonymity, each loss measure Phare can
minimise (precision, discernibility) gets its own run, reported beside anjana's discernibility, suppression
and precision loss.

Each (task, tool) pair runs in its own subprocess so that peak memory figures do not pollute each
other; the peak is the process's maximum resident set size (getrusage), reported in full and as the
increase over the baseline measured after the input table was built. Both tools get the same input
table (CTDC-like rows from htcds.deid.sample, same seed) and, for k-anonymity, the same hierarchies
and the same suppression budget. Loss figures for both outputs are computed by the same code here.

Writes bench/results/deid.json. This is a benchmark, not a test: it needs anjana, pac-synth and pandas.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QI6 = ["yearOfRegistration", "gender", "ageBroad", "citizenship", "CountryOfExploitation", "Datasource"]
QI10 = [*QI6, "isForcedLabour", "isSexualExploit", "isOtherExploit", "meansOfControlDebtBondage"]
SYNTH_COLUMNS = [
    "yearOfRegistration",
    "Datasource",
    "gender",
    "ageBroad",
    "majorityStatus",
    "citizenship",
    "CountryOfExploitation",
    "isForcedLabour",
    "isSexualExploit",
    "isOtherExploit",
    "meansOfControlDebtBondage",
    "meansOfControlPhysicalAbuse",
]
K = 11
BUDGET = 0.05
EPSILON = 4.0
DELTA = 1e-6
SEED = 20240501


def _rss_mb() -> float:
    """Lifetime peak RSS of this process (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class _Peak:
    """Peak RSS during a block, sampled every 2 ms, minus the RSS when the block started.

    ru_maxrss alone would report the peak of building the input table, so the increase caused by the
    tool itself is sampled separately; allocations made by Rust code (pac-synth) are seen too, which
    tracemalloc would miss.
    """

    def __enter__(self) -> _Peak:
        import gc
        import threading

        gc.collect()
        self.base = _current_rss_mb()
        self.peak = self.base
        self._stop = threading.Event()

        def sample() -> None:
            while not self._stop.wait(0.002):
                self.peak = max(self.peak, _current_rss_mb())

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _current_rss_mb())

    @property
    def increase(self) -> float:
        return self.peak - self.base


def _string_table(n: int, columns: list[str]) -> dict[str, list[str]]:
    from htcds.deid.sample import ctdc_like_table

    full = ctdc_like_table(n, SEED)
    return {c: [str(v) for v in full[c]] for c in columns}


def _hierarchies(qis: list[str]) -> dict[str, Any]:
    from htcds.deid.hierarchies import ctdc_hierarchies, flat_hierarchy

    h = ctdc_hierarchies()
    return {q: h.get(q, flat_hierarchy(q)) for q in qis}


def _loss(output: dict[str, list[str]], qis: list[str], levels: dict[str, int], n_input: int) -> dict[str, Any]:
    """Same loss figures for any tool's output (suppressed records removed)."""
    from htcds.deid.risk import risk_report

    hier = _hierarchies(qis)
    kept = len(output[qis[0]]) if output else 0
    suppressed = n_input - kept
    gen = sum(levels[q] / hier[q].top for q in qis) / len(qis)
    out: dict[str, Any] = {
        "levels": levels,
        "suppressed": suppressed,
        "suppressed_share": suppressed / n_input,
        "precision_loss": ((n_input - suppressed) * gen + suppressed) / n_input,
        "sweeney_prec": 1 - gen,
    }
    if kept:
        import numpy as np

        from htcds.deid._table import combine, encode

        enc = [encode(output[q]) for q in qis]
        key, _ = combine([c for c, _ in enc], [len(lab) for _, lab in enc])
        _, sizes = np.unique(key, return_counts=True)
        out["discernibility"] = int((sizes.astype(np.int64) ** 2).sum()) + suppressed * n_input
        out["k_achieved"] = risk_report(output, qis, k=K).min_class_size
    return out


def worker_kanon_ours(n: int, qis: list[str], metric: str = "precision") -> dict[str, Any]:
    from htcds.deid.kanon import k_anonymise

    table = _string_table(n, qis)
    hier = _hierarchies(qis)
    with _Peak() as mem:
        start = time.perf_counter()
        result = k_anonymise(table, hier, k=K, suppression_budget=BUDGET, keep_columns=[], metric=metric)  # type: ignore[arg-type]
        seconds = time.perf_counter() - start
    out = _loss(result.columns, qis, result.levels, n)
    out.update(
        seconds=seconds,
        peak_rss_mb=_rss_mb(),
        peak_over_baseline_mb=mem.increase,
        nodes_evaluated=result.nodes_evaluated,
        lattice_size=result.lattice_size,
    )
    return out


def worker_kanon_anjana(n: int, qis: list[str]) -> dict[str, Any]:
    import io
    from contextlib import redirect_stdout

    import pandas as pd
    from anjana.anonymity._k_anonymity import k_anonymity_inner

    table = _string_table(n, qis)
    frame = pd.DataFrame(table)
    hier = _hierarchies(qis)
    hierarchies = {q: hier[q].table(table[q]) for q in qis}
    with _Peak() as mem, redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        anon, _, levels = k_anonymity_inner(frame, [], qis, K, BUDGET * 100, hierarchies)
        seconds = time.perf_counter() - start
    output = {q: [str(v) for v in anon[q].tolist()] for q in qis} if len(anon) else {}
    out = _loss(output, qis, {q: int(levels.get(q, 0)) for q in qis}, n)
    out.update(seconds=seconds, peak_rss_mb=_rss_mb(), peak_over_baseline_mb=mem.increase)
    return out


def _synth_metrics(sensitive: dict[str, list[str]], synthetic: dict[str, list[str]]) -> dict[str, Any]:
    from htcds.deid.synth import utility_report

    report = utility_report(sensitive, synthetic, SYNTH_COLUMNS, max_length=2)
    cells = sum(len(v) for v in synthetic.values())
    empty = sum(1 for v in synthetic.values() for x in v if x == "")
    return {
        "n_synthetic": len(synthetic[SYNTH_COLUMNS[0]]),
        "tvd_1way_mean": report.tvd[1]["mean"],
        "tvd_1way_max": report.tvd[1]["max"],
        "tvd_2way_mean": report.tvd[2]["mean"],
        "tvd_2way_max": report.tvd[2]["max"],
        "rare_preserved_share_1_2way": report.rare_preserved_share,
        "fabricated_share_1_2way": report.fabricated_share,
        "empty_cell_share": empty / cells if cells else 0.0,
    }


def worker_synth_ours(n: int) -> dict[str, Any]:
    from htcds.deid.domains import ctdc_domains
    from htcds.deid.synth import synthesise

    table = _string_table(n, SYNTH_COLUMNS)
    public = ctdc_domains(SYNTH_COLUMNS, first_year=2000, last_year=2024)
    with _Peak() as mem:
        start = time.perf_counter()
        result = synthesise(table, EPSILON, delta=DELTA, domains=public)
        seconds = time.perf_counter() - start
    synthetic = {c: [str(v) for v in result.columns[c]] for c in SYNTH_COLUMNS}
    out = _synth_metrics(table, synthetic)
    out.update(seconds=seconds, peak_rss_mb=_rss_mb(), peak_over_baseline_mb=mem.increase, threads=1)
    return out


def worker_synth_pacsynth(n: int, tuned: bool = False) -> dict[str, Any]:
    """pac-synth as a user would run it: its defaults (every thread, no ``sensitive_zeros``, so "0" flags are
    read as empty); ``tuned`` gives it one thread and every column's zeros as values, Phare's own conditions."""
    import pacsynth
    import pandas as pd

    table = _string_table(n, SYNTH_COLUMNS)
    frame = pd.DataFrame(table)
    if tuned:
        pacsynth.set_number_of_threads(1)
    with _Peak() as mem:
        start = time.perf_counter()
        dataset = pacsynth.Dataset.from_data_frame(frame, sensitive_zeros=SYNTH_COLUMNS if tuned else None)
        params = pacsynth.DpAggregateSeededParametersBuilder().epsilon(EPSILON).delta(DELTA).build()
        synth = pacsynth.DpAggregateSeededSynthesizer(params)
        synth.fit(dataset)
        raw = synth.sample()
        seconds = time.perf_counter() - start
    out_frame = pacsynth.Dataset.raw_data_to_data_frame(raw)
    synthetic = {c: [str(v) for v in out_frame[c].tolist()] for c in SYNTH_COLUMNS}
    out = _synth_metrics(table, synthetic)
    threads = 1 if tuned else os.cpu_count()
    out.update(seconds=seconds, peak_rss_mb=_rss_mb(), peak_over_baseline_mb=mem.increase, threads=threads,
               sensitive_zeros=tuned)  # fmt: skip
    return out


WORKERS = {
    "kanon-ours": lambda a: worker_kanon_ours(a.n, QI6 if a.qis == 6 else QI10),
    "kanon-ours-discernibility": lambda a: worker_kanon_ours(a.n, QI6 if a.qis == 6 else QI10, "discernibility"),
    "kanon-anjana": lambda a: worker_kanon_anjana(a.n, QI6 if a.qis == 6 else QI10),
    "synth-ours": lambda a: worker_synth_ours(a.n),
    "synth-pacsynth": lambda a: worker_synth_pacsynth(a.n),
    "synth-pacsynth-tuned": lambda a: worker_synth_pacsynth(a.n, tuned=True),
}


def run_worker(task: str, n: int, qis: int = 0, timeout: float = 3600) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", task, "--n", str(n), "--qis", str(qis)]
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_seconds_including_setup"] = time.perf_counter() - started
    return result


def _ratio(theirs: dict[str, Any], ours: dict[str, Any], key: str) -> float | None:
    if key in theirs and key in ours and ours[key]:
        return float(theirs[key]) / float(ours[key])
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--qis", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "deid.json"))
    parser.add_argument("--kanon-only", action="store_true", help="re-run k-anonymity only; keep the stored synthetic results")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args)))
        return

    n_kanon = 20_000 if args.quick else 200_000
    n_synth = 5_000 if args.quick else 100_000
    results: dict[str, Any] = {
        "quick": args.quick,
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "settings": {"k": K, "suppression_budget": BUDGET, "epsilon": EPSILON, "delta": DELTA,
                     "table_seed": SEED, "note": "the seed draws the input table only; no tool's noise is seeded"},
        "kanon": {},
        "synth": {},
    }
    for qis in (6, 10):
        ours = run_worker("kanon-ours", n_kanon, qis)
        # The same search with discernibility as the loss to minimise: each measure has its own optimum.
        ours_disc = run_worker("kanon-ours-discernibility", n_kanon, qis)
        theirs = run_worker("kanon-anjana", n_kanon, qis)
        measures = ("precision_loss", "discernibility", "suppressed_share")
        entry = {
            "records": n_kanon,
            "quasi_identifiers": QI6 if qis == 6 else QI10,
            "ours": ours,
            "ours_minimising_discernibility": ours_disc,
            "anjana": theirs,
            "anjana_over_ours": {
                key: _ratio(theirs, ours, key)
                for key in ("seconds", "peak_over_baseline_mb", "precision_loss", "discernibility")
            },
            # For each loss measure Phare can minimise, its run beside anjana's on every figure (anjana has one
            # run: it minimises neither, it takes the first node its search accepts).
            "per_loss_measure": {
                measure: {
                    "ours": {key: run.get(key) for key in measures},
                    "anjana": {key: theirs.get(key) for key in measures},
                    "anjana_over_ours": {key: _ratio(theirs, run, key) for key in measures},
                }
                for measure, run in (("precision", ours), ("discernibility", ours_disc))
            },
        }
        results["kanon"][str(qis)] = entry
        print(
            f"k-anonymity k={K}, {n_kanon} records, {qis} QIs: ours {ours.get('seconds', float('nan')):.2f} s, "
            f"anjana {theirs.get('seconds', float('nan')):.2f} s "
            f"(x{entry['anjana_over_ours']['seconds'] or float('nan'):.1f}); precision loss "
            f"{ours.get('precision_loss', float('nan')):.3f} vs {theirs.get('precision_loss', float('nan')):.3f}; "
            f"suppressed {ours.get('suppressed_share', float('nan')):.3f} vs "
            f"{theirs.get('suppressed_share', float('nan')):.3f}"
            + (f"; anjana: {theirs['error']}" if "error" in theirs else "")
        )
    if args.kanon_only:
        previous = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
        results["synth"] = previous.get("synth", {})
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
        return
    ours = run_worker("synth-ours", n_synth)
    theirs = run_worker("synth-pacsynth", n_synth)
    tuned = run_worker("synth-pacsynth-tuned", n_synth)
    keys = ("seconds", "peak_over_baseline_mb", "tvd_1way_mean", "tvd_2way_mean", "tvd_2way_max")
    results["synth"] = {
        "records": n_synth,
        "columns": SYNTH_COLUMNS,
        "ours": ours,
        "pacsynth": theirs,
        "pacsynth_over_ours": {key: _ratio(theirs, ours, key) for key in keys},
        "pacsynth_one_thread_sensitive_zeros": tuned,
        "pacsynth_one_thread_sensitive_zeros_over_ours": {key: _ratio(tuned, ours, key) for key in keys},
    }
    print(
        f"synthetic data eps={EPSILON}, {n_synth} records x {len(SYNTH_COLUMNS)}: ours "
        f"{ours.get('seconds', float('nan')):.2f} s, pac-synth {theirs.get('seconds', float('nan')):.2f} s "
        f"(x{results['synth']['pacsynth_over_ours']['seconds'] or float('nan'):.1f}); mean 2-way TVD "
        f"{ours.get('tvd_2way_mean', float('nan')):.4f} vs {theirs.get('tvd_2way_mean', float('nan')):.4f}"
        + (f"; pac-synth: {theirs['error']}" if "error" in theirs else "")
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
