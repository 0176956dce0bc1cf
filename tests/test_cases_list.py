from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from phare.accounts.models import Role
from phare.cases import actions
from phare.crypto import keys
from tests.test_cases_helpers import make_case, make_org, make_user

pytestmark = pytest.mark.django_db


def _client(user: object) -> Client:
    c = Client()
    c.force_login(user)  # type: ignore[arg-type]
    return c


def _numbers(html: str) -> set[str]:
    import re

    return set(re.findall(r'href="/cases/(\d{4}-\d{6})/"', html))


def test_it_lists_only_the_users_cases_and_not_other_organisations() -> None:
    org = make_org()
    worker = make_user(org)
    colleague = make_user(org, Role.CASE_WORKER, "colleague")
    sup = make_user(org, Role.SUPERVISOR)
    mine = make_case(worker)
    theirs = make_case(colleague, first="Bola")
    stranger = make_user(make_org("beta"))
    foreign = make_case(stranger, first="Chidi")
    seen = _numbers(_client(worker).get("/cases/").content.decode())
    assert mine.number in seen and theirs.number not in seen
    seen = _numbers(_client(sup).get("/cases/").content.decode())
    assert {mine.number, theirs.number} <= seen
    assert foreign.number == mine.number  # numbering is per organisation...
    assert "Chidi" not in _client(sup).get("/cases/").content.decode()  # ...and beta's case never shows


def test_it_filters_by_status_type_trafficking_status_owner_and_dates() -> None:
    org = make_org()
    sup = make_user(org, Role.SUPERVISOR)
    worker = make_user(org)
    a = make_case(worker, opened=date(2024, 1, 10))
    b = make_case(worker, first="Bola", opened=date(2024, 3, 1),
                  context={"vic_TypeOfExploitation": ["SexualExploitation"], "vic_TraffickingStatus": "ActualVictimOfTrafficking"})  # fmt: skip
    c = make_case(sup, first="Chidi", opened=date(2024, 5, 1))
    actions.close_case(sup, c, reason="Safe")
    cl = _client(sup)

    def seen(q: str) -> set[str]:
        return _numbers(cl.get("/cases/?" + q).content.decode())

    assert seen("status=Closed") == {c.number}
    assert seen("status=open") == {a.number, b.number}
    assert seen("exploitation=SexualExploitation") == {b.number}
    assert seen("trafficking=ActualVictimOfTrafficking") == {b.number}
    assert seen(f"owner={worker.id}") == {a.number, b.number}
    assert seen("owner=me") == {c.number}
    assert seen("opened_from=2024-02-01&opened_to=2024-04-01") == {b.number}


def test_it_searches_by_case_number_and_by_name_through_the_blind_index() -> None:
    org = make_org()
    sup = make_user(org, Role.SUPERVISOR)
    a = make_case(sup, first="Ámaka", second="Obi")
    b = make_case(sup, first="Bola", second="Obi")
    cl = _client(sup)
    assert _numbers(cl.get("/cases/?q=obi").content.decode()) == {a.number, b.number}
    assert _numbers(cl.get("/cases/?q=AMAKA+obi").content.decode()) == {a.number}
    assert _numbers(cl.get(f"/cases/?q={b.number}").content.decode()) == {b.number}
    assert _numbers(cl.get("/cases/?q=nobody").content.decode()) == set()


def test_it_paginates_and_bounds_the_queries(django_assert_max_num_queries: object) -> None:
    org = make_org()
    sup = make_user(org, Role.SUPERVISOR)
    for i in range(30):
        make_case(sup, first=f"Person{i}", opened=date(2024, 1, 1 + i % 28))
    cl = _client(sup)
    # A fresh process has no person key unwrapped yet: the page must still not cost a query per person.
    # (26: the page's own, with one query each for the next due tasks, the open flags and the saved searches of
    # the page, one for the notification bell and one for the menu's count of referrals waiting; the audit event of the read: a fresh process's instance and organisation keys, the chain's
    # head, last hash and the organisation's last link, the insert and the head's update, and on PostgreSQL its lock;
    # every request's check for keys shredded elsewhere and, on PostgreSQL, its tenant set and reset.)
    keys.reset_caches()
    with django_assert_max_num_queries(26):  # type: ignore[operator]
        first = cl.get("/cases/")
    keys.reset_caches()
    with django_assert_max_num_queries(26):  # type: ignore[operator]
        second = cl.get("/cases/?page=2")
    assert len(_numbers(first.content.decode())) == 25
    assert len(_numbers(second.content.decode())) == 5
    assert 'rel="next"' in first.content.decode()


