"""The helpline's figures (/helpline/figures/, and on the dashboards page): contacts per day and channel, answer
outcomes, indicators and contacts that became cases, of the reader's organisation only; small numbers hidden
when the figures are for sharing, as on the dashboards; CSV downloads through htcds.cells (no formulas); only
the roles that read aggregates. Each protection has its negative control."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from htcds import cells
from phare.accounts.models import Role
from phare.helplines import actions
from phare.helplines import figures as helpline_figures
from tests.helpline_helpers import call
from tests.work_helpers import client, team

pytestmark = pytest.mark.django_db


def _at(days_ago: int) -> datetime:
    day = timezone.localdate() - timedelta(days=days_ago)
    return datetime.combine(day, time(10, 30), timezone.get_current_timezone())


@pytest.fixture
def a() -> dict[str, Any]:
    people = team("fig-a")
    op = people[Role.HELPLINE]
    first = call(op, started_at=_at(0), indicators=["WithholdsDocuments", "DebtBondage"])
    call(op, started_at=_at(0), outcome="information")
    call(op, started_at=_at(0), indicators=[])
    call(op, channel="sms", started_at=_at(1))
    call(op, channel="web", started_at=_at(0), outcome="no_action")
    call(op, started_at=_at(40))  # before the default period
    actions.open_case_from_contact(op, first)
    b = team("fig-b")
    for _i in range(4):
        call(b[Role.HELPLINE], channel="walk_in", started_at=_at(0))  # another organisation: never counted
    return people


def _csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def _rows(fig: Any) -> dict[str, list[int | None]]:
    return {r.code: [c.value for c in r.cells] for r in fig.rows}


def test_it_counts_the_organisations_contacts_by_day_channel_outcome_and_case(a: dict[str, Any]) -> None:
    figs = {f.key: f for f in helpline_figures.figures(a[Role.ANALYST], helpline_figures.Period.default())}
    today, yesterday = (str(timezone.localdate() - timedelta(days=n)) for n in (0, 1))
    per_day = figs["contacts-per-day"]
    assert per_day.columns == ["Phone call", "SMS", "Web form"]
    assert _rows(per_day)[today] == [3, 0, 1] and _rows(per_day)[yesterday] == [0, 1, 0]
    assert len(per_day.rows) == helpline_figures.DEFAULT_DAYS
    assert _rows(figs["contacts-channel"])["walk_in"] == [0]
    outcomes = _rows(figs["contacts-outcome"])
    assert (outcomes["case_opened"], outcomes["information"], outcomes["no_action"], outcomes["triage"]) == (
        [1], [1], [1], [2])  # fmt: skip
    assert figs["contacts-outcome"].totals is not None and figs["contacts-outcome"].totals[0].value == 5
    assert _rows(figs["contacts-indicators"])["DebtBondage"] == [1]
    assert _rows(figs["contacts-to-cases"]) == {"case": [1], "no_case": [4]}
    page = client(a[Role.ANALYST]).get("/helpline/figures/")
    assert page.status_code == 200 and b"Contacts per day and channel" in page.content


def test_it_hides_small_numbers_when_the_figures_are_shared(a: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    a["org"].k_threshold = 3
    a["org"].save()
    c = client(a[Role.SUPERVISOR])
    own = dict((row[1], row[2]) for row in _csv(c.get("/helpline/figures/contacts-channel.csv").content)[1:])
    assert (own["Phone call"], own["SMS"], own["Web form"], own["Total"]) == ("3", "1", "1", "5")
    shared = c.get("/helpline/figures/contacts-channel.csv?external=on")
    rows = dict((row[1], row[2]) for row in _csv(shared.content)[1:])
    assert (rows["Phone call"], rows["SMS"], rows["Web form"], rows["Walk-in"], rows["Total"]) == (
        "3", "<3", "<3", "0", "5")  # fmt: skip
    page = c.get("/helpline/figures/?external=on")
    assert "Numbers below 3 are hidden" in page.content.decode()
    # Negative control: without the suppression the shared file gives the small numbers away.
    monkeypatch.setattr(helpline_figures, "suppress_column", lambda values, total, k: (list(values), total))
    rows = dict(
        (row[1], row[2]) for row in _csv(c.get("/helpline/figures/contacts-channel.csv?external=on").content)[1:]
    )
    assert rows["SMS"] == "1"


def test_it_writes_no_formula_into_the_csv(a: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(actions, "indicator_choices", lambda: [("DebtBondage", '=HYPERLINK("https://x.example")')])
    c = client(a[Role.SUPERVISOR])
    response = c.get("/helpline/figures/contacts-indicators.csv")
    assert response["Content-Disposition"].startswith('attachment; filename="phare-contacts-indicators-')
    table = _csv(response.content)
    assert ["DebtBondage", '\'=HYPERLINK("https://x.example")', "1"] in table
    assert not any(cell[:1] in cells.TRIGGERS for row in table for cell in row)  # no cell starts a formula
    # Negative control: without htcds.cells the label would open as a formula.
    monkeypatch.setattr(cells, "csv_row", lambda row: ["" if v is None else v for v in row])
    table = _csv(c.get("/helpline/figures/contacts-indicators.csv").content)
    assert any(cell[:1] in cells.TRIGGERS for row in table for cell in row)


def test_it_shows_the_helpline_on_the_dashboards_page(a: dict[str, Any]) -> None:
    page = client(a[Role.SUPERVISOR]).get("/dashboards/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="s-helpline"' in text and "Answer outcomes" in text and "/helpline/figures/contacts-outcome.csv?" in text


@pytest.mark.parametrize("role", [Role.HELPLINE, Role.CASE_WORKER])
def test_it_refuses_roles_that_read_no_aggregates(a: dict[str, Any], role: str) -> None:
    c = client(a[role])
    assert c.get("/helpline/figures/").status_code == 403
    assert c.get("/helpline/figures/contacts-channel.csv").status_code == 403
    assert client(a[Role.AUDITOR]).get("/helpline/figures/contacts-channel.csv").status_code == 200  # the control


def test_it_refuses_an_unknown_figure_and_a_backwards_period(a: dict[str, Any]) -> None:
    c = client(a[Role.ANALYST])
    assert c.get("/helpline/figures/no-such-figure.csv").status_code == 404
    page = c.get("/helpline/figures/?start=2026-03-10&end=2026-03-01")
    assert page.status_code == 200 and b"The end of the period is before its start." in page.content
