"""Cross-tenant isolation, property-based: more than 10,000 generated attempts per run to read or change
another organisation's rows, through the access layer and through every URL pattern that takes an id.
None may succeed; and with the access layer's filter switched off the same checks do find the leak."""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.http import Http404
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phare import access
from phare.accounts.models import Organisation, Role, User
from phare.accounts.testing import build_tenant_rows, login_with_mfa, tenant_models

pytestmark = pytest.mark.django_db

VICTIM = "VICTIMX"
ACCESS_EXAMPLES, ACCESS_BATCH = 250, 40  # 10,000 access-layer attempts
HTTP_EXAMPLES, HTTP_BATCH = 40, 16  # 640 requests, GET and POST
ROLES = [Role.ADMIN, Role.SUPERVISOR, Role.CASE_WORKER, Role.HELPLINE, Role.ANALYST, Role.AUDITOR]


@dataclass
class World:
    attacker_org: Organisation
    victim_orgs: list[Organisation]
    users: dict[str, User]
    victims: dict[type[Any], list[Any]] = field(default_factory=dict)
    models: list[type[Any]] = field(default_factory=list)


def _world() -> World:
    a = Organisation.objects.create(slug="attacker", org_Name="Attacker")
    users = {r: User.objects.create(username=f"att-{r}", organisation=a, role=r) for r in ROLES}
    build_tenant_rows(a, users[Role.CASE_WORKER], "ATTACKER")
    world = World(a, [], users)
    for n in range(2):
        v = Organisation.objects.create(slug=f"victim{n}", org_Name=f"Victim {n}")
        owner = User.objects.create(username=f"victim-owner-{n}", organisation=v, role=Role.SUPERVISOR)
        for model, obj in build_tenant_rows(v, owner, VICTIM).items():
            world.victims.setdefault(model, []).append(obj)
        _unique_case_numbers(v, n)
    world.models = [m for m in tenant_models() if m in world.victims]
    return world


def _unique_case_numbers(org: Organisation, n: int) -> None:
    from django.apps import apps

    try:
        case = apps.get_model("cases", "Case")
    except LookupError:
        return
    case.objects.filter(organisation=org).update(number=f"VCASE-{n}")


def _victim_ids(world: World) -> set[int]:
    return {v.pk for v in world.victim_orgs} | {o.organisation_id for objs in world.victims.values() for o in objs}


# -- through the access layer --------------------------------------------------------------------------------


def _access_attempt(user: User, model: type[Any], victim: Any, op: str, victim_orgs: set[int]) -> bool:
    """One attempt; True when it reached the victim's row."""
    key = {"pk": victim.pk} if op.endswith("pk") or not hasattr(victim, "uid") else {"uid": victim.uid}
    if op.startswith("get"):
        try:
            got = access.get_or_404(user, model, **key)
        except Http404:
            return False
        return got.organisation_id in victim_orgs
    if op.startswith("readable"):
        return access.readable(user, model).filter(**key).exists()
    if op.startswith("list"):
        return any(o in victim_orgs for o in access.scoped(user, model).values_list("organisation_id", flat=True))
    if op.startswith("aggregate"):
        return access.scoped_aggregate(user, model).filter(**key).exists()
    try:
        with transaction.atomic():
            qs = access.scoped(user, model).filter(**key)
            changed = qs.update(organisation_id=user.organisation_id) if op.startswith("steal") else qs.delete()[0]
            transaction.set_rollback(True)
    except DatabaseError:
        return True  # the write reached the row (and a constraint stopped it)
    return bool(changed)


OPS = ["get-pk", "get-uid", "readable-pk", "readable-uid", "list", "aggregate-pk", "steal-pk", "delete-uid"]


def _run_access(world: World, examples: int, batch: int) -> tuple[int, int]:
    victim_orgs = {o.organisation_id for objs in world.victims.values() for o in objs}
    tally = [0, 0]

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(role=st.sampled_from(ROLES), seed=st.integers(0, 2**64))
    def check(role: str, seed: int) -> None:
        # Hypothesis draws the role and a seed; the seed expands into `batch` attempts (cheap to generate,
        # and a failing example still replays exactly).
        user = world.users[role]
        rnd = random.Random(seed)
        for _ in range(batch):
            model = rnd.choice(world.models)
            victim = rnd.choice(world.victims[model])
            tally[0] += 1
            tally[1] += _access_attempt(user, model, victim, rnd.choice(OPS), victim_orgs)

    check()
    return tally[0], tally[1]


