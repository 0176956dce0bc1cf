"""The rules a database sharded by organisation (Citus, docs/scale.md) needs, enforced on the schema and on data:

1. every tenant table carries `organisation_id`, NOT NULL in the database; a table without it is named below with
   the reason it is not a tenant table, and a table where it may be NULL holds instance-wide rows too (named);
2. every foreign key between tenant tables stays inside one organisation, checked row by row on a generated pair
   of organisations that also referred a case to each other; the two keys that cross by design are named;
3. the audit chain is kept per organisation: each organisation's events and head verify on their own
   (`phare.audit.log.verify_organisation`), and a change to one organisation's events shows in its chain only.
"""

from __future__ import annotations

import re
import traceback
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, models
from django.db.models import F

from phare.accounts.models import Organisation, Role
from phare.accounts.testing import build_tenant_rows
from phare.audit import log as audit
from phare.audit.models import AuditEvent
from phare.cases.demo import create_demo, ensure_org
from phare.cases.models import CaseParticipant, Person

pytestmark = pytest.mark.django_db(transaction=False)

# Tables without an organisation: reference data every shard reads, or rows of a user (who belongs to one
# organisation through accounts_user) that never join tenant data in a query. docs/scale.md, "Sharding".
NOT_TENANT = {
    "auth.permission": "Django's own reference table",
    "auth.group": "Django's own reference table (unused)",
    "contenttypes.contenttype": "Django's own reference table",
    "sessions.session": "a signed-in browser; read by key only",
    "accounts.organisation": "the distribution key itself: a reference table",
    "accounts.mfadevice": "a user's second factor, read by user at sign-in",
    "accounts.recoverycode": "a user's recovery codes, read by user at sign-in",
    "accounts.enrolmentcode": "a user's enrolment code, read by user at sign-in",
    "accounts.signinattempt": "throttling before anyone is known",
    "dashboards.servicepartnership": "joins two organisations by design: kept on the coordinator",
    "api.apitoken": "a user's token, read by its digest before the organisation is known",
    "helplines.reportattempt": "throttling of the public report form, before anyone is known",
}
# Tables whose organisation may be NULL: they hold instance-wide rows beside tenant rows (kept on the coordinator).
INSTANCE_ROWS = {
    "accounts.user": "an instance operator belongs to no organisation",
    "accounts.organisationkey": "the instance keys (audit chain, TOTP secrets) belong to no organisation",
    "audit.auditevent": "instance events (sign-in failures, operators' actions) belong to no organisation",
    "audit.audithead": "the heads of the instance's own chain and of a log written as one chain before chains per "
    "organisation",
    "jobs.job": "instance jobs (sweeps) belong to no organisation",
}
# Foreign keys that cross organisations by design: a referral joins two tenants.
CROSSING = {
    "referrals.transfer.receiver_case": "the case the receiver opened, in the receiver's organisation",
    "cases.referral.source_referral": "the sender's outgoing referral, in the sender's organisation",
}


def _models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if m._meta.managed and not m._meta.proxy]


def _tenant(model: type[models.Model]) -> bool:
    return "organisation_id" in {f.attname for f in model._meta.concrete_fields}


def test_it_gives_every_tenant_table_a_not_null_organisation() -> None:
    labels = {m._meta.label_lower for m in _models()}
    named = set(NOT_TENANT) | set(INSTANCE_ROWS) | {k.rsplit(".", 1)[0] for k in CROSSING}
    assert named <= labels, "a name below no longer names a table"
    unnamed = sorted(m._meta.label_lower for m in _models() if not _tenant(m) and m._meta.label_lower not in NOT_TENANT)
    assert unnamed == [], "a table without organisation_id: add the column, or name it in NOT_TENANT with the reason"
    with connection.cursor() as cursor:
        for model in _models():
            if not _tenant(model):
                continue
            columns = {c.name: c for c in connection.introspection.get_table_description(cursor, model._meta.db_table)}
            nullable = bool(columns["organisation_id"].null_ok)
            assert nullable == (model._meta.label_lower in INSTANCE_ROWS), model._meta.label_lower


