"""Flags on a case (with a reason and who set it) and saved searches: audited verbs, shown on the case and in
the list, and never to a colleague who may not open the case."""

from __future__ import annotations

import pytest

from phare.accounts.models import Role
from phare.audit.models import AuditEvent
from phare.cases.actions import Invalid
from phare.work import access as work_access
from phare.work.actions import flags
from phare.work.models import CaseFlag, SavedSearch
from tests.work_helpers import client, team

pytestmark = pytest.mark.django_db


def test_it_flags_shows_and_clears_with_a_reason() -> None:
    t = team()
    worker, case = t[Role.CASE_WORKER], t["case"]
    c = client(worker)
    c.post(f"/work/cases/{case.number}/flags/", {"kind": "court", "reason": "Hearing on the 12th"})
    flag = CaseFlag.objects.get(case=case)
    page = c.get(f"/cases/{case.number}/").content.decode()
    assert "Court date" in page and "Hearing on the 12th" in page
    listing = c.get("/cases/?attention=flagged").content.decode()
    assert case.number in listing and "Court date" in listing
    c.post(f"/work/flags/{flag.uid}/clear/")
    flag.refresh_from_db()
    assert flag.cleared_at is not None
    assert case.number not in c.get("/cases/?attention=flagged").content.decode()
    assert list(AuditEvent.objects.filter(target_id=str(flag.uid)).values_list("action", flat=True)) == [
        "case.flag", "case.flag_clear"]
    with pytest.raises(Invalid):
        flags.flag_case(worker, case, "court", " ")


def test_it_never_shows_a_flag_to_a_colleague_who_may_not_open_the_case(monkeypatch: pytest.MonkeyPatch) -> None:
    t = team()
    flag = flags.flag_case(t[Role.SUPERVISOR], t["case"], "safety", "MARKER trafficker seen nearby")
    colleague = t["colleague"]
    c = client(colleague)
    assert b"MARKER" not in c.get("/cases/?attention=flagged").content
    assert c.post(f"/work/flags/{flag.uid}/clear/").status_code == 404
    assert not work_access.visible_flags(colleague).exists()
    monkeypatch.setattr(work_access, "visible_cases", lambda user: type(t["case"]).objects.all())
    assert work_access.visible_flags(colleague).exists()  # negative control


def test_it_saves_a_search_without_the_name_typed_in_the_box() -> None:
    t = team()
    worker = t[Role.CASE_WORKER]
    c = client(worker)
    r = c.post("/work/searches/", {"name": "Court this month", "query": "q=Amaka&attention=flagged&status=open"})
    assert r.status_code == 302
    s = SavedSearch.objects.get(user=worker)
    assert s.query == "attention=flagged&status=open"  # never the name searched for
    assert "Court this month" in c.get("/cases/").content.decode()
    # another user cannot delete it
    assert client(t["colleague"]).post(f"/work/searches/{s.pk}/delete/").status_code == 404
    c.post(f"/work/searches/{s.pk}/delete/")
    assert not SavedSearch.objects.exists()