def test_it_answers_htmx_with_the_rows_only() -> None:
    sup = make_user(make_org(), Role.SUPERVISOR)
    make_case(sup)
    r = _client(sup).get("/cases/?status=Active", HTTP_HX_REQUEST="true")
    assert b"<html" not in r.content and b"<table" in r.content


def test_it_needs_a_sign_in() -> None:
    assert Client().get("/cases/").status_code == 302


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_each_row_shows_the_status_and_owner_the_case_has(lang: str) -> None:
    # The row's status and owner are looked up in the view: the same words as the case's own display and the
    # owner's full name, or their username without one, or nothing without an owner.
    import re

    from django.utils import translation

    from phare.cases.models import Case, CaseStatus

    org = make_org()
    sup = make_user(org, Role.SUPERVISOR)
    named = make_user(org, Role.CASE_WORKER, "named")
    named.first_name, named.last_name = "Ngozi", "<Eze>"
    named.save()
    bare = make_user(org, Role.CASE_WORKER, "bare")
    cases = [make_case(named), make_case(bare, first="Bola"), make_case(sup, first="Chidi")]
    Case.objects.filter(pk=cases[1].pk).update(cas_Status=CaseStatus.FOLLOW_UP)
    Case.objects.filter(pk=cases[2].pk).update(cas_CaseOwner=None)
    c = _client(sup)
    c.cookies["django_language"] = lang
    html = c.get("/cases/?status=").content.decode()
    rows = {m[0]: m[1:] for m in re.findall(
        r'href="/cases/([\d-]+)/".*?<span class="status s-\w+">([^<]*)</span>.*?data-label="[^"]*">([^<]*)</td>\n'
        r'<td data-label="[^"]*">(?:<span|<time|—)', html, re.S)}  # fmt: skip
    with translation.override(lang):
        expected = {
            cases[0].number: (str(Case.objects.get(pk=cases[0].pk).get_cas_Status_display()), "Ngozi &lt;Eze&gt;"),
            cases[1].number: (str(Case.objects.get(pk=cases[1].pk).get_cas_Status_display()), "bare"),
            cases[2].number: (str(Case.objects.get(pk=cases[2].pk).get_cas_Status_display()), ""),
        }
    assert {n: (s, o) for n, (s, o) in rows.items()} == expected
    assert expected[cases[1].number][0] != expected[cases[0].number][0]


def test_it_counts_the_cases_only_when_the_page_does_not_tell(django_assert_num_queries: object) -> None:
    # A last page read whole says how many there are (start + rows): no count query. Any other page counts.
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    org = make_org()
    sup = make_user(org, Role.SUPERVISOR)
    for i in range(30):
        make_case(sup, first=f"Person{i}", opened=date(2024, 1, 1 + i % 28))
    cl = _client(sup)

    def shown(url: str) -> tuple[str, bool]:
        with CaptureQueriesContext(connection) as ctx:
            html = cl.get(url).content.decode()
        counted = any(re.search(r"SELECT COUNT\(\*\) FROM \(SELECT", q["sql"]) for q in ctx.captured_queries)
        return re.search(r'<p class="muted">([^<]*)</p>', html).group(1).strip(), counted  # type: ignore[union-attr]

    assert shown("/cases/") == ("30 cases", True)
    assert shown("/cases/?page=2") == ("30 cases", False)
    assert shown("/cases/?page=9") == ("30 cases", True)  # past the end: nothing read, so counted
    assert shown("/cases/?q=Person7") == ("1 case", False)
    assert shown("/cases/?q=Nobody") == ("0 cases", False)


def test_it_counts_the_list_up_to_the_cap_on_a_last_page_read_whole_and_by_counting(monkeypatch: pytest.MonkeyPatch) -> None:
    from phare.cases import views
    from phare.core import lists

    worker = make_user(make_org())
    for i in range(views.PAGE_SIZE + 2):
        make_case(worker, first=f"Name{i}")
    monkeypatch.setattr(lists, "COUNT_CAP", 3)  # a small cap stands for the real one (1,000)
    c = _client(worker)
    assert "3 cases+" in c.get("/cases/").content.decode()  # more pages: a count that stops past the cap
    assert "3 cases+" in c.get("/cases/?page=2").content.decode()  # the last page, read whole: its rows counted
    monkeypatch.setattr(lists, "COUNT_CAP", 100)
    assert f"{views.PAGE_SIZE + 2} cases</p>" in c.get("/cases/").content.decode()  # under the cap: exact, no "+"