def _crossing_rows() -> dict[str, int]:
    """For every foreign key from a tenant table to another tenant table: how many rows point to a row of another
    organisation (or to an instance-wide row)."""
    out: dict[str, int] = {}
    for model in _models():
        if not _tenant(model):
            continue
        for field in model._meta.concrete_fields:
            target = field.related_model
            if not field.is_relation or field.name == "organisation" or not _tenant(target):
                continue
            rows = model._default_manager.filter(**{f"{field.name}__isnull": False})
            same = rows.filter(organisation_id=F(f"{field.name}__organisation_id"))
            both_instance = rows.filter(
                organisation_id__isnull=True, **{f"{field.name}__organisation_id__isnull": True}
            )
            out[f"{model._meta.label_lower}.{field.name}"] = rows.count() - same.count() - both_instance.count()
    return out


@pytest.fixture
def two_organisations() -> tuple[Organisation, Organisation]:
    """Two generated organisations (demo cases, one row of every tenant table), one having referred a case to the
    other, which accepted it."""
    from phare.helplines.models import ReportForm
    from phare.referrals import actions as referrals
    from tests import referral_helpers as helpers

    orgs = []
    for n, slug in enumerate(("shard-a", "shard-b")):
        org, users = ensure_org(slug)
        ReportForm.objects.filter(organisation=org).delete()  # one per organisation: build_tenant_rows makes it
        build_tenant_rows(org, users[Role.CASE_WORKER], f"SHARD{n}")  # first: the demo numbers its cases after these
        create_demo(12, slug=slug, seed=5 + n)
        orgs.append(org)
    a, b = orgs
    helpers_b = helpers.user(b, Role.ADMIN, "shard-b-lister")
    referrals.list_organisation(helpers_b, {"services": ["Legal"], "countries": ["ng"], "area": "Lagos"})
    ua, ub = helpers.user(a, Role.CASE_WORKER, "shard-a-worker"), helpers.user(b, Role.CASE_WORKER, "shard-b-worker")
    case = helpers.rich_case(ua)
    referrals.record_consent(ua, case, b)
    referrals.accept(ub, referrals.send(ua, case, b, services=["Legal"]))
    return a, b


def test_it_keeps_every_foreign_key_between_tenant_tables_inside_one_organisation(
    two_organisations: tuple[Organisation, Organisation],
) -> None:
    crossing = _crossing_rows()
    assert not set(CROSSING) - set(crossing)
    assert {k: v for k, v in crossing.items() if v and k not in CROSSING} == {}
    # The named exceptions do cross here (the referral was accepted): they are real, not stale.
    assert crossing["referrals.transfer.receiver_case"] == 1 and crossing["cases.referral.source_referral"] == 1
    # Enough rows were looked at to mean something.
    assert CaseParticipant.objects.count() >= 24


def test_it_finds_a_row_pointing_into_another_organisation(
    two_organisations: tuple[Organisation, Organisation],
) -> None:
    a, b = two_organisations
    part = CaseParticipant.objects.filter(organisation=a).order_by("id").first()
    stranger = Person.objects.filter(organisation=b).order_by("id").first()
    assert part is not None and stranger is not None
    CaseParticipant.objects.filter(pk=part.pk).update(person=stranger)
    assert _crossing_rows()["cases.caseparticipant.person"] == 1


def test_it_verifies_each_organisations_audit_chain_on_its_own(
    two_organisations: tuple[Organisation, Organisation],
) -> None:
    a, b = two_organisations
    assert audit.verify().ok
    for org in (a, b):
        verdict = audit.verify_organisation(org.pk)
        assert verdict.ok and verdict.checked == AuditEvent.objects.filter(organisation=org).count() > 3
    if connection.vendor == "postgresql":
        return  # the log's trigger refuses UPDATE and DELETE: the tampering below is SQLite's to show
    # An edited event of `a` breaks a's chain, and b's still verifies on its own.
    event = AuditEvent.objects.filter(organisation=a).order_by("id")[2]
    AuditEvent.objects.filter(pk=event.pk).update(action="case.viewed.edited")
    edited = audit.verify_organisation(a.pk)
    assert edited.broken_at == event.pk and edited.reason == "content does not match its hash (edited row)"
    assert audit.verify_organisation(b.pk).ok
    AuditEvent.objects.filter(pk=event.pk).update(action=event.action)
    # A deleted event in the middle of a's chain is caught by a's chain alone.
    gone = AuditEvent.objects.filter(organisation=a).order_by("id")[1]
    AuditEvent.objects.filter(pk=gone.pk).delete()
    verdict = audit.verify_organisation(a.pk)
    assert not verdict.ok and f"the chain org:{a.pk} is broken" in verdict.reason and audit.verify_organisation(b.pk).ok
    # A cut-off tail is caught by the organisation's own head, without the rest of the log.
    AuditEvent.objects.filter(organisation=b).order_by("-id")[:1].get().delete()
    verdict = audit.verify_organisation(b.pk)
    assert not verdict.ok and "truncated" in verdict.reason


