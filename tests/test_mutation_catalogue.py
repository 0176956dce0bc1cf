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
