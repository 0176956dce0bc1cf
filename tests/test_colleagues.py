"""A colleague of the same organisation with a weaker role, through every URL: a case worker or helpline operator
who is not on a case, an analyst, an auditor. None of them may read the personal values of a colleague's case or
change its rows, whatever URL names it (its number, its records' uids, its rows' ids), pages and API alike; and
with the case list's scoping switched off, the same sweep finds the leak.

The cross-organisation sweep (tests/test_tenancy.py) cannot see this: inside one organisation the tenant filter
and row-level security let every row through, and only the rule of who sees which case (`visible_cases`) and
the field rule (`field_shown`) stand between a colleague and a victim's name."""

from __future__ import annotations

import hashlib

import pytest
from django.db import connection

from phare.accounts.models import Organisation, Role, User
from phare.accounts.testing import build_tenant_rows, tenant_models
from phare.cases.models import Case
from phare.crypto.fields import EncryptedTextField
from tests import test_tenancy as tenancy
from tests.test_cases_helpers import make_case

pytestmark = pytest.mark.django_db

VICTIM = tenancy.VICTIM
# Who sweeps: the weaker roles of the victim case's own organisation. The case worker and the helpline operator
# read personal data, but only of their own cases; the analyst and the auditor see the case, never a personal value.
# The case worker also POSTs to every URL (the others' writes are refused by role before any row is read).
SWEEP = {Role.CASE_WORKER: True, Role.HELPLINE: False, Role.ANALYST: False, Role.AUDITOR: False}
# On PostgreSQL, where each request costs about three times as much, the case worker alone: the rule of who sees
# which case is the application's on both databases (row-level security stops at the organisation).
SWEEP_POSTGRESQL = {Role.CASE_WORKER: True}
# POSTs that open a case to their sender by design, audited and reviewed: an emergency (break-glass) access, from
# the case's page or for a record, and a request for access to a person a search withheld.
GRANTS = ("/accounts/break-glass/", "/emergency/", "/cases/access/match/")


def _world() -> tuple[tenancy.World, dict[int, str], str]:
    """One organisation: a user of each role, none of them on the victim case, which belongs to another case
    worker and holds the marker in every personal value (`build_tenant_rows`); the sweeping case worker has a case
    of their own."""
    org = Organisation.objects.create(slug="alpha", org_Name="Alpha")
    users = {r: User.objects.create(username=f"alpha-{r}", organisation=org, role=r) for r in tenancy.ROLES}
    owner = User.objects.create(username="alpha-owner", organisation=org, role=Role.CASE_WORKER)
    rows = build_tenant_rows(org, owner, VICTIM)
    # A helpline contact is the line's: every operator of the organisation reads it unless its case is restricted
    # (phare.helplines.access), so its own values are not the marker; it is about the victim case, whose page it
    # links to (and whose person it must not name).
    contact = next(obj for model, obj in rows.items() if model._meta.label_lower == "helplines.contact")
    for field in contact._meta.concrete_fields:
        if isinstance(field, EncryptedTextField):
            setattr(contact, field.name, f"LINE-{field.name}")
    contact.case = rows[Case]
    contact.save()
    # A referral the organisation sent (to itself, as built, it would also be one it received, in its intake).
    sent = next(obj for model, obj in rows.items() if model._meta.label_lower == "referrals.transfer")
    type(sent).objects.filter(pk=sent.pk).update(receiver=Organisation.objects.create(slug="beta", org_Name="Beta"))
    world = tenancy.World(org, [org], users, {model: [obj] for model, obj in rows.items() if obj is not None})
    world.models = [m for m in tenant_models() if m in world.victims]
    Case.objects.filter(pk=rows[Case].pk).update(number="VCASE-0")
    own = make_case(users[Role.CASE_WORKER], first="Own", second="Person").number
    return world, {org.pk: "VCASE-0"}, own


def _case_rows(world: tenancy.World) -> str:
    """The victim case's rows: each victim row, and every row that names the case or its person (a comment added
    to it counts as much as one changed)."""
    case = world.victims[Case][0]
    person = next(o for objs in world.victims.values() for o in objs if o._meta.label_lower == "cases.person")
    h = hashlib.sha256()
    with connection.cursor() as cur:
        for model in world.models:
            table = connection.ops.quote_name(model._meta.db_table)
            columns = {f.column for f in model._meta.concrete_fields}
            ids = [o.pk for o in world.victims[model]]
            where = [f"id IN ({', '.join(map(str, ids))})"]
            where += [f"{c} = {pk}" for c, pk in (("case_id", case.pk), ("person_id", person.pk)) if c in columns]
            cur.execute(f"SELECT * FROM {table} WHERE {' OR '.join(where)} ORDER BY 1")
            h.update(repr(cur.fetchall()).encode())
    return h.hexdigest()


def test_it_lets_no_colleague_without_the_case_read_or_change_it_through_any_url() -> None:
    world, numbers, own = _world()
    urls = tenancy._sweep(world, numbers, own)
    assert any(u.startswith("/cases/VCASE-0/") for u in urls) and any("/api/v1/cases/" in u for u in urls)
    contact = world.victims[next(m for m in world.victims if m._meta.label_lower == "helplines.contact")][0]
    assert f"/helpline/{contact.reference}/" in urls
    roles = SWEEP_POSTGRESQL if connection.vendor == "postgresql" else SWEEP
    attempts, leaks = tenancy._run_http(world, roles, urls=urls, snapshot=_case_rows, no_post=GRANTS)
    posted = sum(not any(part in url for part in GRANTS) for url in urls) * sum(roles.values())
    assert attempts == len(roles) * len(urls) + posted and len(urls) > 200
    assert leaks == [], "\n".join(leaks)


def test_it_finds_the_leak_when_a_case_worker_sees_every_case_of_the_organisation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from phare.cases import access

    world, numbers, own = _world()
    # What a careless change to the rule of who sees which case would do: a case worker sees every case of the
    # organisation, as a supervisor does.
    monkeypatch.setattr(access, "sees_every_case", lambda user: True)
    urls = tenancy._sweep(world, numbers, own)
    _attempts, leaks = tenancy._run_http(world, {Role.CASE_WORKER: False}, first_leak=True, urls=urls,
                                         snapshot=_case_rows)  # fmt: skip
    assert leaks, "the sweep did not notice a case worker reading every case of their organisation"


def test_it_finds_the_leak_when_the_field_rule_shows_an_analyst_personal_values(monkeypatch: pytest.MonkeyPatch) -> None:
    from phare import access

    world, numbers, own = _world()
    monkeypatch.setattr(access, "field_shown", lambda field, reads_personal: True)
    urls = tenancy._sweep(world, numbers, own)
    _attempts, leaks = tenancy._run_http(world, {Role.ANALYST: False}, first_leak=True, urls=urls,
                                         snapshot=_case_rows)  # fmt: skip
    assert leaks, "the sweep did not notice an analyst reading personal values"