# --- 4. every query of tenant data stays inside one organisation ------------------------------------------------
# A query of a tenant table is scoped to one organisation when the table (or its alias) is filtered by a single
# value of `organisation_id`, of a unique column (`id`, `uid`, ...) or of a foreign key to a tenant row (rule 2
# keeps each such row inside one organisation), or to the instance's own rows (`organisation_id IS NULL`), or is
# joined by equality to a table scoped so; an INSERT is scoped by the `organisation_id` it writes. Anything else
# reads or writes across organisations, and on a database sharded by organisation goes to every node. The paths
# that do so by design are named, each with its reason; an unscoped query of any other path fails the test.
# (Citus routes a query by `organisation_id` alone: one scoped by a case's id or a person's uid is answered by one
# organisation's rows, but asks every node until it also names the organisation; docs/scale.md.)
_REF = r'"\w+"|[A-Z]\d+'
_TABLE_REF = re.compile(r'(?:FROM|JOIN|UPDATE|INTO)\s+"(\w+)"(?:\s+([A-Z]\d+))?')
_ONE_VALUE = re.compile(rf'({_REF})\."(\w+)" (?:= %s|IN \(%s\))')
_INSTANCE = re.compile(rf'({_REF})\."organisation_id" IS NULL')
_EQUAL = re.compile(rf'({_REF})\."\w+" (?:=|IN \(SELECT(?: DISTINCT)?) ({_REF})\."\w+"')

CROSSING_PATHS = {
    "crypto.keys:forget_shredded accounts_personkey": "once a request, the time of the latest erasure of any person "
    "key (one timestamp, nothing personal), so that every worker drops erased keys from its cache at once",
    "referrals.templatetags.referrals:referrals_waiting referrals_transfer": "the referrals waiting for this "
    "organisation are its senders' rows of the two-party transfer table (filtered by receiver)",
    "referrals.views:index referrals_transfer": "the referrals page lists the transfers sent to this organisation: "
    "its senders' rows of the two-party transfer table (filtered by receiver)",
}


def _scoping_columns() -> dict[str, set[str]]:
    """Per tenant table: the columns whose single value names rows of one organisation."""
    out: dict[str, set[str]] = {}
    for model in _models():
        if not _tenant(model):
            continue
        fields = model._meta.concrete_fields
        cols = {"organisation_id"} | {f.attname for f in fields if f.unique}
        cols |= {f.attname for f in fields if f.is_relation and _tenant(f.related_model)}
        out[model._meta.db_table] = cols - {f"{k.rsplit('.', 1)[1]}_id" for k in CROSSING
                                            if k.rsplit(".", 1)[0] == model._meta.label_lower}  # fmt: skip
    return out


def unscoped_tables(sql: str, columns: dict[str, set[str]]) -> set[str]:
    """The tenant tables of one SQL statement (with %s placeholders) that no single organisation bounds."""
    refs = {(alias or f'"{table}"'): table for table, alias in _TABLE_REF.findall(sql) if table in columns}
    if not refs:
        return set()
    if sql.startswith("INSERT"):
        return set() if '"organisation_id"' in sql.split("VALUES", 1)[0] else set(refs.values())
    scoped = {ref for ref, col in _ONE_VALUE.findall(sql) if ref in refs and col in columns[refs[ref]]}
    scoped |= {ref for ref in _INSTANCE.findall(sql) if ref in refs}
    pairs = _EQUAL.findall(sql)
    grew = True
    while grew:
        grew = False
        for a, b in pairs:
            for x, y in ((a, b), (b, a)):
                if x in refs and y in scoped and x not in scoped:
                    scoped.add(x)
                    grew = True
    return {refs[r] for r in refs if r not in scoped}


