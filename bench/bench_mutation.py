"""Mutation score of the guard modules with a general tool (mutmut), beside the curated catalogue that CI runs
(`make mutants`). A benchmark, not a gate: it takes hours on two cores.

    python bench/bench_mutation.py [--modules phare/access.py ...] [--children 2] [--work var/bench/mutation]

It copies the tree into the work folder, runs `mutmut run` there over the modules (every other module stays as
it is), with the test suite minus the browser and fuzz tests as its selection (mutmut then runs, for each mutant,
only the tests that cover the mutated function), and writes bench/results/mutation.json: per module, mutants
killed, survived, without a covering test, timed out, and the score (killed / all checked), with the surviving
mutants' names for the next round of tests. `mutmut show NAME` in the work folder prints one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "mutation.json"
MODULES = ["phare/access.py", "phare/cases/access.py", "phare/accounts/permissions.py", "phare/audit/log.py",
           "phare/crypto/*", "htcds/deid/*"]  # fmt: skip
SLOW_OR_BROWSER = ["--ignore=tests/browser", "--deselect", "tests/test_api_fuzz.py",
                   "--deselect", "tests/test_tenancy.py::test_it_lets_no_request_to_any_url_read_or_change_another_organisations_rows"]  # fmt: skip


def copy_tree(work: Path) -> Path:
    tree = work / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split("\n")  # fmt: skip
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file() and not name.startswith(("bench/results/", "var/")):
            dest = tree / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
    return tree


def configure(tree: Path, modules: list[str]) -> None:
    config = "\n".join([
        "", "[tool.mutmut]",
        'source_paths = ["phare", "htcds"]',
        f"only_mutate = {json.dumps(modules)}",
        # mutmut copies only the source paths and tests; some tests read the tools, scripts and docs beside them
        'also_copy = ["tools", "scripts", "docs", "bench", "README.md", "Makefile"]',
        'pytest_add_cli_args = ["-p", "no:warnings", "-m", "not browser", "-x", "-q"]',
        f"pytest_add_cli_args_test_selection = {json.dumps(['tests/', *SLOW_OR_BROWSER])}",
        "",
    ])  # fmt: skip
    with (tree / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write(config)


def scores(tree: Path) -> dict[str, object]:
    from mutmut.stats import status_by_exit_code  # mutmut's own reading of its exit codes

    per_module: dict[str, dict[str, object]] = {}
    for meta in sorted((tree / "mutants").rglob("*.py.meta")):
        data = json.loads(meta.read_text("utf-8"))
        module = str(meta.relative_to(tree / "mutants")).removesuffix(".meta")
        counts: Counter[str] = Counter()
        survivors = []
        for name, code in data.get("exit_code_by_key", {}).items():
            outcome = "not_checked" if code is None else str(status_by_exit_code[int(code)]).replace(" ", "_")
            counts[outcome] += 1
            if outcome == "survived":
                survivors.append(name)
        checked = counts["killed"] + counts["survived"] + counts["timeout"]
        per_module[module] = {**dict(counts), "score": round((counts["killed"] + counts["timeout"]) / checked, 3)
                              if checked else None, "survivors": sorted(survivors)}  # fmt: skip
    total: Counter[str] = Counter()
    for m in per_module.values():
        for k, v in m.items():
            if isinstance(v, int):
                total[k] += v
    checked = total["killed"] + total["survived"] + total["timeout"]
    return {"total": {**dict(total), "score": round((total["killed"] + total["timeout"]) / checked, 3) if checked else None},
            "modules": per_module}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modules", nargs="*", default=MODULES)
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--work", default=str(ROOT / "var" / "bench" / "mutation"))
    parser.add_argument("--resume", action="store_true", help="continue a run in the work folder instead of copying anew")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    tree = work / "tree"
    if not args.resume or not tree.exists():
        tree = copy_tree(work)
        configure(tree, args.modules)
    env = {**os.environ, "PHARE_DATA_DIR": str(work / "data"), "PHARE_SHARED": os.getenv("PHARE_SHARED", str(ROOT.parent / "shared"))}
    env.pop("DATABASE_URL", None)  # SQLite: the score is about the guards, not the database
    mutmut = Path(sys.executable).with_name("mutmut")
    started = time.monotonic()
    run = subprocess.run([str(mutmut), "run", "--max-children", str(args.children)], cwd=tree, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    seconds = round(time.monotonic() - started)
    result = {"tool": "mutmut " + subprocess.run([str(mutmut), "--version"], cwd=tree, capture_output=True, text=True).stdout.split()[-1],
              "modules": args.modules, "seconds": seconds, "exit_status": run.returncode,
              "cores": os.cpu_count(), "target_score": 0.9, **scores(tree)}  # fmt: skip
    RESULTS.write_text(json.dumps(result, indent=1) + "\n", "utf-8")
    total = result["total"]
    print(json.dumps(total))
    for module, m in result["modules"].items():  # type: ignore[attr-defined]
        print(f"{module}: score {m['score']} ({m.get('killed', 0)} killed, {m.get('survived', 0)} survived, "
              f"{m.get('no_tests', 0)} without a covering test)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
