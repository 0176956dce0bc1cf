from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from phare.accounts.models import Role, User
from phare.audit.models import AuditEvent
from phare.cases.models import Case, CaseParticipant, Person, PersonIndex

pytestmark = pytest.mark.django_db(transaction=False)


def test_it_creates_and_tops_up_the_demo_organisation() -> None:
    out = StringIO()
    call_command("demo", cases=60, stdout=out)
    text = out.getvalue()
    assert "demo-caseworker" in text and "password" in text
    assert set(User.objects.filter(organisation__slug="demo").values_list("role", flat=True)) == {r.value for r in Role}
    assert Case.objects.filter(organisation__slug="demo").count() == 60
    call_command("demo", cases=40, stdout=StringIO())
    cases = Case.objects.filter(organisation__slug="demo")
    assert cases.count() == 100
    assert len(set(cases.values_list("number", flat=True))) == 100
    assert AuditEvent.objects.filter(action="demo.generate").count() == 2  # one summary per run, not per row
    assert CaseParticipant.objects.filter(role__in=("Victim", "PotentialVictim")).count() >= 100
    assert PersonIndex.objects.filter(kind="name").count() >= Person.objects.count()
    # Denormalised summary and the primary person are filled for list filtering.
    assert cases.exclude(exploitation_summary="").count() > 50
    assert cases.filter(primary_person__isnull=True).count() == 0


def test_it_dates_each_referral_on_its_own_day_not_the_days_it_ran() -> None:
    # The home pages' "new referrals" are the last fortnight's: a demo whose every referral was made the day it ran
    # showed them all as new.
    from datetime import datetime, timedelta

    from django.utils import timezone

    from phare.cases.models import Referral

    call_command("demo", cases=200, seed=5, stdout=StringIO())
    referrals = list(Referral.objects.filter(organisation__slug="demo"))
    assert len(referrals) > 50
    for r in referrals:
        day = r.cas_IncomingReferralDate or r.cas_OutgoingReferralDate
        if day is not None:
            assert r.created == datetime(day.year, day.month, day.day, tzinfo=timezone.get_current_timezone()), r.pk
    recent = [r for r in referrals if r.created >= timezone.now() - timedelta(days=14)]
    assert 0 < len(recent) < len(referrals) / 4


def test_it_follows_the_published_shares_roughly() -> None:
    call_command("demo", cases=400, stdout=StringIO(), seed=7)
    victims = CaseParticipant.objects.filter(role__in=("Victim", "PotentialVictim")).select_related("person")
    genders = [v.person.prs_Gender for v in victims]
    female = genders.count("Feminine") / len(genders)
    assert 0.55 < female < 0.85  # CTDC: about 70-74 % of identified victims are female
    types = [t for v in victims for t in v.vic_TypeOfExploitation]
    assert types.count("SexualExploitation") + types.count("ForcedLabour") > 0.6 * len(types)


def test_it_prepares_the_quick_start_without_serving() -> None:
    out = StringIO()
    call_command("run", no_serve=True, cases=30, stdout=out)
    assert Case.objects.filter(organisation__slug="demo").count() == 30
    call_command("run", no_serve=True, cases=30, stdout=StringIO())
    assert Case.objects.filter(organisation__slug="demo").count() == 30  # only when it has none
    assert "demo-supervisor" in out.getvalue()


def test_it_uses_only_synthetic_names() -> None:
    call_command("demo", cases=50, stdout=StringIO(), seed=3)
    real = {"john", "mary", "maria", "james", "mohammed", "anna"}
    names = {p.prs_FirstName.lower() for p in Person.objects.all() if p.prs_FirstName}
    assert not names & real


