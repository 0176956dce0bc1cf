"""Row-level security covers the helpline tables: with the ORM's tenant filter switched off, another
organisation's contacts and caller indexes still do not come back on PostgreSQL; with row-level security off as
well, they do (the negative control)."""

from __future__ import annotations

import pytest
from django.db import connection

from phare import access, rls
from phare.accounts.models import Role
from phare.helplines.access import visible_contacts
from phare.helplines.models import Contact, ContactIndex, ReportForm, Service
from tests.helpline_helpers import call
from tests.work_helpers import team

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row-level security is PostgreSQL's"),
]

ROLE = "phare_app"


def test_it_protects_every_helpline_table() -> None:
    rls.install(ROLE)
    status = {t: (on, forced, n) for t, on, forced, n in rls.status()}
    for m in (Contact, ContactIndex, ReportForm, Service):
        on, forced, n = status[m._meta.db_table]
        assert on and forced and n >= 1, m


def test_it_keeps_another_organisations_contacts_below_the_orm(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = team("rls-ha"), team("rls-hb")
    call(b[Role.HELPLINE])
    rls.install(ROLE)
    monkeypatch.setattr(access, "ENFORCE_TENANT_FILTER", False)
    with rls.acting_for(a["org"].pk, role=ROLE):
        assert not Contact.objects.filter(organisation=b["org"]).exists()
        assert not ContactIndex.objects.filter(organisation=b["org"]).exists()
        assert not visible_contacts(a[Role.SUPERVISOR]).exists()
    rls.set_enabled(False)
    with rls.acting_for(a["org"].pk, role=ROLE):
        assert Contact.objects.filter(organisation=b["org"]).exists()  # negative control: without RLS it leaks
