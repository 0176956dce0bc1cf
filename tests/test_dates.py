"""Dates as the reader reads them: the case page, the case list, the new-case page and home say "March 4, 2026",
"4 mars 2026", "4 مارس، 2026", never the raw 2026-03-04 (kept only in <time datetime>); inputs stay ISO; a time
ending in "a.m." never takes a second full stop."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from phare.accounts.models import Role, User
from phare.cases import actions
from phare.cases.models import Case
from phare.core.locale import one_stop, shown_day
from phare.core.templatetags.dates import day, moment
from phare.dashboards.models import DashboardSnapshot
from tests.test_cases_helpers import make_case, make_org, make_user

pytestmark = pytest.mark.django_db

OPENED = date(2026, 3, 4)
DUE = date(2031, 9, 14)
# Django's locale formats (DATE_FORMAT), with the month in words in every language.
SHOWN = {
    "en": ("March 4, 2026", "Sept. 14, 2031", "April 2, 1999"),
    "fr": ("4 mars 2026", "14 septembre 2031", "2 avril 1999"),
    "ar": ("4 مارس، 2026", "14 سبتمبر، 2031", "2 إبريل، 1999"),
}


def _reader(lang: str) -> User:
    worker = make_user(make_org(f"dates-{lang}"))
    worker.language = lang
    worker.save(update_fields=["language"])
    return worker


def _client(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _case(worker: User) -> Case:
    case = make_case(worker, opened=OPENED)  # born 1999-04-02
    actions.set_follow_up(worker, case, DUE)
    return case


@pytest.mark.parametrize("lang", ["en", "fr", "ar"])
def test_it_shows_the_case_pages_dates_in_the_readers_language(lang: str) -> None:
    worker = _reader(lang)
    case = _case(worker)
    html = _client(worker).get(f"/cases/{case.number}/").content.decode()
    opened, due, born = SHOWN[lang]
    assert f'<time datetime="2026-03-04">{opened}</time>' in html
    assert f'<time datetime="2031-09-14">{due}</time>' in html
    assert born in html  # the person's birth date among their fields
    for iso in ("2026-03-04", "2031-09-14", "1999-04-02"):
        assert f">{iso}<" not in html and f" {iso}" not in html, iso


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_it_shows_the_case_lists_dates_in_the_readers_language(lang: str) -> None:
    worker = _reader(lang)
    _case(worker)
    html = _client(worker).get("/cases/").content.decode()
    opened, due, _born = SHOWN[lang]
    assert f'<time datetime="2026-03-04">{opened}</time>' in html and f">{due}</time>" in html
    assert ">2026-03-04<" not in html


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_it_shows_home_and_the_new_case_pages_dates_in_the_readers_language(lang: str) -> None:
    worker = _reader(lang)
    _case(worker)
    cl = _client(worker)
    opened, _due, born = SHOWN[lang]
    soon = date.today() + timedelta(days=2)  # home lists what is due within a week
    actions.set_follow_up(worker, make_case(worker), soon)
    home = cl.get("/").content.decode()
    with translation.override(lang):
        assert f'<time datetime="{soon.isoformat()}">{shown_day(soon)}</time>' in home
    assert f">{opened}</time>" in home and ">2026-03-04<" not in home
    page = cl.get("/cases/new/", {"prs_FirstName": "amaka", "prs_SecondName": "OBI"}).content.decode()
    assert f'<time datetime="1999-04-02">{born}</time>' in page and ">1999-04-02<" not in page
    assert 'type="date"' in page  # what is typed stays an ISO date input


def test_it_formats_dates_and_times_with_the_active_language() -> None:
    at = datetime(2026, 3, 4, 9, 5, tzinfo=UTC)
    with translation.override("fr"):
        assert shown_day(OPENED) == "4 mars 2026"
        assert str(moment(at)) == '<time datetime="2026-03-04T09:05+00:00">4 mars 2026 09:05</time>'
    with translation.override("ar"):
        # Django's Arabic locale has no date-and-time format; phare/formats gives it one in Arabic order.
        assert str(moment(at)) == '<time datetime="2026-03-04T09:05+00:00">4 مارس، 2026، 9:05 ص</time>'
    assert day(None) == "" and moment(None) == "" and moment(OPENED) == ""


def test_a_day_formatted_once_follows_the_language_and_the_settings(settings: object) -> None:
    # `day` remembers what it wrote, per language: switching language, or a format setting, is never answered
    # from another's memory.
    seen = []
    for lang in ("en", "fr", "ar", "en", "fr"):
        with translation.override(lang):
            seen.append(str(day(datetime(2026, 3, 4, 23, 0, tzinfo=UTC))))
            assert seen[-1] == f'<time datetime="2026-03-04">{shown_day(OPENED)}</time>'
    assert seen[0] == seen[3] != seen[1] == seen[4] != seen[2]
    with translation.override(None):  # no language: the DATE_FORMAT setting
        before = str(day(OPENED))
        settings.DATE_FORMAT = "Y/m/d"  # type: ignore[attr-defined]
        assert before != str(day(OPENED)) == '<time datetime="2026-03-04">2026/03/04</time>'


def test_it_never_ends_a_sentence_with_two_full_stops() -> None:
    assert one_stop("Figures as of March 4, 2026, 9:05 a.m..") == "Figures as of March 4, 2026, 9:05 a.m."
    assert one_stop("Wait... then go.") == "Wait... then go."
    assert one_stop("Chiffres au 4 mars 2026 09:05.") == "Chiffres au 4 mars 2026 09:05."


def test_it_says_when_the_dashboard_was_counted_with_one_full_stop() -> None:
    cache.clear()
    org = make_org("dash-stop")
    make_case(make_user(org), opened=OPENED)
    cl = _client(make_user(org, Role.ANALYST))
    cl.get("/dashboards/")
    DashboardSnapshot.objects.filter(organisation=org).update(computed_at=datetime(2026, 3, 4, 9, 5, tzinfo=UTC))
    cache.clear()
    html = cl.get("/dashboards/").content.decode()
    assert "Figures as of March 4, 2026, 9:05 a.m." in html
    assert "a.m.." not in html


@pytest.mark.parametrize("lang", ["en", "fr", "ar"])
def test_it_prints_the_cases_dates_in_the_readers_language(lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from phare.cases import printing

    seen: list[str] = []
    real = printing.visual_lines

    def spy(text: str, *a: object, **kw: object) -> list[str]:
        seen.append(text)
        return real(text, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(printing, "visual_lines", spy)
    worker = _reader(lang)
    case = _case(worker)
    assert _client(worker).get(f"/cases/{case.number}/print.pdf").status_code == 200
    printed = "\n".join(seen)
    opened, due, born = SHOWN[lang]
    assert opened in printed and due in printed and born in printed
    assert "2026-03-04" not in printed and "1999-04-02" not in printed
