"""PostgreSQL row-level security: a query that forgets the tenant filter still cannot leak, because the
application runs as a role that does not own the tables and the database filters by `phare.org_id`.
And the same checks do leak once row-level security is switched off."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from phare import access, rls
from phare.accounts.models import Organisation, OrganisationNote, Role, User
from phare.accounts.testing import build_tenant_rows, login_with_mfa

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row-level security is PostgreSQL's"),
]

ROLE = "phare_app"


def _world() -> tuple[Organisation, Organisation, dict[type[Any], Any], User]:
    a = Organisation.objects.create(slug="rls-a", org_Name="A")
    b = Organisation.objects.create(slug="rls-b", org_Name="B")
    ua = User.objects.create(username="rls-ua", organisation=a, role=Role.SUPERVISOR)
    ub = User.objects.create(username="rls-ub", organisation=b, role=Role.SUPERVISOR)
    build_tenant_rows(a, ua, "RLSA")
    rows_b = build_tenant_rows(b, ub, "RLSVICTIM")
    from django.apps import apps

    with contextlib.suppress(LookupError):
        apps.get_model("cases", "Case").objects.filter(organisation=b).update(number="RLS-VICTIM-CASE")
    assert rls.install(ROLE) >= 5
    return a, b, rows_b, ua


def _leaks(org: Organisation, models: list[type[Any]]) -> list[str]:
    """Every tenant table read WITHOUT a tenant filter, as the application role acting for `org`."""
    found = []
    with rls.acting_for(org.pk, role=ROLE):
        for model in models:
            others = {o for o in model._default_manager.values_list("organisation_id", flat=True) if o != org.pk}
            if others:
                found.append(model._meta.label)
    return found


def test_it_runs_the_app_as_a_role_that_owns_nothing_and_bypasses_nothing() -> None:
    _world()
    with connection.cursor() as cur:
        cur.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [ROLE])
        assert cur.fetchone() == (False, False)
        cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = %s", [ROLE])
        assert cur.fetchone()[0] == 0
    for table, enabled, forced, policies in rls.status():
        assert enabled and forced and policies >= 1, table


def test_it_stops_a_forgotten_filter_and_leaks_once_rls_is_disabled() -> None:
    a, b, rows_b, _ = _world()
    # the job queue is exempt, and the referral directory read by every tenant, by design
    models = [m for m in rows_b if m._meta.label_lower not in rls.EXEMPT | rls.READ_BY_ALL]
    assert _leaks(a, models) == []  # every tenant table, no filter at all: nothing of B
    with rls.acting_for(None, role=ROLE):  # no tenant set: nothing at all
        assert not OrganisationNote.objects.exists()
    with rls.acting_for(a.pk, role=ROLE):
        # the application role cannot switch on the owners' maintenance bypass
        with connection.cursor() as cur:
            cur.execute("SELECT set_config('phare.maintenance', 'on', false)")
        assert not OrganisationNote.objects.filter(organisation=b).exists()
        # nor write into another tenant, nor change its rows
        with pytest.raises(DatabaseError), transaction.atomic():
            OrganisationNote.objects.create(organisation=b, body="planted")
        assert OrganisationNote.objects.filter(organisation=b).update(subject=None) == 0
        assert OrganisationNote.objects.filter(organisation=b).delete()[0] == 0
    # negative control: the very same check finds the leak when row-level security is off
    rls.set_enabled(False)
    leaked = _leaks(a, models)
    assert "accounts.OrganisationNote" in leaked and len(leaked) == len(models)


def test_it_stops_a_missing_access_filter_on_real_pages(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _a, _b, rows_b, ua = _world()
    if not any(m._meta.label == "cases.Case" for m in rows_b):
        pytest.skip("needs the cases pages")
    settings.PHARE_DB_ROLE = ROLE
    monkeypatch.setattr(access, "ENFORCE_TENANT_FILTER", False)  # the ORM filter is gone...
    client = login_with_mfa(Client(raise_request_exception=False), ua)
    r = client.get("/cases/RLS-VICTIM-CASE/")
    assert r.status_code == 404 and b"RLSVICTIM" not in r.content  # ...and the database still says no
    with connection.cursor() as cur:  # the request's role and tenant do not outlive it on the connection
        cur.execute("SELECT current_user, current_setting('phare.org_id', true)")
        user, org = cur.fetchone()
    assert user != ROLE and org == ""
    rls.set_enabled(False)
    r = client.get("/cases/RLS-VICTIM-CASE/")
    assert b"RLSVICTIM" in r.content  # negative control: without RLS this request leaks


def test_it_lets_owners_maintain_all_tenants() -> None:
    a, b, _, _ = _world()
    # owner sessions (migrations, commands) use the explicit maintenance bypass
    assert {a.pk, b.pk} <= set(OrganisationNote.objects.values_list("organisation_id", flat=True))


def test_it_lets_a_referral_share_be_read_through_rls() -> None:
    a, _b, rows_b, _ = _world()
    note = rows_b[OrganisationNote]
    with rls.acting_for(a.pk, role=ROLE):
        assert not OrganisationNote.objects.filter(pk=note.pk).exists()
    access.share(note, a)
    with rls.acting_for(a.pk, role=ROLE):
        assert OrganisationNote.objects.get(pk=note.pk).body.startswith("RLSVICTIM")
        assert OrganisationNote.objects.filter(pk=note.pk).update(subject=None) == 0  # read-only


@pytest.fixture
def as_app_role(settings: Any) -> Any:
    """The connection logged in as the application role itself, as docs/deploy.md sets production up
    (DATABASE_URL names phare_app; PHARE_DB_ROLE unset, so nothing switches roles per request)."""
    settings.PHARE_DB_ROLE = ""

    @contextlib.contextmanager
    def connected() -> Any:
        with connection.cursor() as cur:
            cur.execute(f"SET ROLE {ROLE}")
        try:
            yield
        finally:
            with connection.cursor() as cur:
                cur.execute("RESET ROLE")

    return connected


def test_it_serves_the_tenants_rows_to_a_server_connected_as_the_app_role(as_app_role: Any) -> None:
    _a, _b, rows_b, ua = _world()
    if not any(m._meta.label == "cases.Case" for m in rows_b):
        pytest.skip("needs the cases pages")
    from phare.cases.models import Case

    own = Case.objects.filter(organisation=ua.organisation).first()
    assert own is not None
    client = login_with_mfa(Client(raise_request_exception=False), ua)
    with as_app_role():
        assert client.get(f"/cases/{own.number}/").status_code == 200  # the middleware named the tenant
        r = client.get("/cases/RLS-VICTIM-CASE/")
        assert r.status_code == 404 and b"RLSVICTIM" not in r.content
        with connection.cursor() as cur:  # and the tenant does not outlive the request
            cur.execute("SELECT current_setting('phare.org_id', true)")
            assert cur.fetchone()[0] == ""


def test_it_runs_a_job_for_its_organisation_as_the_app_role(as_app_role: Any) -> None:
    a, _b, _rows_b, _ = _world()
    from phare.jobs import queue

    seen: dict[str, set[int]] = {}

    def count(job: Any) -> dict[str, Any]:
        seen["orgs"] = set(OrganisationNote.objects.values_list("organisation_id", flat=True))
        return {}

    queue.HANDLERS["test.rls-notes"] = count
    try:
        queue.enqueue("test.rls-notes", organisation=a.pk)
        with as_app_role():
            job = queue.claim(kinds=["test.rls-notes"])
            assert job is not None  # the worker sees the queue (exempt) ...
            assert queue.run_one(job).status == "done"
        assert seen["orgs"] == {a.pk}  # ... and the job sees its organisation's rows, only those
    finally:
        del queue.HANDLERS["test.rls-notes"]


def test_it_counts_a_partners_cases_for_its_operator_under_rls(as_app_role: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from phare.cases.models import Case
    from phare.dashboards import queries
    from phare.dashboards.models import ServicePartnership
    from tests.test_cases_helpers import make_case, make_user

    hub = Organisation.objects.create(slug="rls-hub", org_Name="Hub")
    partner = Organisation.objects.create(slug="rls-partner", org_Name="Partner")
    outsider = Organisation.objects.create(slug="rls-outsider", org_Name="Outsider")
    ServicePartnership.objects.create(operator=hub, partner=partner)
    for org, n in ((partner, 3), (outsider, 2)):
        worker = make_user(org, Role.CASE_WORKER, username=f"{org.slug}-w")
        for _ in range(n):
            make_case(worker)
    analyst = User.objects.create(username="rls-hub-analyst", organisation=hub, role=Role.ANALYST)
    assert rls.install(ROLE) >= 5

    def total(org: Organisation) -> int:
        queries.cache.clear()
        raw = queries.counts(analyst, [org.pk], queries.Filters())
        return sum(raw.get("case_status", {}).values())

    with as_app_role(), rls.acting_for(hub.pk):  # as the middleware sets it for the operator's request
        assert total(partner) == 3  # counted for the operator...
        assert not Case.objects.filter(organisation=partner).exists()  # ...whose request still cannot read the rows
        assert total(outsider) == 0  # no partnership, no count
        with connection.cursor() as cur:  # the request acts for the operator again afterwards
            cur.execute("SELECT current_setting('phare.org_id', true)")
            assert cur.fetchone()[0] == str(hub.pk)
        monkeypatch.setattr(queries.rls, "acting_for", lambda *a, **k: contextlib.nullcontext())
        assert total(partner) == 0  # negative control: without acting for the partner, RLS hides its rows


def test_it_reinstalls_the_policies_after_migrate() -> None:
    from django.core.management import call_command

    _world()
    rls.set_enabled(False, ["cases_case"])  # as a table a new migration created would be: no policy applied
    assert not all(enabled for _, enabled, _, _ in rls.status())
    call_command("migrate", verbosity=0)
    assert all(enabled and forced and policies for _, enabled, forced, policies in rls.status())


def _case_of(org: Organisation) -> Any:
    from phare.cases.models import Case

    return Case.objects.filter(organisation=org).get()


def _reads_case(org: Organisation, case: Any) -> bool:
    from phare.cases.models import Case

    with rls.acting_for(org.pk, role=ROLE):
        return Case.objects.filter(pk=case.pk).exists()


def _write_share(acting: Organisation, **values: Any) -> bool:
    """As the application role acting for `acting`, insert a share; whether the database accepted it."""
    from phare.accounts.models import SharedRecord

    try:
        with transaction.atomic(), rls.acting_for(acting.pk, role=ROLE):
            SharedRecord.objects.create(**values)
    except DatabaseError:
        return False
    return True


def test_it_lets_only_the_owner_share_a_record() -> None:
    a, b, _rows_b, _ = _world()
    case_b = _case_of(b)
    assert not _reads_case(a, case_b)
    # A names itself as the recipient of B's case: refused, whoever it claims the owner is.
    assert not _write_share(a, organisation=a, owner=b, target_type="cases.case", target_uid=case_b.uid)
    # Claiming to own it passes the shares table's check (A may share its own rows)... but opens nothing: the
    # case's own policy wants a share from the case's organisation.
    assert _write_share(a, organisation=a, owner=a, target_type="cases.case", target_uid=case_b.uid)
    assert not _reads_case(a, case_b)
    from phare.accounts.models import SharedRecord

    with rls.acting_for(a.pk, role=ROLE):
        SharedRecord.objects.filter(target_uid=case_b.uid).delete()
    # A share names the table it opens: B sharing its case's uid under another table's name opens nothing.
    assert _write_share(b, organisation=a, owner=b, target_type="accounts.organisationnote", target_uid=case_b.uid)
    assert not _reads_case(a, case_b)
    # The owner's real share opens it.
    assert _write_share(b, organisation=a, owner=b, target_type="cases.case", target_uid=case_b.uid)
    assert _reads_case(a, case_b)


def test_it_fails_with_the_old_share_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control: with the shares table under the plain tenant policy and a shared-read condition that
    trusts any share (as before), a tenant grants itself another tenant's case."""
    monkeypatch.setattr(rls, "shares_statements", lambda role: [
        f"CREATE POLICY {rls.POLICY} ON {rls.SHARES} USING {rls.tenant_condition(role)}"
        f" WITH CHECK {rls.tenant_condition(role)}"])  # fmt: skip
    monkeypatch.setattr(rls, "shared_condition", lambda table, label: (
        f"(uid IN (SELECT s.target_uid FROM {rls.SHARES} s WHERE s.organisation_id = {rls.CURRENT_ORG}"
        " AND s.revoked_at IS NULL))"))  # fmt: skip
    a, b, _rows_b, _ = _world()
    case_b = _case_of(b)
    assert _write_share(a, organisation=a, owner=b, target_type="cases.case", target_uid=case_b.uid)
    assert _reads_case(a, case_b)


