"""No file Phare writes for people to open in a spreadsheet carries a live formula: case exports from the pages and
from `phare export`, the rejected rows download, dashboard figure CSVs and report workbooks, de-identified releases
and `phare anonymize`. Each test switches the one neutraliser off (htcds.cells.formula_like) and shows the formula
it kept out. The writers themselves, with their round trips, are in tests/htcds/test_cells.py."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from htcds.sources import open_source
from phare.accounts.models import Role
from phare.dashboards import exports as figure_files
from phare.dashboards.figures import Cell, Figure, Row
from tests.htcds.test_cells import DDE, LINK, PHONE, live, live_csv_cells, switch_off, xlsx_formulas
from tests.test_cases_helpers import make_case

pytestmark = pytest.mark.django_db


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else bytes(response.content)


def _live_in_csv(body: bytes) -> list[str]:
    return [c for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for c in row if live(c)]


@pytest.fixture
def hostile(org: Any, make_user: Any) -> Any:
    """A supervisor whose organisation holds a case whose victim was registered with a formula for a name."""
    sup = make_user(Role.SUPERVISOR, org)
    make_case(sup, first=LINK, second=DDE, opened=date(2024, 1, 10), person={"prs_MobilePhone": PHONE})
    return sup


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_it_exports_cases_from_the_page_without_formulas(fmt: str, hostile: Any, client_for: Any, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    client = client_for(hostile)

    def formulas() -> list[str]:
        path = tmp_path / f"cases.{fmt}"
        path.write_bytes(_body(client.post("/data/export/", {"format": fmt})))
        return live_csv_cells(path) if fmt == "csv" else [f"={f}" for f in xlsx_formulas(path)]

    assert formulas() == []
    # The file imports back as it was exported: the name and phone are the person's, not neutralised text.
    [(_, _, bundle)] = list(open_source(tmp_path / f"cases.{fmt}"))
    person = bundle["persons"][0]
    assert (person["prs_FirstName"], person["prs_SecondName"], person["prs_MobilePhone"]) == (LINK, DDE, PHONE)
    switch_off(monkeypatch)
    assert LINK in formulas() and DDE in formulas()


def test_it_exports_cases_from_the_command_line_without_formulas(hostile: Any, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    out = tmp_path / "cases.csv"
    call_command("export", "csv", "--org", hostile.organisation.slug, "--out", str(out), stdout=io.StringIO())
    assert live_csv_cells(out) == [] and f"'{PHONE}" in out.read_text("utf-8")
    xlsx = tmp_path / "cases.xlsx"
    call_command("export", "xlsx", "--org", hostile.organisation.slug, "--out", str(xlsx), stdout=io.StringIO())
    assert xlsx_formulas(xlsx) == []
    switch_off(monkeypatch)
    call_command("export", "csv", "--org", hostile.organisation.slug, "--out", str(out), stdout=io.StringIO())
    call_command("export", "xlsx", "--org", hostile.organisation.slug, "--out", str(xlsx), stdout=io.StringIO())
    assert LINK in live_csv_cells(out) and LINK[1:] in xlsx_formulas(xlsx)


def _figure() -> Figure:
    return Figure(key="referrals", section="operations", title="=Referrals", kind="bar", columns=["@Cases"],
                  rows=[Row("x", LINK, [Cell(3, "3")]), Row("y", "-2+3", [Cell(None, "<5")]), Row("z", "Farm", [Cell(-4, "-4")])],
                  totals=[Cell(7, "7")], note="+note", summary=[("=Median", "-1+1")])  # fmt: skip


def test_it_writes_figure_csvs_without_formulas(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    body = figure_files.csv_bytes(_figure())
    assert _live_in_csv(body) == []
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[1][1] == "'" + LINK and rows[0][2] == "'@Cases" and rows[3][2] == "-4"  # a count stays a number
    switch_off(monkeypatch)
    assert {LINK, "-2+3", "@Cases"} <= set(_live_in_csv(figure_files.csv_bytes(_figure())))


def test_it_writes_report_workbooks_without_formulas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "report.xlsx"

    def write() -> list[str]:
        path.write_bytes(figure_files.xlsx_bytes("=Report", ["@subtitle"], [("=Cases", "+3")], [_figure()]))
        return xlsx_formulas(path)

    assert write() == []
    book = load_workbook(path)
    values = {c.value: c for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None}
    assert {LINK, "-2+3", "=Median", "=Report", "+3"} <= set(values)  # the text as it was, shown as text
    assert values[LINK].quotePrefix and values[LINK].data_type == "s" and values[-4].data_type == "n"
    switch_off(monkeypatch)
    assert {LINK[1:], "Median", "Report", "Cases"} <= set(write())


def test_it_writes_releases_and_anonymised_files_without_formulas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from phare.sharing.management.commands.risk import read_csv
    from phare.sharing.releases import write_rows

    rows = [{"gender": "Feminine", "ageBroad": "18--20", "note": LINK}, {"gender": "@x", "ageBroad": "-5", "note": "*"}]
    out = tmp_path / "release.csv"
    write_rows(out, rows)
    assert live_csv_cells(out) == []
    assert read_csv(out, ["note"]) == rows  # `phare risk` and `phare anonymize` read it back as it was
    source = tmp_path / "in.csv"
    write_rows(source, [{"gender": g, "note": LINK} for g in ["Feminine"] * 12])
    anonymised = tmp_path / "anon.csv"
    call_command("anonymize", str(source), "--qi", "gender", "--k", "11", "--out", str(anonymised), stdout=io.StringIO())
    assert live_csv_cells(anonymised) == [] and read_csv(anonymised, ["note"])[0]["note"] == LINK
    switch_off(monkeypatch)
    write_rows(out, rows)
    call_command("anonymize", str(source), "--qi", "gender", "--k", "11", "--out", str(anonymised), stdout=io.StringIO())
    assert {LINK, "@x"} <= set(live_csv_cells(out)) and LINK in live_csv_cells(anonymised)


def test_it_hands_out_rejected_rows_without_formulas(org: Any, make_user: Any, client_for: Any, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from django.core.files.uploadedfile import SimpleUploadedFile

    from phare.jobs import (
        handlers,  # noqa: F401  (registers the job kinds, as the worker does)
        queue,
    )
    from tests.fixtures.sources import big_template_rows
    from tests.fixtures.sources import write_csv as write_rows_csv

    client = client_for(make_user(Role.SUPERVISOR, org))

    def rejected() -> bytes:
        rows = list(big_template_rows(2))
        rows[2][rows[0].index("prs_FirstName")] = DDE
        rows[2][rows[0].index("prs_Gender")] = "=Femnine"  # rejected: not a gender
        path = write_rows_csv(tmp_path / "cases.csv", rows)
        upload = SimpleUploadedFile("cases.csv", path.read_bytes(), content_type="text/csv")
        r = client.post("/data/import/", {"file": upload, "mode": "skip-bad"})
        dry = int(r["Location"].rstrip("/").rsplit("/", 1)[1])
        queue.drain()
        real = int(client.post(f"/data/import/{dry}/confirm/")["Location"].rstrip("/").rsplit("/", 1)[1])
        queue.drain()
        return _body(client.get(f"/data/import/{real}/rejected-rows.csv", HTTP_ACCEPT_LANGUAGE="fr"))

    body = rejected()
    assert _live_in_csv(body) == [] and f"'{DDE}" in body.decode()
    switch_off(monkeypatch)
    assert {DDE, "=Femnine"} <= set(_live_in_csv(rejected()))