def test_it_holds_no_date_after_today_so_its_export_reimports_whole(tmp_path: Path) -> None:
    """The generator's registrations end in 2018 and the demo shifts them to end today: every date it derives
    (closures, comments, consents, referrals, assessments) is taken as of that last day, never after it."""
    from django.utils import timezone

    call_command("demo", cases=100, seed=3, stdout=StringIO())
    today = timezone.localdate().isoformat()
    out = tmp_path / "demo.json"
    call_command("export", "json", "--org", "demo", "--out", str(out), stdout=StringIO())
    ahead = [(k, v) for b in json.loads(out.read_text("utf-8"))["bundles"] for k, v in _dates(b)
             if v > today and k != "spl_PlannedEndDate"]  # a plan may end after today  # fmt: skip
    assert ahead == []
    for fmt in ("json", "csv"):
        path = tmp_path / f"demo.{fmt}"
        call_command("export", fmt, "--org", "demo", "--out", str(path), stdout=StringIO())
        report = StringIO()
        call_command("import", str(path), "--org", "demo", "--dry-run", "--json", stdout=report)
        counts = json.loads(report.getvalue())
        assert (counts["created"], counts["updated"], counts["unchanged"], counts["rejected"]) == (0, 0, 100, 0), fmt


def _dates(x: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _dates(v, k)
    elif isinstance(x, list):
        for v in x:
            yield from _dates(v, key)
    elif isinstance(x, str) and len(x) == 10 and x[4] == "-" and x[7] == "-" and x[:4].isdigit():
        yield key, x


def _written(slug: str) -> list[tuple[Any, ...]]:
    """What a demo organisation holds, read back through the models (sealed values opened), in case order."""
    from phare.cases.actions import index_rows
    from phare.cases.models import TraffickingEvent

    out: list[tuple[Any, ...]] = []
    for case in Case.objects.filter(organisation__slug=slug).order_by("seq"):
        people = []
        for part in CaseParticipant.objects.filter(case=case).order_by("id").select_related("person"):
            p = part.person
            stored = sorted(PersonIndex.objects.filter(person=p).values_list("kind", "digest"))
            assert stored == sorted((r.kind, r.digest) for r in index_rows(p))  # the verbs' index rows
            people.append((part.role, p.prs_FirstName, p.prs_SecondName, p.prs_Birthdate, p.prs_Gender,
                           [k for k, _ in stored]))  # fmt: skip
        events = [(e.person.prs_FirstName if e.person else None, e.hte_Date, e.hte_Street, e.hte_Country)
                  for e in TraffickingEvent.objects.filter(case=case).order_by("id").select_related("person")]  # fmt: skip
        out.append((case.number, case.cas_Status, case.trafficking_status, case.exploitation_summary, people, events))
    return out


def test_generating_in_a_second_process_writes_what_generating_here_writes() -> None:
    """From FORK_MIN cases the demo is generated, and its people sealed and indexed, in a forked process: the same
    seed must give the same cases, people, events and index rows either way."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from phare.cases.demo import create_demo

    create_demo(30, slug="here", seed=11, fork=False)
    with CaptureQueriesContext(connection) as queries:
        create_demo(30, slug="there", seed=11, fork=True)
    assert _written("here") == _written("there")
    # The writer never reads a person back (to seal a row's fields with their key, say): one query a row.
    assert not [q for q in queries if '"cases_person"."id" =' in q["sql"]]


def test_it_names_every_table_a_demo_load_writes_for_its_indexes_and_statistics(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tables whose indexes a large load rebuilds and whose planner statistics it refreshes are every table it
    writes: one left out kept stale statistics (a list page's person-key query then scanned every key)."""
    from phare.cases import bulk
    from phare.cases.bundles import written_models
    from phare.cases.demo import create_demo

    seen: set[type] = set()
    insert, insert_values = bulk.insert, bulk.insert_values

    def spy(objs: Any, **kw: Any) -> None:
        seen.update(type(o) for o in objs)
        insert(objs, **kw)

    def spy_values(model: Any, *a: Any) -> None:
        seen.add(model)
        insert_values(model, *a)

    monkeypatch.setattr(bulk, "insert", spy)
    monkeypatch.setattr(bulk, "insert_values", spy_values)
    create_demo(30, slug="tables", seed=3, fork=False)
    assert seen and seen <= set(written_models()), seen - set(written_models())