def test_it_lets_no_access_layer_attempt_reach_another_organisation() -> None:
    world = _world()
    assert len(world.models) >= 5
    attempts, leaks = _run_access(world, ACCESS_EXAMPLES, ACCESS_BATCH)
    assert attempts >= 10_000
    assert leaks == 0


def test_it_finds_the_leak_when_the_access_layer_filter_is_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    monkeypatch.setattr(access, "ENFORCE_TENANT_FILTER", False)
    attempts, leaks = _run_access(world, 10, 20)
    assert attempts == 200 and leaks > 0


# -- through the URLs ----------------------------------------------------------------------------------------


def _patterns(resolver: URLResolver | None = None, prefix: str = "") -> list[tuple[str, dict[str, str]]]:
    """(route template, {param: converter}) for every URL pattern that takes a parameter."""
    out: list[tuple[str, dict[str, str]]] = []
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        route = str(p.pattern)
        if isinstance(p, URLResolver):
            out += _patterns(p, prefix + route)
        elif isinstance(p, URLPattern):
            conv = getattr(p.pattern, "converters", {})
            if conv:
                out.append((prefix + route, {k: type(v).__name__ for k, v in conv.items()}))
    return out


def _fill(route: str, values: dict[str, Any]) -> str:
    import re

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route).lstrip("^").rstrip("$")


def _pools(world: World) -> dict[str, list[Any]]:
    objs = [o for objs in world.victims.values() for o in objs]
    ints = sorted({o.pk for o in objs} | {u.pk for u in User.objects.exclude(organisation=world.attacker_org)})
    uids = [o.uid for o in objs if hasattr(o, "uid")] or [uuid.uuid4()]
    words = [o.number for o in objs if hasattr(o, "number")] + [m._meta.label_lower for m in world.models]
    words += ["people", "events", "referrals", "support-plans", "consents", "assessments", "comments", "event"]
    return {"IntConverter": ints, "UUIDConverter": uids, "StringConverter": words + [str(u) for u in uids],
            "SlugConverter": [o.slug for o in world.victim_orgs] + words, "PathConverter": words}  # fmt: skip


def _victim_snapshot(world: World) -> str:
    h = hashlib.sha256()
    with connection.cursor() as cur:
        for model in world.models:
            cur.execute(
                f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)} WHERE organisation_id <> %s ORDER BY 1",
                [world.attacker_org.pk],
            )
            h.update(repr(cur.fetchall()).encode())
    return h.hexdigest()


def _run_http(world: World, examples: int, batch: int) -> tuple[int, list[str]]:
    patterns = _patterns()
    pools = _pools(world)
    clients = {r: login_with_mfa(Client(raise_request_exception=False), u) for r, u in world.users.items()}
    tally = [0]
    leaks: list[str] = []

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(
        role=st.sampled_from(ROLES),
        picks=st.lists(
            st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.booleans()), min_size=batch, max_size=batch
        ),
    )
    def check(role: str, picks: list[tuple[int, int, bool]]) -> None:
        before = _victim_snapshot(world)
        for p, seed, post in picks:
            route, params = patterns[p % len(patterns)]
            values = {}
            for i, (name, conv) in enumerate(sorted(params.items())):
                pool = pools.get(conv, pools["StringConverter"])
                values[name] = pool[(seed // (i + 1) + i * 7) % len(pool)]
            url = _fill(route, values)
            r = clients[role].post(url, {"reason": "x" * 30, "hours": 1}) if post else clients[role].get(url)
            tally[0] += 1
            if VICTIM.encode() in r.content:
                leaks.append(f"{'POST' if post else 'GET'} {url} as {role}: {r.status_code}")
        if _victim_snapshot(world) != before:
            leaks.append(f"victim rows changed by {role}")

    check()
    return tally[0], leaks


def test_it_lets_no_request_to_any_url_read_or_change_another_organisations_rows() -> None:
    world = _world()
    assert any("<uuid:uid>" in r or "<int:pk>" in r for r, _ in _patterns())
    attempts, leaks = _run_http(world, HTTP_EXAMPLES, HTTP_BATCH)
    assert attempts >= HTTP_EXAMPLES * HTTP_BATCH
    assert leaks == []


def test_it_finds_the_http_leak_when_the_access_layer_filter_is_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    if not any("<str:number>" in r for r, _ in _patterns()):
        pytest.skip("needs the cases pages")
    monkeypatch.setattr(access, "ENFORCE_TENANT_FILTER", False)
    supervisor = login_with_mfa(Client(raise_request_exception=False), world.users[Role.SUPERVISOR])
    leaked = [n for n in ("VCASE-0", "VCASE-1") if VICTIM.encode() in supervisor.get(f"/cases/{n}/").content]
    assert leaked  # the same check that passes above catches a missing filter