def test_it_closes_a_revoked_share_below_the_orm(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, _rows_b, _ = _world()
    case_b = _case_of(b)
    with rls.acting_for(b.pk, role=ROLE):
        access.share(case_b, a)
    assert _reads_case(a, case_b)
    with rls.acting_for(b.pk, role=ROLE):
        access.unshare(case_b, a)
    assert not _reads_case(a, case_b)
    # The recipient cannot revive a revoked share (only the owner writes shares).
    from phare.accounts.models import SharedRecord

    with rls.acting_for(a.pk, role=ROLE):
        assert SharedRecord.objects.filter(target_uid=case_b.uid).update(revoked_at=None) == 0
    assert not _reads_case(a, case_b)
    # Negative control: a shared-read condition that forgets revoked_at keeps the case open after revoking.
    monkeypatch.setattr(rls, "shared_condition", lambda table, label: (
        f"(uid IN (SELECT s.target_uid FROM {rls.SHARES} s WHERE s.organisation_id = {rls.CURRENT_ORG}"
        f" AND s.target_type = {rls._lit(label)} AND s.owner_id = {rls._q(table)}.organisation_id))"))  # fmt: skip
    rls.install(ROLE)
    assert _reads_case(a, case_b)


def _count_plan(org: Organisation) -> dict[str, Any]:
    """The plan of counting every case, as the application role acting for `org`, with parallel workers as cheap
    as a scan: what PostgreSQL would do with a table large enough to pay for them."""
    import json

    with transaction.atomic(), rls.acting_for(org.pk, role=ROLE), connection.cursor() as cur:
        for setting in ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size"):
            cur.execute("SELECT set_config(%s, '0', true)", [setting])
        cur.execute("SELECT set_config('max_parallel_workers_per_gather', '2', true)")
        cur.execute("EXPLAIN (FORMAT JSON) SELECT count(*) FROM cases_case")
        plan = cur.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]  # type: ignore[no-any-return]


