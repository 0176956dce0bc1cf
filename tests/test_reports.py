"""Monthly and quarterly reports: PDF and XLSX, in the organisation's language, suppressed when external."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.cache import cache
from django.test import Client
from openpyxl import load_workbook

from phare.accounts.models import Role
from phare.dashboards.views import period_bounds, report_content
from tests.test_cases_helpers import make_case, make_org, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


def _org_with_cases(n: int = 3, language: str = "en") -> tuple[object, object]:
    org = make_org("alpha")
    org.language = language
    org.save()
    worker = make_user(org, Role.CASE_WORKER)
    for i in range(n):
        make_case(worker, first=f"P{i}", opened=date(2024, 2, 1 + i),
                  context={"vic_TypeOfExploitation": ["ForcedLabour"], "vic_TraffickingStatus": "ActualVictimOfTrafficking"})  # fmt: skip
    return org, make_user(org, Role.ANALYST)


def test_it_bounds_months_and_quarters() -> None:
    assert period_bounds("month", 2024, 2) == (date(2024, 2, 1), date(2024, 2, 29))
    assert period_bounds("quarter", 2024, 4) == (date(2024, 10, 1), date(2024, 12, 31))


def test_it_writes_a_pdf_report() -> None:
    _org, analyst = _org_with_cases()
    body, name = report_content(analyst, "month", 2024, 2, "pdf", external=False)
    assert body[:5] == b"%PDF-" and name == "phare-report-alpha-2024-02.pdf"
    assert len(body) > 10_000


def test_it_writes_an_xlsx_report_with_a_sheet_per_section_and_charts() -> None:
    _org, analyst = _org_with_cases()
    body, _name = report_content(analyst, "quarter", 2024, 1, "xlsx", external=False)
    wb = load_workbook(io.BytesIO(body))
    assert wb.sheetnames == ["Summary", "Operations", "People assisted", "Charts"]
    assert len(wb["Charts"]._charts) >= 10
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r and len(r) > 1}
    assert summary["People assisted"] == "3" and summary["Cases"] == "3"
    ops = [r for r in wb["Operations"].iter_rows(values_only=True)]
    assert ("Active", 3) in [(r[0], r[1]) for r in ops]


def test_it_hides_small_numbers_in_a_report_for_external_sharing() -> None:
    _org, analyst = _org_with_cases()
    body, _name = report_content(analyst, "quarter", 2024, 1, "xlsx", external=True)
    wb = load_workbook(io.BytesIO(body))
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r and len(r) > 1}
    assert summary["People assisted"] == "<11"
    values = [c for row in wb["People assisted"].iter_rows(values_only=True) for c in row[1:] if c is not None]
    assert 3 not in values and "<11" in values


def test_it_writes_the_report_in_the_organisations_language() -> None:
    _org, analyst = _org_with_cases(language="fr")
    analyst.language = "en"  # type: ignore[attr-defined]
    body, _name = report_content(analyst, "month", 2024, 2, "xlsx", external=False)
    wb = load_workbook(io.BytesIO(body))
    title = wb.worksheets[0]["A1"].value
    assert "2024" in title and "février" in title.lower() and "February" not in title


def test_it_serves_reports_over_http_in_both_formats() -> None:
    _org, analyst = _org_with_cases()
    cl = Client()
    cl.force_login(analyst)  # type: ignore[arg-type]
    page = cl.get("/dashboards/report/")
    assert page.status_code == 200 and b"<form" in page.content
    r = cl.get("/dashboards/report/?period=month&year=2024&number=2&format=pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content[:4] == b"%PDF"
    r = cl.get("/dashboards/report/?period=quarter&year=2024&number=1&format=xlsx&external=on")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    bad = cl.get("/dashboards/report/?period=quarter&year=2024&number=7&format=pdf")
    assert bad.status_code == 200 and b"numbered 1 to 4" in bad.content


def test_it_writes_dates_and_counts_for_the_reader_and_keeps_counts_numbers() -> None:
    _org, analyst = _org_with_cases(language="fr")
    body, _name = report_content(analyst, "month", 2024, 2, "xlsx", external=False)
    wb = load_workbook(io.BytesIO(body))
    cover = [r[0] for r in wb.worksheets[0].iter_rows(values_only=True) if r and r[0]]
    # the period in words in the reader's language, never 02/01/2024 (which is January 2 to an American)
    assert any("1 février 2024" in str(line) and "29 février 2024" in str(line) for line in cover), cover
    counts = [c for ws in wb.worksheets[1:] for row in ws.iter_rows() for c in row[1:] if isinstance(c.value, int)]
    assert counts and all(c.number_format == "#,##0" for c in counts)
