"""Mutation score of the guard modules with a general tool (mutmut), beside the curated catalogue that CI runs
(`make mutants`). A benchmark, not a gate.

    python bench/bench_mutation.py                                  # every mutant of every group, in turn
    python bench/bench_mutation.py --groups crypto --sample crypto=10  # the first 10 of each module's random order
    python bench/bench_mutation.py --groups access --rerun-survivors # the current tests against the survivors
    python bench/bench_mutation.py --collect --sample access=30        # score a run stopped early, run nothing

Over the whole suite mutmut's first phase (which test reaches which function) alone took ~17 minutes under load,
and every mutant of a function that all tests reach (`scoped`) re-ran hundreds of tests. So the modules are split
into groups, and each group gets only the test files that exercise it (found with grep and the catalogue's
killers): mutmut then runs, for each mutant, those of them that reach the mutated function. A mutant that no
selected test reaches counts as *not killed* in the score (`no_tests`), so a narrow selection can only lower it.

mutmut 3.8 makes ~8,600 mutants of these modules (string literals too), far more than two shared cores check in
a session. `--sample GROUP=N` checks the first N of each module's mutants in a random order drawn once with a
fixed seed and kept in the work folder: a uniform sample, the same on every run, whose score comes with its 95%
(Wilson) interval. A run stopped early is not a uniform sample (mutmut checks the quickest mutants first):
`--collect` marks such a module `finished: false`.

Two things make one mutant cost seconds rather than half a minute, neither of which changes what a test checks:
the SQLite test database is a file kept between runs (`--reuse-db`: migrations run once per group, not once per
mutant), and passwords are hashed with MD5 (an autouse fixture appended to the scratch copy's tests/conftest.py,
as tests/test_signin_mfa.py does; the one test that checks the Argon2 default is not in any selection).

Each group runs in its own copy of the tree under the work folder; bench/results/mutation.json gets, per module:
mutants, checked, killed, survived, timeout, no_tests, the score ((killed + timeout) / checked), the test selection
and wall time of its group, and the survivors' names (`mutmut show NAME` in the group's tree prints one), with
those judged equivalent (EQUIVALENT below) or left without a test (LEFT) and why.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "mutation.json"
SEED = 25

# group -> (modules to mutate, test selection)
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "access": (
        ["phare/access.py", "phare/cases/access.py", "phare/accounts/permissions.py"],
        ["tests/test_access.py", "tests/test_permissions.py", "tests/test_tenancy.py::test_it_lets_no_access_layer_attempt_reach_another_organisation",
         "tests/test_tenancy.py::test_it_finds_the_leak_when_the_access_layer_filter_is_disabled", "tests/test_break_glass.py",
         "tests/test_field_rule.py", "tests/test_case_new.py", "tests/test_case_page.py", "tests/test_users_page.py"],
    ),
    "audit": (
        ["phare/audit/log.py"],
        ["tests/test_audit.py", "tests/test_audited_verbs.py", "tests/test_read_audit.py", "tests/test_audit_page.py",
         "tests/test_sharding.py::test_it_verifies_each_organisations_audit_chain_on_its_own"],
    ),
    "crypto": (
        ["phare/crypto/*"],
        ["tests/test_crypto.py", "tests/test_files_at_rest.py"],
    ),
    "deid": (
        ["htcds/deid/*"],
        ["tests/htcds/test_deid_aggregates.py", "tests/htcds/test_deid_budget.py", "tests/htcds/test_deid_ctdc.py",
         "tests/htcds/test_deid_ctdc_file.py", "tests/htcds/test_deid_ctdc_kanon.py", "tests/htcds/test_deid_domains.py", "tests/htcds/test_deid_kanon.py", "tests/htcds/test_deid_sample.py",
         "tests/htcds/test_deid_synth.py", "tests/test_sharing.py"],
    ),
}  # fmt: skip

# Survivors judged equivalent (no test can tell them from the original in any use Phare makes): name -> why.
_GET_MODEL = "apps.get_model reads the model name case-insensitively"
_NOT_SHOWN = "the message is never shown: every not-found page is the same"
_SIGNED_IN = "getattr without a default: every caller passes a signed-in User (the views need a login), which has it"
EQUIVALENT: dict[str, str] = {
    "phare.audit.log.x_verify__mutmut_1": "key=None: _digest and _head_mac fall back to _key(), the same key",
    "phare.audit.log.x_verify__mutmut_5": "last_id is compared with the head only; a head over zero events has "
    "another count and hash as well",
    "phare.audit.log.x_verify__mutmut_6": "as _5",
    "phare.audit.log.x__held_records__mutmut_3": _GET_MODEL,
    "phare.audit.log.x__held_records__mutmut_8": _GET_MODEL,
    "phare.audit.log.x__held_records__mutmut_13": _GET_MODEL,
    "phare.audit.log.x__organisations_with_cases_but_no_events__mutmut_9": _GET_MODEL,
    "phare.audit.log.x_verify__mutmut_38": "as x_verify__mutmut_1: _digest's key defaults to _key()",
    "phare.audit.log.x__base_content__mutmut_7": "a key of the hashed content renamed, alike when recording and "
    "verifying: the MAC covers the same values",
    "phare.audit.log.x_record__mutmut_60": "SQL keywords are case-insensitive (PostgreSQL only)",
    "phare.audit.log.x_record__mutmut_83": "organisation is always a row (the model refuses an id), and Django "
    "filters organisation_id by a row or its id alike",
    "phare.audit.log.x_record__mutmut_171": "as x_verify__mutmut_1: _digest's key defaults to _key()",
    "htcds.deid.hierarchies.xǁHierarchyǁlevel_maps__mutmut_28": "np.full with an int fill value is int64 already "
    "(64-bit platforms only are supported)",
    "phare.access.x_get_or_404__mutmut_5": _NOT_SHOWN,
    "phare.access.x_get_or_404__mutmut_8": _NOT_SHOWN,
    "phare.access.x_shared_uids__mutmut_10": _SIGNED_IN,
    "phare.cases.access.x_can_write__mutmut_5": _SIGNED_IN,
    "phare.cases.access.x_opened_by_break_glass__mutmut_27": _SIGNED_IN,
    "phare.cases.access.x_opened_by_break_glass__mutmut_30": "a signed-in user always has a pk: the `or 0` never "
    "applies",
    "phare.cases.access.x_visible_cases__mutmut_26": _SIGNED_IN,
    "phare.cases.access.x_visible_persons__mutmut_22": _SIGNED_IN,
    "phare.accounts.permissions.x_perms_of__mutmut_44": "an absent role read as '' or 'XXXX': neither is in the "
    "matrix, both give no permission",
    "phare.accounts.permissions.x_perms_of__mutmut_7": "a default of None or False reads alike under `not`",
    "phare.accounts.permissions.x_perms_of__mutmut_17": "a default of None or False reads alike under `not`",
    "htcds.deid._table.x_encode__mutmut_15": "a copy instead of a view of the same codes",
    "htcds.deid._table.x_combine__mutmut_19": "a wider span keeps the combined key one-to-one",
    "htcds.deid.kanon.xǁ_Latticeǁ_group__mutmut_22": "np.arange of an int is int64 already",
    "htcds.deid.noise.x_described__mutmut_3": "importlib.metadata finds a distribution whatever the case of its name",
    "phare.access.x_scoped__mutmut_8": _SIGNED_IN,
    "phare.access.x_get_readable_or_404__mutmut_5": _NOT_SHOWN,
    "phare.access.x_get_readable_or_404__mutmut_6": _NOT_SHOWN,
    "phare.access.x_active_grant__mutmut_17": "getattr without a default: every caller passes a signed-in User "
    "(login_required), which always has organisation_id",
    "phare.access.x_unshare__mutmut_6": "uids are random UUIDs, unique across tables: the type never tells two "
    "shares apart",
    "phare.access.x_unshare__mutmut_8": "getattr(None, 'pk', org) is the organisation itself, and Django filters "
    "organisation_id by an Organisation or its id alike",
    "phare.crypto.fields.xǁPresealedPersonǁtoken__mutmut_6": "a cache check: the mutant always misses and seals "
    "again, an equally valid token",
    "phare.crypto.keys.x_forget_shredded__mutmut_45": "without the mark every call drops all cached person keys: "
    "slower, never a key kept too long",
    "phare.crypto.uploads.xǁSealedUploadedFileǁ__init____mutmut_13": "the kid in a temporary upload's header is a "
    "label: its reader takes the key from memory",
    "phare.crypto.uploads.xǁSealedUploadedFileǁ__init____mutmut_24": "complete() sets the size before anything "
    "reads it",
    "htcds.deid.budget.xǁPrivacyBudgetLedgerǁ_composed__mutmut_17": "with the 1e-12 slack, < and <= part only for "
    "deltas summing to exactly total + 1e-12",
    "htcds.deid.ctdc_kanon.x_anonymise_ctdc__mutmut_46": "the table passed holds the families and the carried "
    "columns only: None (every non-QI column) is the same list",
    "htcds.deid.aggregates.x_dp_count_table__mutmut_100": "the message of an assertion no input reaches: OpenDP "
    "certifies exactly 1/scale for counts, the epsilon asked for",
    "htcds.deid._table.x_combine__mutmut_21": "a lower limit re-densifies the key sooner: it stays one-to-one, only "
    "slower",
    "htcds.deid.sample.x_ctdc_like_table__mutmut_338": "tolist() gives the same Python strings from a unicode array "
    "as from an object array",
}
# Survivors left without a new test, and why (not equivalent, but not a guard either).
_TEXT = "the text of a message or report line; what it reports is tested"
_CROSSWALK_DOC = "the crosswalk's documentation text for a column"
LEFT: dict[str, str] = {
    "htcds.deid.kanon.x__search__mutmut_33": "the search's paths: wrong strides make paths of non-successors, but "
    "up- and down-set tagging still settles every node, so the result is the same; only the count of nodes "
    "scored changes, and no figure of it is fixed",
    "htcds.deid.ctdc_kanon.xǁCTDCAnonymisationǁto_json__mutmut_7": _TEXT,
    "htcds.deid.synth.x_synthesise__mutmut_551": _TEXT,
    "htcds.deid.noise.x__dp__mutmut_2": "an artefact of mutmut's fork: its workers inherit OpenDP's contrib "
    "switched on; in a fresh process every DP test fails on it",
    "htcds.deid.synth.x_synthesise__mutmut_357": "utility of the synthetic data (a marginal's consistency), not "
    "privacy: the noise is drawn before",
    "htcds.deid.budget.xǁPrivacyBudgetLedgerǁto_json__mutmut_6": _TEXT,
    "htcds.deid.ctdc.x__crosswalk__mutmut_37": _CROSSWALK_DOC,
    "htcds.deid.ctdc.x__crosswalk__mutmut_524": _CROSSWALK_DOC,
    "htcds.deid.ctdc.x__crosswalk__mutmut_127": _CROSSWALK_DOC,
    "htcds.deid.kanon.xǁKAnonymityResultǁto_json__mutmut_30": _TEXT,
}

FAST_HASH = """

