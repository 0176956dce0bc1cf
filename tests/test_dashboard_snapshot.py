"""Dashboard snapshots: counted once, served while up to date, recounted by the worker after a change."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone

from phare.accounts.models import Organisation, Role, User
from phare.audit import log as audit
from phare.dashboards import queries
from phare.dashboards.models import DashboardSnapshot
from phare.jobs import queue
from phare.jobs.models import Job
from tests.test_cases_helpers import make_case, make_org, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


@pytest.fixture
def org() -> Organisation:
    return make_org("snap")


@pytest.fixture
def worker(org: Organisation) -> User:
    return make_user(org, Role.CASE_WORKER)


@pytest.fixture
def analyst(org: Organisation) -> User:
    return make_user(org, Role.ANALYST)


def _client(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _cases_figure(html: str) -> str:
    # The key figures: <dt>Cases</dt><dd>N</dd>
    return html.split("<dt>Cases</dt><dd>", 1)[1].split("</dd>", 1)[0]


def _refuse_counting(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("counted again")

    monkeypatch.setattr(queries, "_compute", boom)


def test_it_stores_a_snapshot_and_serves_it_without_counting_again(
    worker: User, analyst: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_case(worker, opened=date(2024, 1, 10))
    cl = _client(analyst)
    assert _cases_figure(cl.get("/dashboards/").content.decode()) == "1"
    snap = DashboardSnapshot.objects.get(organisation=analyst.organisation)
    assert snap.counts["case_status"] == {"Active": 1}
    cache.clear()
    _refuse_counting(monkeypatch)
    html = cl.get("/dashboards/").content.decode()
    assert _cases_figure(html) == "1"
    assert "Figures as of" in html and "being recounted" not in html


def test_it_does_not_take_a_read_for_a_change(worker: User, analyst: User, monkeypatch: pytest.MonkeyPatch) -> None:
    case = make_case(worker, opened=date(2024, 1, 10))
    cl = _client(analyst)
    cl.get("/dashboards/")
    with transaction.atomic():
        audit.record("case.viewed", actor=worker, organisation=worker.organisation, target=case)
    cache.clear()
    _refuse_counting(monkeypatch)
    assert "being recounted" not in cl.get("/dashboards/").content.decode()
    assert not Job.objects.filter(kind=queries.REFRESH_JOB).exists()


def test_it_serves_the_older_figures_after_a_change_and_the_worker_recounts(worker: User, analyst: User) -> None:
    make_case(worker, opened=date(2024, 1, 10))
    cl = _client(analyst)
    cl.get("/dashboards/")
    make_case(worker, opened=date(2024, 2, 10))
    cache.clear()
    html = cl.get("/dashboards/").content.decode()
    assert _cases_figure(html) == "1"
    assert "being recounted" in html
    cache.clear()
    cl.get("/dashboards/")
    jobs = Job.objects.filter(kind=queries.REFRESH_JOB, organisation=analyst.organisation)
    assert jobs.count() == 1  # a second view does not queue a second recount
    from phare.jobs import handlers  # noqa: F401  (registers the job kinds)

    assert queue.drain() == 1
    assert jobs.get().status == Job.Status.DONE
    cache.clear()
    html = cl.get("/dashboards/").content.decode()
    assert _cases_figure(html) == "2"
    assert "being recounted" not in html


@override_settings(PHARE_DASHBOARD_STALE_SECONDS=0)
def test_it_counts_at_once_when_the_snapshot_is_too_old_to_show(worker: User, analyst: User) -> None:
    make_case(worker, opened=date(2024, 1, 10))
    cl = _client(analyst)
    cl.get("/dashboards/")
    make_case(worker, opened=date(2024, 2, 10))
    cache.clear()
    html = cl.get("/dashboards/").content.decode()
    assert _cases_figure(html) == "2"
    assert not Job.objects.filter(kind=queries.REFRESH_JOB).exists()


def test_it_recounts_on_a_new_day_because_due_dates_move(worker: User, analyst: User) -> None:
    make_case(worker, opened=date(2024, 1, 10))
    today = date.today()
    queries.counts(analyst, [analyst.organisation_id], queries.Filters(), today)  # type: ignore[list-item]
    cache.clear()
    result = queries.counted(analyst, [analyst.organisation_id], queries.Filters(), today + timedelta(days=1))  # type: ignore[list-item]
    assert result.refreshing
    assert Job.objects.filter(kind=queries.REFRESH_JOB).count() == 1


def test_it_keeps_one_snapshot_per_set_of_filters(worker: User, analyst: User) -> None:
    make_case(worker, opened=date(2024, 1, 10))
    cl = _client(analyst)
    cl.get("/dashboards/")
    cl.get("/dashboards/?status=open")
    cl.get("/dashboards/?status=open")
    assert DashboardSnapshot.objects.filter(organisation=analyst.organisation).count() == 2


def test_it_never_serves_one_organisations_snapshot_to_another(worker: User, analyst: User) -> None:
    make_case(worker, opened=date(2024, 1, 10))
    _client(analyst).get("/dashboards/")
    other = make_org("other")
    outsider = make_user(other, Role.ANALYST, username="other-analyst")
    cache.clear()
    html = _client(outsider).get("/dashboards/").content.decode()
    assert _cases_figure(html) == "0"
    assert DashboardSnapshot.objects.filter(organisation=other).get().counts.get("case_status", {}) == {}


def test_it_gives_nothing_to_a_role_that_may_not_read_aggregates(worker: User, analyst: User) -> None:
    make_case(worker, opened=date(2024, 1, 10))
    _client(analyst).get("/dashboards/")
    cache.clear()
    result = queries.counted(worker, [worker.organisation_id], queries.Filters())  # type: ignore[list-item]
    # A case worker's own access is not "aggregates": whatever the layer gives it, never the stored snapshot
    # of figures it could not count itself.
    expected = queries._compute(
        lambda m: queries._base(worker, m, worker.organisation_id), worker.organisation_id,  # type: ignore[arg-type]
        queries.Filters(), date.today(),
    )
    assert result.raw.get("case_status", {}) == expected.get("case_status", {})


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's work_mem and JIT")
@override_settings(PHARE_DASHBOARD_WORK_MEM_MB=48)
def test_it_counts_with_the_dashboards_settings_and_gives_them_back(
    worker: User, analyst: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def current() -> tuple[str, str]:
        with connection.cursor() as cur:
            cur.execute("SELECT current_setting('work_mem'), current_setting('jit')")
            row = cur.fetchone()
            return str(row[0]), str(row[1])

    make_case(worker, opened=date(2024, 1, 10))
    with connection.cursor() as cur:  # (a server may have JIT off already: the test wants it on before)
        cur.execute("SET jit = on")
    before = current()
    seen: list[tuple[str, str]] = []
    counts = queries._counts

    def watched(*args: Any) -> Any:
        seen.append(current())
        return counts(*args)

    monkeypatch.setattr(queries, "_counts", watched)
    with transaction.atomic():
        raw = queries.org_counts(analyst, analyst.organisation_id, queries.Filters())
        # Given back when the counting ends, not when the request's transaction does.
        assert current() == before == (before[0], "on") and before[0] != "48MB"
    assert seen == [("48MB", "off")] and raw["case_status"] == {"Active": 1}


PENDING = "Counting the figures for these filters"


def _slow_to_count(analyst: User, cl: Client, seconds: float = 10.0) -> None:
    """The organisation's dashboard counted once, as if that count had taken `seconds`."""
    cl.get("/dashboards/")
    DashboardSnapshot.objects.filter(organisation=analyst.organisation).update(seconds=seconds)
    cache.clear()


