"""The mutation catalogue stays in step with the code: a guard that moves without its entry is found by the
suite, not only by the mutation run at the end of CI."""

from __future__ import annotations

from pathlib import Path

from tests.mutants.catalogue import CATALOGUE

ROOT = Path(__file__).resolve().parent.parent


def test_it_finds_each_guard_of_the_catalogue_exactly_once() -> None:
    stale = [m["id"] for m in CATALOGUE if (ROOT / m["file"]).read_text(encoding="utf-8").count(m["find"]) != 1]
    assert stale == []


def test_it_names_each_mutant_once_and_only_tests_that_exist() -> None:
    ids = [m["id"] for m in CATALOGUE]
    assert len(ids) == len(set(ids))
    missing = {t.split("::")[0] for m in CATALOGUE for t in m["tests"] if not (ROOT / t.split("::")[0]).exists()}
    assert missing == set()


def test_it_counts_only_a_failing_test_as_a_kill() -> None:
    """A mutant run whose only trouble is a test that cannot start (a fixture of a plugin the run leaves out) is
    reported broken, never killed: the kill must be a test of the guard failing."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("phare_mutants", ROOT / "scripts" / "mutants.py")
    assert spec is not None and spec.loader is not None
    mutants = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mutants)
    failed = ["FAILED tests/test_export_page.py::test_it_exports_no_other_organisations_case - assert 2 == 1",
              "1 failed in 3.10s"]  # fmt: skip
    errored = ["E       fixture 'anyio_backend' not found", "1 error in 0.52s"]
    assert mutants.outcome_of(1, failed) == "killed"
    assert mutants.outcome_of(1, errored) == "broken"
    assert mutants.outcome_of(0, ["1 passed in 1.00s"]) == "survived"
    assert mutants.outcome_of(2, ["Interrupted: 1 error during collection"]) == "broken"
