"""Generated XLSForm (converted by pyxform) and blank template with validation lists."""

from __future__ import annotations

from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from htcds.sources import TemplateSource, open_source
from htcds.sources.layout import TEMPLATE_FIELDS
from htcds.sources.xlsform import write_blank_template, write_xlsform, xlsform_sheets


@pytest.mark.parametrize("extended", [False, True])
def test_it_generates_an_xlsform_that_pyxform_converts(tmp_path: Path, extended: bool) -> None:
    from pyxform.xls2xform import convert

    path = write_xlsform(tmp_path / "form.xlsx", extended=extended)
    warnings: list[str] = []
    result = convert(xlsform=str(path), warnings=warnings)
    assert "<h:title>HTCDS 2.0 case</h:title>" in result.xform
    assert "/grp_person/prs_FirstName" in result.xform and "htcds_case" in result.xform
    assert warnings == []


def test_it_puts_every_core_field_in_the_form() -> None:
    from htcds.catalogue import load

    names = {r[1] for r in xlsform_sheets()["survey"]}
    core = {f.name for f in load().fields if f.core and f.status != "DEPRECATED"}
    assert core <= names


def test_it_generates_a_blank_template_in_the_official_layout(tmp_path: Path) -> None:
    path = write_blank_template(tmp_path / "blank.xlsx")
    wb = CalamineWorkbook.from_path(str(path))
    assert wb.sheet_names == ["Case Sheet", "validation", "about"]
    rows = wb.get_sheet_by_name("Case Sheet").to_python()
    assert tuple(rows[0]) == TEMPLATE_FIELDS
    assert rows[1][0] == "Case Owner"
    validation = wb.get_sheet_by_name("validation").to_python()
    methods = [r[validation[0].index("vic_MethodsOfControl")] for r in validation[1:]]
    assert "Debt bondage" in methods  # labels, without the official list's stray space
    about = [r[0] for r in wb.get_sheet_by_name("about").to_python()]
    assert "vic_MethodsOfControl (Methods of Control)" in about
    source = open_source(path)
    assert isinstance(source, TemplateSource) and list(source) == [] and source.problems == []
