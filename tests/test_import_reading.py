"""An import reads its file in a second process while it writes (phare/imports/reading.py): same report and same
rows as reading in-process, a reader failure stops the import, and the reader does not outlive its importer."""

from __future__ import annotations

import io
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.fixtures.sources import big_template_rows, write_csv


@pytest.fixture
def org(db: Any) -> Any:
    from phare.accounts.models import Organisation, User

    o = Organisation.objects.create(org_Name="Test NGO", slug="test-ngo")
    User.objects.create_user("admin1", password="x-long-password-1", organisation=o, role="admin")
    return o


@pytest.fixture
def reader_pids(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: Any) -> Path:
    """Every file counts as big enough for a reader process; the pid that read each file is written down."""
    from phare.imports import reading

    settings.PHARE_IMPORT_READER_PROCESS = True
    settings.PHARE_IMPORT_READER_MIN_BYTES = 0
    log = tmp_path / "reader-pids"
    prepare = reading.prepare

    def logged(*args: Any, **kwargs: Any) -> Any:
        with log.open("a") as fh:
            fh.write(f"{os.getpid()}\n")
        return prepare(*args, **kwargs)

    monkeypatch.setattr(reading, "prepare", logged)
    return log


def _file(tmp_path: Path, n: int) -> Path:
    rows = list(big_template_rows(n))
    rows[4][rows[0].index("prs_Gender")] = "Femnine!"  # a rejected row
    rows.append(list(rows[5]))  # a repeated source id: a file-level warning
    return write_csv(tmp_path / "cases.csv", rows)


def _run(path: Path, *args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("import", str(path), "--org", "test-ngo", "--json", *args, stdout=out)
    return dict(json.loads(out.getvalue()))


def test_it_reads_in_another_process_and_reports_what_reading_here_reports(
    org: Any, tmp_path: Path, reader_pids: Path
) -> None:
    from phare.cases.actions import index_rows
    from phare.cases.models import Person, PersonIndex

    path = _file(tmp_path, 60)
    here = _run(path, "--dry-run")
    # A dry run reads here: it writes nothing for a reader to overlap with, nor seals anyone's fields in advance.
    assert {int(p) for p in reader_pids.read_text().split()} == {os.getpid()}
    there = _run(path, "--mode", "skip-bad")
    pids = {int(p) for p in reader_pids.read_text().split()}
    assert os.getpid() in pids and len(pids) == 2  # the import itself read in a child
    assert {**there, "dry_run": True} == here
    assert here["rejected"] == 1 and any(p["code"] == "duplicate-key" for p in here["rows"][-1]["problems"])
    # The index rows the reader computed are the ones the single-record verbs compute.
    for person in Person.objects.all():
        stored = sorted(PersonIndex.objects.filter(person=person).values_list("kind", "digest"))
        assert stored == sorted((r.kind, r.digest) for r in index_rows(person))


def test_it_stops_the_import_when_the_reader_fails(org: Any, tmp_path: Path, reader_pids: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from phare.cases.models import Case
    from phare.imports import reading

    prepare = reading.prepare

    def broken(*args: Any, **kwargs: Any) -> Any:
        for n, item in enumerate(prepare(*args, **kwargs)):
            if n == 20:
                raise OSError("disk gone")
            yield item

    monkeypatch.setattr(reading, "prepare", broken)
    with pytest.raises(reading.ReadError, match="OSError: disk gone"):
        _run(_file(tmp_path, 40), "--mode", "skip-bad")
    assert Case.objects.count() == 0


def _forged_export(tmp_path: Path, forge: Any) -> Path:
    """Three cases imported and exported as JSON, each bundle then changed by `forge` and given a new source id."""
    _run(write_csv(tmp_path / "three.csv", list(big_template_rows(3))))
    out = tmp_path / "out.json"
    call_command("export", "json", "--org", "test-ngo", "--out", str(out), stdout=io.StringIO())
    data = json.loads(out.read_text("utf-8"))
    for i, b in enumerate(data["bundles"]):
        b["case"]["id"] = f"F{i}"
        forge(b)
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(data), "utf-8")
    return path


@pytest.mark.parametrize("in_child", [False, True])
def test_it_refuses_index_rows_a_file_brings_along(org: Any, tmp_path: Path, reader_pids: Path, settings: Any,
                                                   in_child: bool) -> None:  # fmt: skip
    """Only the reader says what a person's blind-index rows are: a file that names them is rejected."""
    from phare.cases.models import PersonIndex

    settings.PHARE_IMPORT_READER_PROCESS = in_child

    def forge(b: dict[str, Any]) -> None:
        b["persons"][0]["_index"] = [["name", "0" * 32]]

    report = _run(_forged_export(tmp_path, forge), "--mode", "skip-bad")
    assert (report["created"], report["rejected"]) == (0, 3)
    assert {(p["code"], p["field"]) for r in report["rows"] for p in r["problems"]} == {("unknown-field", "_index")}
    assert not PersonIndex.objects.filter(digest="0" * 32).exists()


@pytest.mark.parametrize("in_child", [False, True])
def test_it_refuses_field_values_a_file_brings_along_as_if_computed_by_the_reader(
    org: Any, tmp_path: Path, reader_pids: Path, settings: Any, in_child: bool
) -> None:
    """Only the reader computes a record's values for the writer (phare.cases.bundles.VALUES): a file that brings
    them along, to slip a field past its checks, is rejected and writes nothing it names."""
    from phare.cases.models import Case, Person

    settings.PHARE_IMPORT_READER_PROCESS = in_child

    def forge(b: dict[str, Any]) -> None:
        b["case"]["_values"] = {"cas_Status": "Closed", "number": "FORGED-1"}
        b["persons"][0]["_values"] = {"prs_FirstName": "Forged"}

    report = _run(_forged_export(tmp_path, forge), "--mode", "skip-bad")
    assert (report["created"], report["rejected"]) == (0, 3)
    assert {(p["code"], p["field"]) for r in report["rows"] for p in r["problems"]} == {("unknown-field", "_values")}
    assert not Case.objects.filter(number="FORGED-1").exists()
    assert "Forged" not in {p.prs_FirstName for p in Person.objects.all()}


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_it_stops_the_reader_once_the_importer_is_killed(tmp_path: Path, settings: Any) -> None:
    from htcds.sources import open_source
    from phare.imports import reading

    path = write_csv(tmp_path / "big.csv", list(big_template_rows(3000)))
    r, w = os.pipe()
    importer = os.fork()
    if importer == 0:  # the importer: starts its reader, takes one row, then hangs until killed
        try:
            keys = reading.Keys(lambda kind, value: "0" * 32, (1, os.urandom(32)))
            rows = reading.rows(open_source(path), keys, ())
            next(rows)
            os.write(w, b"1")
            time.sleep(120)
        finally:
            os._exit(0)
    os.close(w)
    assert os.read(r, 1) == b"1"
    children = Path(f"/proc/{importer}/task/{importer}/children").read_text().split()
    assert len(children) == 1
    reader = int(children[0])
    assert _state(reader) not in ("gone", "Z")
    os.kill(importer, signal.SIGKILL)
    os.waitpid(importer, 0)
    deadline = time.monotonic() + 10
    while _state(reader) not in ("gone", "Z") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _state(reader) in ("gone", "Z"), "the reader outlived its importer"
