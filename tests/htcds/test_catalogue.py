"""The catalogue must say exactly what IOM's field standard spreadsheet says."""

from __future__ import annotations

from pathlib import Path

from python_calamine import CalamineWorkbook

from htcds import codelists
from htcds.catalogue import Kind, load

SPREADSHEET_KIND = {
    "Text": {Kind.TEXT, Kind.CHOICE},  # country-coded text fields become choices over ISO codes
    "Long Text": {Kind.LONG_TEXT},
    "Date": {Kind.DATE},
    "Number": {Kind.NUMBER, Kind.INTEGER, Kind.LATITUDE, Kind.LONGITUDE},
    "Checkbox": {Kind.BOOLEAN},
    "Picklist": {Kind.CHOICE},
    "Multiselect Picklist": {Kind.MULTI_CHOICE},
    "Picklist or Text": {Kind.TEXT, Kind.CHOICE},
    "Geolocation": {Kind.LATITUDE, Kind.LONGITUDE},
    "Lookup [to organisation]": {Kind.LOOKUP},
    "Lookup [to user]": {Kind.LOOKUP},
    "Lookup [to person]": {Kind.LOOKUP},
    "": {Kind.LOOKUP},
}


def read_spreadsheet(shared: Path) -> list[dict[str, str]]:
    wb = CalamineWorkbook.from_path(str(shared / "htcds" / "HTCDS Field Standards 2.0.ods"))
    rows = wb.get_sheet_by_name("Field_Standards").to_python()
    header = [str(h) for h in rows[0]]
    out = []
    for raw in rows[1:]:
        row = dict(zip(header, (str(c) for c in raw), strict=False))
        if row["Field Name Prefix"] and row["Field Name Prefix"] != "N/A":
            out.append(row)
    return out


def test_it_has_every_field_of_the_spreadsheet_and_no_other_standard_field(shared: Path) -> None:
    rows = read_spreadsheet(shared)
    sheet_names = {r["Field Name including Prefix"] or r["Field Name Prefix"] + r["Field Name"] for r in rows}
    standard = {f.name for f in load().fields if f.standard}
    assert sheet_names == standard
    assert len(standard) == 84


def test_it_agrees_on_type_core_status_label_and_value_names(shared: Path) -> None:
    cat = load()
    mismatches = []
    for r in read_spreadsheet(shared):
        name = r["Field Name including Prefix"] or r["Field Name Prefix"] + r["Field Name"]
        f = cat[name]
        if f.kind not in SPREADSHEET_KIND[r["Field Type"]]:
            mismatches.append((name, "type", r["Field Type"], f.kind))
        if f.htcds_type != r["Field Type"]:
            mismatches.append((name, "htcds_type", r["Field Type"], f.htcds_type))
        if f.core != (r["Core"] == "Core"):
            mismatches.append((name, "core", r["Core"], f.core))
        if f.status != r["Status"]:
            mismatches.append((name, "status", r["Status"], f.status))
        if r["Field Label"] and f.label != r["Field Label"].strip():
            mismatches.append((name, "label", r["Field Label"], f.label))
        sheet_values = [v.strip() for v in r["Value Names (if picklist)"].split("\n") if v.strip()]
        if sheet_values and not sheet_values[0].startswith("Use ISO"):
            if list(f.choice_names) != sheet_values:
                mismatches.append((name, "values", sheet_values, f.choice_names))
            sheet_labels = [v.strip() for v in r["Value Labels (if picklist)"].split("\n") if v.strip()]
            if [c.label for c in f.choices] != sheet_labels:
                mismatches.append((name, "labels", sheet_labels, [c.label for c in f.choices]))
        elif sheet_values:
            assert f.codelist in {"country", "language"}, name
    assert mismatches == []


def test_it_keeps_the_standards_own_spelling_of_value_names() -> None:
    cat = load()
    # The standard spells these so; an importer must accept them as they are.
    assert "Unaquainted" in cat["vic_RelationshipToTrafficker"].choice_names
    assert "DebtBondage" in cat["vic_MethodsOfControl"].choice_names  # stored without the sheet's trailing space


def test_it_marks_phare_extensions_as_not_standard() -> None:
    cat = load()
    for name in ("cas_OpenedDate", "con_Purpose", "prs_MigrationStatus", "vic_ForcedLabourIndustryTier2"):
        assert not cat[name].standard
        assert cat[name].status == "PHARE"


def test_it_ships_the_standards_example_questions_as_default_assessment() -> None:
    questions = load().questions
    assert [q.level for q in questions].count("Individual") == 3
    assert [q.level for q in questions].count("Household") == 3
    assert [q.level for q in questions].count("Community") == 3
    assert len({q.code for q in questions}) == 9
    assert any("sexual orientation" in q.text for q in questions)


def test_it_subdivides_isic_sections_into_tiers_with_parents_that_exist() -> None:
    cat = load()
    tier1 = set(cat["vic_ForcedLabourIndustry"].choice_names)
    tier2 = {c.name: c.group for c in cat["vic_ForcedLabourIndustryTier2"].choices}
    tier3 = {c.name: c.group for c in cat["vic_ForcedLabourIndustryTier3"].choices}
    assert set(tier2.values()) <= tier1
    assert set(tier3.values()) <= set(tier2)
    assert "C10_ManufactureOfFoodProducts" in tier2
    assert len([n for n in tier2 if n.startswith("C")]) == 24
    assert len(tier3) == 8


def test_it_reads_isic_tier2_labels_from_the_field_definitions(shared: Path) -> None:
    text = (shared / "htcds" / "docs" / "Field Definitions.md").read_text(encoding="utf-8")
    tier2 = text.split("## Labour Subdivisions (TIER 2)")[1].split("## Labour Subdivisions (TIER 3)")[0]
    labels = [line.split("|")[1].strip() for line in tier2.splitlines() if line.strip().startswith("|")]
    labels = [lab for lab in labels if lab and lab != "Field Label" and not lab.startswith("-")]
    ours = [c.label.lower().replace("&", "and") for c in codelists.ISIC_TIER2]
    for label in labels:
        folded = label.lower().replace("&", "and")
        assert any(folded[:25] in o for o in ours), label


def test_it_lists_the_migration_classes_of_guidance_7(shared: Path) -> None:
    text = (shared / "htcds" / "docs" / "Guidance" / "7. Migration and International Protection.md").read_text(encoding="utf-8")
    rows = [line.split("|")[1].strip() for line in text.splitlines() if line.strip().startswith("|")]
    values = [v for v in rows if v and v != "Value" and not v.startswith("-")]
    assert len(values) == len(codelists.MIGRATION_STATUS) == 18


def test_it_normalises_countries_from_codes_and_names() -> None:
    assert codelists.normalise_country("ng") == "NG"
    assert codelists.normalise_country("NGA") == "NG"
    assert codelists.normalise_country("Nigeria") == "NG"
    assert codelists.normalise_country("Côte d'Ivoire") == "CI"
    assert codelists.normalise_country("Vietnam") == "VN"
    assert codelists.normalise_country("Atlantis") is None


def test_it_normalises_languages_and_phones() -> None:
    assert codelists.normalise_language("fr") == "fra"
    assert codelists.normalise_language("fre") == "fra"
    assert codelists.normalise_language("French") == "fra"
    assert codelists.normalise_phone("0803 123 4567", "NG") == "+2348031234567"
    assert codelists.normalise_phone("+44 20 7946 0958") == "+442079460958"
    assert codelists.normalise_phone("12") is None
