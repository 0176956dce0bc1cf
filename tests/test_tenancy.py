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
        owner = User.objects.create(username=f"{VICTIM}-owner-{n}", organisation=v, role=Role.SUPERVISOR)
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


# Routes that end the session itself: requesting them would sign the sweep's client out.
_SKIP = ("accounts/logout/", "accounts/login/")


def _all_routes(resolver: URLResolver | None = None, prefix: str = "") -> list[tuple[str, list[str]]]:
    """(route template, parameter names) of every URL pattern, with or without parameters."""
    import re

    out: list[tuple[str, list[str]]] = []
    for p in (resolver or get_resolver()).url_patterns:
        route = str(p.pattern)
        if isinstance(p, URLResolver):
            out += _all_routes(p, prefix + route)
        elif isinstance(p, URLPattern) and not route.startswith(("^static", "static")) and prefix + route not in _SKIP:
            out.append((prefix + route, re.findall(r"<(?:\w+:)?(\w+)>", route)))
    return sorted(set((r, tuple(ps)) for r, ps in out))  # type: ignore[misc]


# An API id parameter names the model whose victim ids fill it; any other id parameter gets every victim uid.
_ID_MODELS = {"case_id": "cases.case", "person_id": "cases.person", "participant_id": "cases.caseparticipant",
              "referral_id": "cases.referral", "comment_id": "cases.casecomment", "event_id": "cases.traffickingevent",
              "plan_id": "cases.supportplan", "consent_id": "cases.consent", "assessment_id": "cases.assessment",
              "organisation_id": "cases.externalorganisation"}  # fmt: skip
_KINDS = ["events", "plans", "consents", "referrals-in", "referrals-out", "csv", "xlsx", "ctdc", "synthetic"]


def _sweep(world: World, numbers: dict[int, str] | None = None, own: str | None = None) -> list[str]:
    """Every route of the site, once for each victim record that fits its parameters: a request that names
    another organisation's case by its number, its records by their uid, its rows by their id. Checking every
    route each run (instead of drawing a few at random) is what makes a missing filter impossible to miss.
    `numbers`: the victims' case number by organisation, and `own` the attacker's, when the victims are the
    attacker's colleagues (tests/test_colleagues.py)."""
    objs = [o for objs in world.victims.values() for o in objs]
    by_label: dict[str, list[Any]] = {}
    for o in objs:
        by_label.setdefault(o._meta.label_lower, []).append(o)
    if numbers is None:
        numbers = dict(_unfiltered("cases.case").exclude(organisation=world.attacker_org)
                       .values_list("organisation_id", "number"))  # fmt: skip
    from phare.cases.views import RECORDS

    kind_models = {kind: spec[1]._meta.label_lower for kind, spec in RECORDS.items()}
    # The attacker's own case number with a victim's record uid: the case opens, the record must not.
    if own is None:
        own = _unfiltered("cases.case").filter(organisation=world.attacker_org).values_list("number", flat=True).first()
    urls: list[str] = []
    for route, params in _all_routes():
        if not params:
            urls.append(_fill(route, {}))
            continue
        if "kind" in params and "uid" in params and route.startswith("cases/"):
            # a record page: each kind with the uids of its own model (other pairs answer 404 by design)
            for kind, label in kind_models.items():
                for o in by_label.get(label, []):
                    for number in (numbers.get(o.organisation_id), own):
                        urls.append(_fill(route, {"number": number, "kind": kind, "uid": o.uid}))
            continue
        for o in objs:
            values: dict[str, Any] = {}
            for name in params:
                if name == "number":
                    values[name] = numbers.get(o.organisation_id, "VCASE-0")
                elif name == "reference":  # a helpline contact's own reference (HL-...)
                    fits = [x for x in by_label.get("helplines.contact", []) if x.organisation_id == o.organisation_id]
                    values[name] = fits[0].reference if fits else "HL-0"
                elif name in _ID_MODELS:
                    fits = [x for x in by_label.get(_ID_MODELS[name], []) if x.organisation_id == o.organisation_id]
                    values[name] = (fits[0].pk if name == "organisation_id" else fits[0].uid) if fits else uuid.uuid4()
                elif name in ("uid", "target_uid") or name.endswith("_id"):
                    values[name] = getattr(o, "uid", None) or uuid.uuid4()
                elif name in ("pk", "id"):
                    values[name] = o.pk
                elif name == "target_type":
                    values[name] = o._meta.label_lower
                else:
                    values[name] = None
            kinds = _KINDS if any(v is None for v in values.values()) else [""]
            for kind in kinds:
                urls.append(_fill(route, {k: kind if v is None else v for k, v in values.items()}))
                if "number" in values and len(params) > 1:
                    urls.append(_fill(route, {k: kind if v is None else own if k == "number" else v
                                              for k, v in values.items()}))  # fmt: skip
    return sorted(set(urls))


