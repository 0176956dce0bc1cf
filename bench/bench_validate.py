"""Benchmark of htcds.validation.validate_bundle against the jsonschema library on the same bundles.

Run: python bench/bench_validate.py [--n 200000] [--js-n 10000] [--repeat 3] [--pin]

Bundles come from htcds.generate (valid, CTDC-like); they are built up front and not timed. Both validators
run in this one process on one thread. htcds is timed over all bundles; jsonschema (Draft 2020-12 with the
bundle schema generated from the catalogue, format checking on, validator built once, `is_valid`) is about
two orders of magnitude slower, so it is timed on the first --js-n bundles and its time for all bundles is
extrapolated (the JSON says so). Each figure is the best of --repeat runs, in wall-clock and CPU time.

Peak memory is measured separately with tracemalloc (which slows Python down, so never during timing): the
peak while building each validator, and the peak while validating --mem-n bundles with it.

Writes bench/results/validate.json. A benchmark, not a test: it needs jsonschema.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import os
import platform
import random
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jsonschema  # noqa: E402

from htcds import validation  # noqa: E402
from htcds.generate import generate_bundles, generate_invalid  # noqa: E402
from htcds.schema import bundle_schema  # noqa: E402

TARGET = 50_000  # bundles/s for htcds on one core


def timed(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds over `repeat` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        run()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


def peak(run: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def reference_loop_ns() -> float:
    """CPU ns per iteration of an empty loop: about 10 on an idle modern core with CPython 3.11, so a
    higher figure shows how much a shared or overloaded machine slowed every timing of this run."""
    best = float("inf")
    for _ in range(3):
        c0 = time.process_time()
        for _ in range(2_000_000):
            pass
        best = min(best, time.process_time() - c0)
    return round(best / 2_000_000 * 1e9, 1)


def make_js_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(bundle_schema(), format_checker=jsonschema.FormatChecker())


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "jsonschema": importlib.metadata.version("jsonschema"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="bundles for htcds")
    ap.add_argument("--js-n", type=int, default=10_000, help="subset timed with jsonschema")
    ap.add_argument("--mem-n", type=int, default=2_000, help="bundles validated under tracemalloc")
    ap.add_argument("--invalid-n", type=int, default=20_000, help="bundles with one mistake each, htcds only")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pin", action="store_true", help="pin the process to one CPU (sched_setaffinity)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "validate.json")
    args = ap.parse_args(argv)
    pinned = None
    if args.pin and hasattr(os, "sched_setaffinity"):
        pinned = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {pinned})

    # --- inputs (not timed)
    t0 = time.perf_counter()
    # The collector would rescan the growing list again and again; pausing it is a property of building the
    # input, not of either validator.
    gc.disable()
    bundles = list(generate_bundles(args.n, seed=args.seed))
    gen_seconds = time.perf_counter() - t0
    rng = random.Random(args.seed + 1)
    invalid = [generate_invalid(b, rng) for b in bundles[: args.invalid_n]]
    gc.enable()
    # Move the inputs out of the collector's generations so that neither validator pays for rescanning them.
    gc.freeze()
    print(f"generated {args.n} bundles in {gen_seconds:.1f}s ({args.n / gen_seconds:,.0f}/s)", flush=True)

    js = make_js_validator()
    subset = bundles[: args.js_n]
    # Warm up: compile htcds' checkers and let jsonschema resolve its $refs before timing.
    for b in bundles[:200]:
        validation.validate_bundle(b)
        js.is_valid(b)
    problems = sum(len(validation.validate_bundle(b)) for b in bundles)
    js_rejected = sum(not js.is_valid(b) for b in subset)
    assert problems == 0 and js_rejected == 0, (problems, js_rejected)

    def run_htcds() -> None:
        vb = validation.validate_bundle
        for b in bundles:
            vb(b)

    def run_js() -> None:
        ok = js.is_valid
        for b in subset:
            ok(b)

    def run_htcds_invalid() -> None:
        vb = validation.validate_bundle
        for b in invalid:
            vb(b)

    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    ref_before = reference_loop_ns()
    h_wall, h_cpu = timed(run_htcds, args.repeat)
    print(f"htcds: {args.n / h_wall:,.0f} bundles/s wall, {args.n / h_cpu:,.0f}/s CPU", flush=True)
    i_wall, i_cpu = timed(run_htcds_invalid, args.repeat)
    print(f"htcds, bundles with a mistake: {len(invalid) / i_wall:,.0f} bundles/s wall", flush=True)
    j_wall, j_cpu = timed(run_js, args.repeat)
    print(f"jsonschema: {len(subset) / j_wall:,.0f} bundles/s wall, {len(subset) / j_cpu:,.0f}/s CPU", flush=True)
    load_after = os.getloadavg() if hasattr(os, "getloadavg") else None
    ref_after = reference_loop_ns()

    # --- memory (separate runs: tracemalloc slows everything down)
    mem_subset = bundles[: args.mem_n]

    def build_htcds() -> None:
        validation._compiled.cache_clear()
        validation._compiled()

    def build_js() -> None:
        v = make_js_validator()
        v.is_valid(bundles[0])  # jsonschema resolves references lazily, on first use

    def mem_htcds() -> None:
        for b in mem_subset:
            validation.validate_bundle(b)

    def mem_js() -> None:
        for b in mem_subset:
            js.is_valid(b)

    build_htcds_peak, build_js_peak = peak(build_htcds), peak(build_js)
    mem_htcds()  # refill the date memo the rebuild emptied, as in steady use
    run_htcds_peak, run_js_peak = peak(mem_htcds), peak(mem_js)

    h_rate, j_rate = args.n / h_wall, len(subset) / j_wall
    result = {
        "benchmark": "HTCDS 2.0 case bundle validation: htcds.validation.validate_bundle vs jsonschema",
        "machine": machine(),
        "load_average": {"before": load_before, "after": load_after},
        "reference_empty_loop_cpu_ns": {"before": ref_before, "after": ref_after, "idle_core_typical": 10},
        "pinned_cpu": pinned,
        "inputs": {
            "generator": "htcds.generate.generate_bundles (CTDC-like, all valid)",
            "seed": args.seed,
            "bundles": args.n,
            "generation_seconds": round(gen_seconds, 2),
            "generation_bundles_per_s": round(args.n / gen_seconds),
            "records_per_bundle": round(
                sum(1 + sum(len(v) for v in b.values() if isinstance(v, list)) for b in subset) / len(subset), 2
            ),
        },
        "method": (
            f"Single process, single thread; best of {args.repeat} runs; inputs generated up front (not timed), "
            "then gc.freeze() so that neither validator pays for the collector rescanning them. jsonschema: "
            "Draft202012Validator(bundle_schema(), format_checker=FormatChecker()), built once, is_valid(). "
            f"jsonschema is timed on the first {len(subset)} bundles only and its time for all {args.n} is "
            "extrapolated from that rate. Peak memory: tracemalloc, in runs separate from the timed ones."
        ),
        "htcds": {
            "bundles": args.n,
            "seconds_wall": round(h_wall, 3),
            "seconds_cpu": round(h_cpu, 3),
            "bundles_per_s": round(h_rate),
            "bundles_per_s_cpu": round(args.n / h_cpu),
            "target_bundles_per_s": TARGET,
            "meets_target": h_rate >= TARGET,
            "with_one_mistake_each": {
                "bundles": len(invalid),
                "bundles_per_s": round(len(invalid) / i_wall),
                "bundles_per_s_cpu": round(len(invalid) / i_cpu),
            },
            "peak_memory_build_bytes": build_htcds_peak,
            "peak_memory_validate_bytes": run_htcds_peak,
            "peak_memory_validate_bundles": len(mem_subset),
        },
        "jsonschema": {
            "bundles_timed": len(subset),
            "seconds_wall": round(j_wall, 3),
            "seconds_cpu": round(j_cpu, 3),
            "bundles_per_s": round(j_rate),
            "bundles_per_s_cpu": round(len(subset) / j_cpu),
            "extrapolated": True,
            "extrapolated_seconds_for_all_bundles": round(args.n / j_rate, 1),
            "peak_memory_build_bytes": build_js_peak,
            "peak_memory_validate_bytes": run_js_peak,
            "peak_memory_validate_bundles": len(mem_subset),
        },
        "ratio_htcds_over_jsonschema": round(h_rate / j_rate, 1),
        "ratio_htcds_over_jsonschema_cpu": round((args.n / h_cpu) / (len(subset) / j_cpu), 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("htcds", "jsonschema", "ratio_htcds_over_jsonschema")}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