class QueryLog:
    """Every statement run while it is installed, with the innermost Phare function that ran it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        site = "?"
        for frame in reversed(traceback.extract_stack()[:-1]):
            path = frame.filename.replace("\\", "/")
            # A prepared query (phare.core.prepared) runs on behalf of its caller, as the ORM does.
            if "/phare/" in path and "/site-packages/" not in path and not path.endswith("/phare/core/prepared.py"):
                site = path.rsplit("/phare/", 1)[1].removesuffix(".py").replace("/", ".") + ":" + frame.name
                break
        self.seen.append((site, sql))
        return execute(sql, params, many, context)


def _crossing_queries(log: QueryLog) -> dict[str, set[str]]:
    columns = _scoping_columns()
    out: dict[str, set[str]] = {}
    for site, sql in log.seen:
        for table in unscoped_tables(sql, columns):
            out.setdefault(f"{site} {table}", set()).add(sql)
    return out


def _sweep_own_records(role: str) -> tuple[QueryLog, int]:
    """Every URL of the site (tests/test_tenancy.py's sweep) filled with the user's own organisation's records, so
    that pages, API calls, exports and forms run their queries, beside a second organisation holding one row of
    every tenant table."""
    from django.test import Client

    from phare.accounts.testing import login_with_mfa
    from tests import test_tenancy as tenancy

    world = tenancy._world()
    mine = world.attacker_org
    other = Organisation.objects.create(slug="elsewhere", org_Name="Elsewhere")
    own = tenancy.World(other, [], world.users,
                        {m: list(m._default_manager.filter(organisation=mine)[:1]) for m in world.models},
                        world.models)  # fmt: skip
    urls = tenancy._sweep(own)
    client = login_with_mfa(Client(raise_request_exception=False), world.users[role])
    log = QueryLog()
    ok = 0
    with connection.execute_wrapper(log):
        for url in urls:
            ok += client.get(url).status_code == 200
    return log, ok


def test_it_finds_a_query_that_crosses_organisations() -> None:
    columns = _scoping_columns()
    one = 'SELECT * FROM "cases_consent" WHERE "cases_consent"."organisation_id" = %s'
    assert unscoped_tables(one, columns) == set()
    child = ('SELECT * FROM "cases_consent" INNER JOIN "cases_case" T2 ON ("cases_consent"."case_id" = T2."id") '
             'WHERE T2."organisation_id" = %s')  # fmt: skip
    assert unscoped_tables(child, columns) == set()
    assert unscoped_tables('SELECT * FROM "cases_case" WHERE "cases_case"."number" = %s', columns) == {"cases_case"}
    assert unscoped_tables('SELECT * FROM "cases_case" WHERE "cases_case"."id" IN (%s, %s)', columns) == {"cases_case"}
    assert unscoped_tables('INSERT INTO "cases_case" ("number") VALUES (%s)', columns) == {"cases_case"}


def test_it_scopes_every_query_of_tenant_data_to_one_organisation() -> None:
    log, ok = _sweep_own_records(Role.ADMIN)
    assert ok > 50 and len(log.seen) > 2000  # pages did render, and their queries were seen
    crossing = _crossing_queries(log)
    unnamed = {k: sorted(v)[:2] for k, v in crossing.items() if k not in CROSSING_PATHS}
    assert unnamed == {}, "a query reads tenant data of more than one organisation: filter it, or name its path"
    assert set(CROSSING_PATHS) <= set(crossing), "a named path no longer crosses organisations: remove it"


def test_it_notices_a_call_site_that_drops_its_organisation_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor == "postgresql":
        pytest.skip("the check reads the ORM's SQL, alike on both databases: its negative control runs on SQLite")
    from phare.cases.models import Case

    monkeypatch.setattr("phare.cases.filters.visible_cases", lambda user: Case.objects.all())
    crossing = _crossing_queries(_sweep_own_records(Role.ADMIN)[0])
    assert {k for k in crossing if k not in CROSSING_PATHS and k.endswith(" cases_case")}