# Scratch copy only (bench/bench_mutation.py): hash test passwords with MD5, as some test files do.
@pytest.fixture(autouse=True)
def _bench_fast_password_hash(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
"""


def copy_tree(tree: Path) -> None:
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


def configure(tree: Path, modules: list[str], tests: list[str]) -> None:
    with (tree / "tests" / "conftest.py").open("a", encoding="utf-8") as fh:
        fh.write(FAST_HASH)
    config = "\n".join([
        "", "[tool.mutmut]",
        'source_paths = ["phare", "htcds"]',
        f"only_mutate = {json.dumps(modules)}",
        # mutmut copies only the source paths and tests; some tests read the tools, scripts and docs beside them
        'also_copy = ["tools", "scripts", "docs", "bench", "README.md", "Makefile"]',
        'pytest_add_cli_args = ["-p", "no:warnings", "--reuse-db", "-x", "-q"]',
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}",
        "",
    ])  # fmt: skip
    with (tree / "pyproject.toml").open("a", encoding="utf-8") as fh:
        fh.write(config)


GENERATE = """
import os
import random
from mutmut import __main__ as m
from mutmut.mutation.trampoline import set_mutant_under_test
set_mutant_under_test("mutant_generation")
os.makedirs("mutants", exist_ok=True)
m.copy_src_dir(); m.copy_also_copy_files(); m.setup_source_paths(); m.store_lines_covered_by_tests(); m.create_mutants(1)
"""


# mutmut checks each mutant in a fork of a process that imported the code before the mutant was set: a mutant of
# a function that runs at import time (a table built once, a library feature switched on once) is never run by
# the tests that check it, and survives whatever they assert. Which functions run at import time is found by
# importing every mutated module with mutmut's trampoline recording the calls; the survivors among their mutants
# are checked again in a fresh pytest process, where the mutant is set before anything is imported.
IMPORT_TIME = """
import importlib, json, os, sys
import mutmut.mutation.trampoline as trampoline
hits = set()
trampoline.record_trampoline_hit = lambda name, caller=None: hits.add(name)
trampoline.set_mutant_under_test("stats")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phare.settings")
import django
django.setup()
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(hits)))
"""


def import_time_functions(tree: Path, modules: list[str], env: dict[str, str]) -> set[str]:
    names = [m.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for m in modules]
    out = subprocess.run([sys.executable, "-c", IMPORT_TIME, *names], cwd=tree / "mutants", env=env,
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return set(json.loads(out.strip().splitlines()[-1]))


def fresh_codes(work: Path, group: str) -> dict[str, int]:
    path = work / f"{group}.fresh.json"
    return cast(dict[str, int], json.loads(path.read_text("utf-8"))) if path.exists() else {}


def fresh_check(tree: Path, work: Path, group: str, survivors: list[str], env: dict[str, str]) -> dict[str, int]:
    """Run the group's tests in a fresh process against each survivor whose function runs at import time; the
    exit codes (1: a test failed, 2: collection failed on the mutant) are kept in the work folder."""
    path = work / f"{group}.fresh.json"
    codes = fresh_codes(work, group)
    at_import = import_time_functions(tree, list(metas(tree)), env)
    for name in survivors:
        if name.partition("__mutmut_")[0] not in at_import:
            continue
        _, tests = GROUPS[group]
        run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:warnings", "-p", "no:cacheprovider",
                              "--reuse-db", "-x", "-q", *tests], cwd=tree / "mutants",
                             env={**env, "MUTANT_UNDER_TEST": name}, capture_output=True)  # fmt: skip
        codes[name] = run.returncode
        path.write_text(json.dumps(codes, indent=1), "utf-8")
    return codes


def metas(tree: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for meta in sorted((tree / "mutants").rglob("*.py.meta")):
        module = str(meta.relative_to(tree / "mutants")).removesuffix(".meta")
        out[module] = json.loads(meta.read_text("utf-8"))
    return out


def order(tree: Path, work: Path, group: str, env: dict[str, str]) -> dict[str, list[str]]:
    """Generate the mutants (mutmut's own first step) and put each module's in a random order with a fixed seed,
    kept in the work folder: a sample of n is the first n of its module's order, so that a larger sample, a
    rerun or a run stopped early all check uniform random samples of the same draw."""
    path = work / f"{group}.order.json"
    subprocess.run([sys.executable, "-c", GENERATE], cwd=tree, env=env, check=True, capture_output=True)
    kept: dict[str, list[str]] = json.loads(path.read_text("utf-8")) if path.exists() else {}
    # A module whose source changed has other mutants (mutmut numbers them anew): it gets a new draw.
    drawn = {module: kept[module] if set(kept.get(module, ())) == set(data["exit_code_by_key"]) else
             random.Random(SEED).sample(sorted(data["exit_code_by_key"]), len(data["exit_code_by_key"]))
             for module, data in metas(tree).items()}  # fmt: skip
    path.write_text(json.dumps(drawn), "utf-8")
    return drawn


def in_sample(drawn: dict[str, list[str]], cap: int | None) -> dict[str, set[str]]:
    return {module: set(keys if cap is None else keys[:cap]) for module, keys in drawn.items()}


def wilson(k: int, n: int, z: float = 1.96) -> list[float] | None:
    """95% interval of a killed share estimated from a random sample of n mutants."""
    if not n:
        return None
    p = k / n
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return [
        max(0.0, round((centre - half) / (1 + z * z / n), 3)),
        min(1.0, round((centre + half) / (1 + z * z / n), 3)),
    ]


def ratio(done: int, of: int) -> float | None:
    return round(done / of, 3) if of else None


def scores(tree: Path, sampled: dict[str, set[str]], fresh: dict[str, int]) -> dict[str, dict[str, Any]]:
    from mutmut.stats import status_by_exit_code  # mutmut's own reading of its exit codes

    # Outcomes carried over from an earlier run of the same source (a rerun still checks its survivors again).
    carried_path = tree.parent / f"{tree.name}.carried.json"
    carried = set(json.loads(carried_path.read_text("utf-8"))) if carried_path.exists() else set()
    per_module: dict[str, dict[str, Any]] = {}
    for module, data in metas(tree).items():
        counts: Counter[str] = Counter()
        survivors = []
        killed_fresh = []
        for name, code in data.get("exit_code_by_key", {}).items():
            if name not in sampled.get(module, ()):
                continue
            outcome = "not_checked" if code is None else str(status_by_exit_code[int(code)]).replace(" ", "_")
            if outcome in ("survived", "no_tests") and fresh.get(name) in (1, 2, 3):
                outcome = "killed"
                killed_fresh.append(name)
            counts[outcome] += 1
            if outcome in ("survived", "no_tests"):
                survivors.append(name)
        mutants = len(data.get("exit_code_by_key", {}))
        if not mutants:
            continue
        checked = sum(counts.values()) - counts["not_checked"]
        counts["not_checked"] += mutants - sum(counts.values())
        caught = counts["killed"] + counts["timeout"]
        per_module[module] = {"mutants": mutants, "checked": checked, **dict(counts),
                              "score": ratio(caught, checked),
                              "score_95": wilson(caught, checked) if checked < mutants else None,
                              "survivors": sorted(survivors),
                              "killed_in_a_fresh_process": sorted(killed_fresh),
                              "killed_in_an_earlier_run": sum(1 for k in sampled.get(module, ()) if k in carried
                                                              and data["exit_code_by_key"].get(k) == 1)}  # fmt: skip
    return per_module


def refresh_tests(tree: Path, modules: list[str], tests: list[str]) -> None:
    """Bring the tree's tests, its group's selection of them and its modules' source up to date with the
    worktree's (a new test may need a fix made to the code since; mutmut then makes that module's mutants
    anew, and `order` draws them anew)."""
    shutil.copytree(ROOT / "tests", tree / "tests", dirs_exist_ok=True)
    for pattern in modules:
        for src in ROOT.glob(pattern):
            if src.is_file():
                shutil.copy2(src, tree / src.relative_to(ROOT))
    config = tree / "pyproject.toml"
    lines = [f"pytest_add_cli_args_test_selection = {json.dumps(tests)}"
             if x.startswith("pytest_add_cli_args_test_selection") else x
             for x in config.read_text("utf-8").split("\n")]  # fmt: skip
    config.write_text("\n".join(lines), "utf-8")
    with (tree / "tests" / "conftest.py").open("a", encoding="utf-8") as fh:
        fh.write(FAST_HASH)
    # mutmut collects again which test reaches which function only for tests it has not seen: a test that now
    # reaches a function it did not would be left out. Its stats go, so that it collects them all again.
    (tree / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)


def run_group(name: str, work: Path, children: int, cap: int | None, rerun: bool, collect: bool) -> dict[str, Any]:
    modules, tests = GROUPS[name]
    tree = work / name
    if not tree.exists():
        copy_tree(tree)
        configure(tree, modules, tests)
    elif not collect:
        refresh_tests(tree, modules, tests)
    data = work / f"{name}-data"
    data.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PHARE_DATA_DIR": str(data), "PHARE_SHARED": os.getenv("PHARE_SHARED", str(ROOT.parent / "shared")),
           "PHARE_TEST_DB_NAME": str(data / "test.sqlite3")}  # fmt: skip
    env.pop("DATABASE_URL", None)  # SQLite: the score is about the guards, not the database
    mutmut = Path(sys.executable).with_name("mutmut")
    sampled = in_sample(order(tree, work, name, env), cap)
    codes = {k: c for data in metas(tree).values() for k, c in data["exit_code_by_key"].items()}
    if collect:  # a run stopped before its end (deadline): score what it checked, timed from start to last write
        log_path = work / f"{name}.log"
        per_module = scores(tree, sampled, fresh_codes(work, name))
        for module, m in per_module.items():
            m.update(group=name, tests=tests, exit_status=None, sample_cap=cap,
                     finished=all(codes.get(k) is not None for k in sampled[module]),
                     group_seconds=round(log_path.stat().st_mtime - float((work / f"{name}.started").read_text())))  # fmt: skip
        return per_module
    if rerun:  # the survivors and the mutants no test reached, against the current tests
        # An unchecked mutant runs even if judged already: a sample counts every mutant drawn.
        names = sorted(k for keys in sampled.values() for k in keys
                       if codes.get(k) is None or (codes.get(k) in (0, 33) and k not in EQUIVALENT and k not in LEFT))  # fmt: skip
    else:
        (work / f"{name}.started").write_text(str(time.time()))
        names = sorted(k for keys in sampled.values() for k in keys if codes.get(k) is None)
    started = time.monotonic()
    with (work / f"{name}.log").open("a", encoding="utf-8") as log:
        run = subprocess.run([str(mutmut), "run", "--max-children", str(children), *names], cwd=tree, env=env,
                             stdout=log, stderr=subprocess.STDOUT, text=True) if names else None  # fmt: skip
    codes = {k: c for data in metas(tree).values() for k, c in data["exit_code_by_key"].items()}
    fresh = fresh_check(tree, work, name, sorted(k for keys in sampled.values() for k in keys
                                                 if codes.get(k) in (0, 33) and k not in EQUIVALENT and k not in LEFT),
                        env)  # fmt: skip
    seconds = round(time.monotonic() - started)
    per_module = scores(tree, sampled, fresh)
    for m in per_module.values():
        m.update(group=name, tests=tests, exit_status=run.returncode if run else None, finished=True)
        m.update(
            {"rerun_seconds": seconds, "sample_cap": cap} if rerun else {"group_seconds": seconds, "sample_cap": cap}
        )
    return per_module


NOT_COUNTS = ("group_seconds", "rerun_seconds", "exit_status", "sample_cap", "finished")


def total_of(modules: dict[str, dict[str, Any]]) -> dict[str, Any]:
    total: Counter[str] = Counter()
    for m in modules.values():
        for k, v in m.items():
            if isinstance(v, int) and not isinstance(v, bool) and k not in NOT_COUNTS:
                total[k] += v
    equivalent = sum(len(m.get("equivalent", {})) for m in modules.values())
    caught = total["killed"] + total["timeout"]
    return {**dict(total), "equivalent": equivalent, "score": ratio(caught, total["checked"]),
            "score_without_equivalent": ratio(caught, total["checked"] - equivalent)}  # fmt: skip


def write(modules: dict[str, dict[str, Any]], groups_seconds: dict[str, int], version: str, children: int,
          load: list[float]) -> None:  # fmt: skip
    for m in modules.values():
        m["equivalent"] = {k: v for k, v in EQUIVALENT.items() if k in m["survivors"]}
        m["left"] = {k: v for k, v in LEFT.items() if k in m["survivors"]}
        # The usual reading: equivalent mutants out of the denominator (no test could ever kill them).
        caught = m.get("killed", 0) + m.get("timeout", 0)
        m["score_without_equivalent"] = ratio(caught, m["checked"] - len(m["equivalent"]))
    result = {"tool": f"mutmut {version}", "children": children, "cores": os.cpu_count(), "database": "sqlite",
              "target_score": 0.9, "load_average_at_start": load, "group_seconds": groups_seconds,
              "total": total_of(modules), "modules": dict(sorted(modules.items()))}  # fmt: skip
    RESULTS.write_text(json.dumps(result, indent=1) + "\n", "utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", nargs="*", default=list(GROUPS), choices=list(GROUPS))
    parser.add_argument("--children", type=int, default=1)
    parser.add_argument(
        "--sample",
        nargs="*",
        default=[],
        metavar="GROUP=N",
        help="check at most N mutants per module of GROUP, drawn at random (default: every mutant)",
    )
    parser.add_argument("--work", default=str(ROOT / "var" / "bench" / "mutation"))
    parser.add_argument("--rerun-survivors", action="store_true",
                        help="copy the current tests into each group's tree and check its survivors again")  # fmt: skip
    parser.add_argument("--collect", action="store_true", help="run nothing: score what each group's tree holds")
    args = parser.parse_args()
    work = Path(args.work).resolve()
    caps = {g: int(n) for g, n in (x.split("=") for x in args.sample)}
    load = [round(x, 1) for x in os.getloadavg()]
    work.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text("utf-8")) if RESULTS.exists() else {}
    modules: dict[str, dict[str, Any]] = previous.get("modules", {})
    groups_seconds: dict[str, int] = previous.get("group_seconds", {})
    version = importlib.metadata.version("mutmut")
    for name in args.groups:
        started = time.monotonic()
        found = run_group(name, work, args.children, caps.get(name), args.rerun_survivors, args.collect)
        groups_seconds[name + (" (survivors rerun)" if args.rerun_survivors else "")] = round(
            time.monotonic() - started
        )
        if args.rerun_survivors:  # the first run's wall time and sample stay with the figures they produced
            for module, m in found.items():
                old = modules.get(module, {})
                m.update({k: old[k] for k in ("group_seconds", "survivors_first_run") if k in old})
                m.setdefault("survivors_first_run", old.get("survivors", []))
        modules = {k: v for k, v in modules.items() if v.get("group") != name} | found
        for module, m in found.items():
            print(f"{module}: score {m['score']} ({m.get('killed', 0)} killed, {m.get('survived', 0)} survived, "
                  f"{m.get('timeout', 0)} timed out, {m.get('no_tests', 0)} without a covering test)", flush=True)  # fmt: skip
        write(modules, groups_seconds, version, args.children, load)
    write(modules, groups_seconds, version, args.children, load)  # reasons refreshed even when nothing ran
    print(json.dumps(total_of(modules)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
