"""Generated XLSForm (converted by pyxform) and blank template with validation lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


@pytest.mark.parametrize("extended", [False, True])
def test_it_imports_what_kobotoolbox_exports_from_the_generated_form(tmp_path: Path, extended: bool) -> None:
    """Submissions to the generated XLSForm as KoBoToolbox exports them (group paths, select_multiple as
    space-separated names, true/false, _uuid) read back with every value the form collected."""
    import csv

    from htcds.catalogue import Kind, load
    from htcds.generate import generate_bundles
    from htcds.sources import checked_rows
    from htcds.sources.export import flatten_bundle
    from htcds.validation import errors

    fields: list[tuple[str, str]] = []
    group = ""
    for kind, name, *_ in xlsform_sheets(extended)["survey"][1:]:
        if kind in ("begin_group", "end_group"):
            group = name if kind == "begin_group" else ""
        elif kind not in ("start", "end"):
            fields.append((f"{group}/{name}" if group else name, name))
    cat = load()
    # Values for the fields the generated cases leave empty; lookups are matched by hand after an import, and an
    # industry's tiers 2 and 3 depend on its tier 1 (the form filters their choices by it).
    extra = {"prs_Salutation": "Ms", "prs_Title": "Dr", "prs_MiddleName": "Ada", "prs_HomePhone": "+442079460000",
             "prs_IdentityNumber": "A1234567", "prs_MailingStreet": "1 Example Street", "prs_MailingCity": "Lagos",
             "prs_MailingState": "Lagos State", "prs_MailingPostalCode": "100001", "prs_MailingCountry": "NG",
             "prs_MailingLatitude": 6.45, "prs_MailingLongitude": 3.38, "prs_Deceased": False,
             "prs_SecondaryLanguage": "yor",
             "vic_ExploitationWebsitesAndApps": [c.name for c in cat["vic_ExploitationWebsitesAndApps"].choices[:2]],
             "cas_IncomingReferralDetails": "Met at the bus station.", "cas_OutgoingReferralDetails": "Needs a lawyer.",
             "con_ExpiryDate": "2030-12-31"}  # a Phare extension of the consent (the extended form asks it)
    sent = [{name: flat[name] for _, name in fields if flat.get(name) is not None}
            for flat in ({**extra, **flatten_bundle(b)} for b in generate_bundles(60, seed=3))]  # fmt: skip
    not_sent = {name for _, name in fields} - set().union(*sent)
    assert not_sent <= {name for _, name in fields if cat[name].kind is Kind.LOOKUP or "Tier" in name}

    def cell(value: Any) -> Any:
        return " ".join(value) if isinstance(value, list) else str(value).lower() if isinstance(value, bool) else value

    path = tmp_path / "kobo.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([p for p, _ in fields] + ["_uuid", "_submission_time"])
        for i, values in enumerate(sent):
            writer.writerow([cell(values.get(name, "")) for _, name in fields] + [f"uuid-{i}", "2024-01-01T10:00:00"])
    source = open_source(path)
    read = list(checked_rows(source))
    assert source.kind == "form-export" and len(read) == len(sent)
    for (_, key, bundle, problems), values in zip(read, sent, strict=True):
        assert not errors(problems) and key.startswith("uuid-")
        got = flatten_bundle(bundle)
        assert {name: got.get(name) for name in values} == values