# Who sweeps: the roles that see the most of their own organisation write (GET and POST); the others read.
SWEEP = {Role.ADMIN: True, Role.SUPERVISOR: True, Role.CASE_WORKER: False, Role.ANALYST: False}
# On PostgreSQL row-level security repeats the tenant filter below the application, and each request costs three
# times as much: the sweep there runs as the widest role (GET and POST) and as a case worker; every role sweeps on
# SQLite, where the application's filter stands alone.
SWEEP_POSTGRESQL = {Role.ADMIN: True, Role.CASE_WORKER: False}


def _run_http(world: World, roles: dict[str, bool], first_leak: bool = False, urls: list[str] | None = None,
              snapshot: Any = None, no_post: tuple[str, ...] = ()) -> tuple[int, list[str]]:  # fmt: skip
    """Request every URL of the sweep as each role (session for the pages, a token for the API), GET and, for
    the roles marked so, POST (except to URLs that hold one of `no_post`); a leak is a victim's marker in a
    response or a victim row changed (`snapshot(world)`: by default every row of the other organisations)."""
    from phare.api import tokens

    urls = _sweep(world) if urls is None else urls
    snapshot = snapshot or _victim_snapshot
    leaks: list[str] = []
    attempts = 0
    before = snapshot(world)
    for role, posts in roles.items():
        user = world.users[role]
        client = login_with_mfa(Client(raise_request_exception=False), user)
        bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens.create(user, list(tokens.SCOPES), 1)[1]}"}
        for url in urls:
            if first_leak and leaks:
                return attempts, leaks
            extra = bearer if url.startswith("/api/") else {}
            for post in (False, True) if posts and not any(part in url for part in no_post) else (False,):
                r = client.post(url, {"reason": "x" * 30, "hours": 1}, **extra) if post else client.get(url, **extra)
                attempts += 1
                body = b"".join(r.streaming_content) if getattr(r, "streaming", False) else r.content
                if VICTIM.encode() in body:
                    leaks.append(f"{'POST' if post else 'GET'} {url} as {role}: {r.status_code}")
    if snapshot(world) != before:
        leaks.append("victim rows changed")
    return attempts, leaks


def test_it_lets_no_request_to_any_url_read_or_change_another_organisations_rows() -> None:
    world = _world()
    urls = _sweep(world)
    assert any("/api/v1/cases/" in u for u in urls) and any(u.startswith("/cases/VCASE-") for u in urls)
    roles = SWEEP_POSTGRESQL if connection.vendor == "postgresql" else SWEEP
    attempts, leaks = _run_http(world, roles)
    assert attempts == (len(roles) + sum(roles.values())) * len(urls) and len(urls) > 200
    assert leaks == []


def _unfiltered(model_label: str) -> Any:
    from django.apps import apps

    return apps.get_model(model_label)._default_manager.all()


# One call site at a time, each replaced by a version without the tenant filter (what a careless change would
# do): the sweep above must find the leak each one opens.
CALL_SITES: dict[str, tuple[str, Any]] = {
    "case page (get_case)": ("phare.cases.views.get_case",
                             lambda user, number: _unfiltered("cases.case").filter(number=number).first()),
    "case list (visible_cases)": ("phare.cases.filters.visible_cases", lambda user: _unfiltered("cases.case")),
    "API case (_case)": ("phare.api.v1._case", lambda user, case_id: _unfiltered("cases.case").get(uid=case_id)),
    "API persons (visible_persons)": ("phare.api.v1.visible_persons", lambda user: _unfiltered("cases.person")),
    "record pages (_participant)": ("phare.cases.views._participant", lambda case, request, **lookup:
                                    _unfiltered("cases.caseparticipant").select_related("person").get(**lookup)),
}  # fmt: skip


@pytest.mark.parametrize("site", sorted(CALL_SITES))
def test_it_finds_the_leak_when_one_call_site_forgets_the_tenant(site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world()
    target, replacement = CALL_SITES[site]
    monkeypatch.setattr(target, replacement)
    _attempts, leaks = _run_http(world, {Role.SUPERVISOR: False}, first_leak=True)
    assert leaks, f"the sweep did not notice {site} without its tenant filter"