def _nodes(plan: dict[str, Any]) -> list[str]:
    return [plan["Node Type"], *(n for child in plan.get("Plans", ()) for n in _nodes(child))]


def test_it_plans_a_count_under_the_policies_as_the_owner_would(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared-read condition is read once, not once per row: a count under the policies can run in parallel
    workers. (Looked up per row, it also made PostgreSQL cost a count of 30,000 cases at 128,000 instead of 2,200,
    and compile it with JIT.)"""
    a, _b, _rows_b, _ = _world()
    plan = _count_plan(a)
    assert "Gather" in _nodes(plan)
    # Negative control: the condition as it was, the share's owner compared with each row's organisation.
    monkeypatch.setattr(rls, "shared_condition", lambda table, label: (
        f"(uid IN (SELECT s.target_uid FROM {rls.SHARES} s WHERE s.organisation_id = {rls.CURRENT_ORG}"
        f" AND s.revoked_at IS NULL AND s.target_type = {rls._lit(label)}"
        f" AND s.owner_id = {rls._q(table)}.organisation_id))"))  # fmt: skip
    rls.install(ROLE)
    plan = _count_plan(a)
    assert "Gather" not in _nodes(plan)


def test_it_refuses_to_move_rows_to_another_tenant(monkeypatch: pytest.MonkeyPatch) -> None:
    """An UPDATE with no WHERE, as the application role: WITH CHECK refuses every row it would hand to
    another organisation."""
    a, b, _rows_b, _ = _world()
    with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic(), \
            rls.acting_for(a.pk, role=ROLE):  # fmt: skip
        OrganisationNote.objects.update(organisation_id=b.pk)
    assert OrganisationNote.objects.filter(organisation=a).count() == 1
    # Negative control: a policy whose WITH CHECK lets anything through moves A's note into B.
    monkeypatch.setattr(rls, "tenant_condition", lambda role, column="organisation_id": (
        f"({column} = {rls.CURRENT_ORG} OR current_setting('phare.maintenance', true) = 'on')"))  # fmt: skip
    real = rls.install_statements

    def loose(role: str, password: str | None = None) -> list[str]:
        return [s.replace(" WITH CHECK (", " WITH CHECK (true OR ") for s in real(role, password)]

    monkeypatch.setattr(rls, "install_statements", loose)
    rls.install(ROLE)
    with transaction.atomic(), rls.acting_for(a.pk, role=ROLE):
        OrganisationNote.objects.update(organisation_id=b.pk)
    assert OrganisationNote.objects.filter(organisation=a).count() == 0