def test_it_hands_new_filters_to_the_worker_when_counting_is_slow(
    worker: User, analyst: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_case(worker, opened=date(2024, 1, 10))
    cl = _client(analyst)
    _slow_to_count(analyst, cl)
    with monkeypatch.context() as m:
        _refuse_counting(m)
        html = cl.get("/dashboards/?status=open").content.decode()
        assert PENDING in html and '<meta http-equiv="refresh" content="5">' in html
        assert "<dt>Cases</dt>" not in html  # no figure at all, rather than zeros
        cl.get("/dashboards/?status=open")  # a reload while the worker has not started: no second count queued
    jobs = Job.objects.filter(kind=queries.REFRESH_JOB, organisation=analyst.organisation)
    assert jobs.count() == 1 and jobs.get().payload["status"] == "open"
    from phare.jobs import handlers  # noqa: F401  (registers the job kinds)

    assert queue.drain() == 1
    html = cl.get("/dashboards/?status=open").content.decode()
    assert _cases_figure(html) == "1" and PENDING not in html and "http-equiv" not in html


def test_it_counts_new_filters_at_once_when_counting_is_quick(worker: User, analyst: User) -> None:
    make_case(worker, opened=date(2024, 1, 10))
    cl = _client(analyst)
    _slow_to_count(analyst, cl, seconds=0.5)
    html = cl.get("/dashboards/?status=open").content.decode()
    assert _cases_figure(html) == "1" and PENDING not in html
    assert not Job.objects.filter(kind=queries.REFRESH_JOB).exists()


def test_it_counts_for_itself_when_no_worker_takes_the_count(worker: User, analyst: User) -> None:
    make_case(worker, opened=date(2024, 1, 10))
    cl = _client(analyst)
    _slow_to_count(analyst, cl)
    assert PENDING in cl.get("/dashboards/?status=open").content.decode()
    waited = timezone.now() - timedelta(seconds=queries.WORKER_GRACE_SECONDS + 1)
    Job.objects.filter(kind=queries.REFRESH_JOB).update(created=waited)
    html = cl.get("/dashboards/?status=open").content.decode()
    assert _cases_figure(html) == "1" and PENDING not in html


def test_it_waits_for_the_figures_of_a_download(worker: User, analyst: User) -> None:
    make_case(worker, opened=date(2024, 1, 10))
    cl = _client(analyst)
    _slow_to_count(analyst, cl)
    r = cl.get("/dashboards/figures/case_status.csv?status=open")
    assert r.status_code == 200 and "Active,1" in r.content.decode().replace("\r", "")
    assert not Job.objects.filter(kind=queries.REFRESH_JOB).exists()


def test_it_judges_by_the_slowest_count_not_the_latest(worker: User, analyst: User) -> None:
    make_case(worker, opened=date(2024, 1, 10))
    cl = _client(analyst)
    _slow_to_count(analyst, cl)
    cl.get("/dashboards/?status=Closed")  # counted by the worker
    from phare.jobs import handlers  # noqa: F401  (registers the job kinds)

    assert queue.drain() == 1
    DashboardSnapshot.objects.filter(key__contains="Closed").update(seconds=0.1)  # the latest count was quick
    cache.clear()
    assert PENDING in cl.get("/dashboards/?status=open").content.decode()


def test_it_never_queues_more_than_a_few_counts_of_new_filters(worker: User, analyst: User) -> None:
    make_case(worker, opened=date(2024, 1, 10))
    cl = _client(analyst)
    _slow_to_count(analyst, cl)
    for month in range(1, queries.WORKER_COUNTS_MAX + 1):
        assert PENDING in cl.get(f"/dashboards/?start=2024-{month:02}-01").content.decode()
    # One filter more: counted for this page, as before, rather than queued behind the others.
    html = cl.get("/dashboards/?start=2024-12-01").content.decode()
    assert PENDING not in html and _cases_figure(html) == "0"
    assert Job.objects.filter(kind=queries.REFRESH_JOB).count() == queries.WORKER_COUNTS_MAX
