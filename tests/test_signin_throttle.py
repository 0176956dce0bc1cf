"""The sign-in throttle: one budget per account whatever form of its name is typed; the client's real address
behind trusted proxies; an address that sprays guesses blocks itself and nobody else; failed and locked sign-ins
in the account's organisation's audit page. Each test carries its negative control."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, RequestFactory, override_settings

from phare.accounts import proxies, throttle
from phare.accounts import views as account_views
from phare.accounts.models import Role, SignInAttempt, User
from phare.audit import log as audit_log
from phare.audit.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_hashing(settings: Any) -> None:
    """Hundreds of password checks: a fast hasher keeps them quick (Argon2 itself is tested in test_accounts)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

WRONG = "not the password at all"
SPRAY = 100  # failures from one address, spread over ten accounts (issue 25); the limit is throttle.MAX_IP_FAILURES

# Forms of "amina" that NFKC maps to it, and case variants.
FULL_WIDTH = "\uff41\uff4d\uff49\uff4e\uff41"
MATH_BOLD = "".join(chr(0x1D41A + ord(ch) - ord("a")) for ch in "amina")
MODIFIER = "\u1d43\u1d50\u2071\u207f\u1d43"
VARIANTS = [FULL_WIDTH, MATH_BOLD, MODIFIER, "AMINA", "Amina", "\uff21mina"]
CYRILLIC_A = "\u0430mina"  # looks the same, is another name: never signs in to amina


def _post(client: Client, username: str, password: str, addr: str = "127.0.0.1", **extra: Any) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=addr, **extra)


def _signed_in_as(client: Client) -> int | None:
    raw = client.session.get("_auth_user_id")
    return int(raw) if raw is not None else None


def test_it_counts_every_form_of_a_name_against_one_account(make_user: Any, org: Any, monkeypatch: Any) -> None:
    amina = make_user(Role.CASE_WORKER, org, username="amina")
    assert {throttle.canonical(v) for v in VARIANTS} == {"amina"}
    # Each form signs in to amina, the account it is counted against (and to nobody else).
    for form in VARIANTS:
        c = Client()
        assert _post(c, form, PASSWORD).status_code == 302, form
        assert _signed_in_as(c) == amina.pk
    assert set(SignInAttempt.objects.values_list("username", flat=True)) == {"amina"}
    assert _post(Client(), CYRILLIC_A, PASSWORD).status_code == 200  # a homoglyph of another script: no account
    SignInAttempt.objects.all().delete()

    def ten_failures_in_many_forms_then_the_right_password() -> int:
        c = Client()
        for i in range(throttle.MAX_FAILURES):
            assert _post(c, VARIANTS[i % len(VARIANTS)], WRONG).status_code == 200
        return int(_post(c, "amina", PASSWORD).status_code)

    # Negative control: count each typed form on its own (the old key, the typed text lower-cased)...
    monkeypatch.setattr(throttle, "account_key", lambda typed, account: typed.strip().lower()[:150])
    assert ten_failures_in_many_forms_then_the_right_password() == 302  # ...and ten guesses did not lock amina
    monkeypatch.undo()
    SignInAttempt.objects.all().delete()
    assert ten_failures_in_many_forms_then_the_right_password() == 429
    for form in VARIANTS:  # every form of the name is locked out with it
        c = Client()
        assert _post(c, form, PASSWORD).status_code == 429 and _signed_in_as(c) is None
    assert SignInAttempt.objects.filter(username="amina", ok=False).count() == throttle.MAX_FAILURES


def test_it_shares_the_account_budget_across_addresses_and_forms(make_user: Any, org: Any) -> None:
    make_user(Role.CASE_WORKER, org, username="amina")
    c = Client()
    for i in range(throttle.ADDRESS_SHARE):  # two guessers, five guesses each, in different forms of the name
        _post(c, VARIANTS[i], WRONG, "203.0.113.1")
        _post(c, VARIANTS[-1 - i], WRONG, "203.0.113.2")
    r = _post(Client(), MATH_BOLD, PASSWORD, "198.51.100.9")  # a third address, the right password: refused
    assert r.status_code == 429


def test_it_never_signs_in_an_ambiguous_name_to_either_account(make_user: Any, org: Any) -> None:
    # Two accounts whose names differ only by case (made before names were compared case-insensitively).
    lower = User.objects.create_user(username="samir", password=PASSWORD, organisation=org)
    upper = User.objects.create_user(username="Samir", password=PASSWORD, organisation=org)
    for typed, who in (("samir", lower.pk), ("Samir", upper.pk), ("SAMIR", None), ("\uff53amir", lower.pk)):
        c = Client()
        _post(c, typed, PASSWORD)
        assert _signed_in_as(c) == who, typed
    # and one budget for both: ten failures in any form lock both names
    c = Client()
    for _ in range(throttle.MAX_FAILURES):
        _post(c, "SAMIR", WRONG)
    assert _post(Client(), "Samir", PASSWORD).status_code == 429


def test_it_refuses_new_usernames_that_differ_from_another_only_by_form(
    make_user: Any, org: Any, client_for: Any
) -> None:
    make_user(Role.CASE_WORKER, org, username="amina")
    c = client_for(make_user(Role.ADMIN, org))
    base = {"role": Role.HELPLINE, "is_active": "on", "password": "plum-orbit-92-lantern"}
    for taken in ("AMINA", FULL_WIDTH, MATH_BOLD):
        r = c.post("/accounts/users/new/", {**base, "username": taken})
        assert r.status_code == 200 and "taken" in r.content.decode(), taken
    assert User.objects.filter(username__iexact="amina").count() == 1


def test_it_blocks_the_address_that_sprays_guesses_and_nobody_else(make_user: Any, org: Any, monkeypatch: Any) -> None:
    """100 failures spread over 10 accounts from one address block that address; another address still signs in
    to one of those accounts (issue 25's per-address sign-in throttle)."""
    targets = [make_user(Role.CASE_WORKER, org) for _ in range(10)]
    spare = make_user(Role.CASE_WORKER, org)
    attacker, colleague = "203.0.113.66", "198.51.100.7"

    def spray() -> None:
        SignInAttempt.objects.all().delete()
        c = Client()
        for i in range(SPRAY):
            _post(c, targets[i % len(targets)].username, WRONG, attacker)

    spray()
    r = _post(Client(), spare.username, PASSWORD, attacker)  # an account it never tried, the right password
    assert r.status_code == 429 and "network address" in r.content.decode()
    c = Client()
    assert _post(c, targets[3].username, PASSWORD, colleague).status_code == 302
    assert _signed_in_as(c) == targets[3].pk
    # Negative control 1: without the per-address limit, the sprayer goes on guessing (and gets in).
    monkeypatch.setattr(throttle, "MAX_IP_FAILURES", 10**9)
    spray()
    assert _post(Client(), spare.username, PASSWORD, attacker).status_code == 302
    monkeypatch.undo()
    # Negative control 2: when every address counts fully against the account (no per-address share), the
    # sprayer's ten guesses at each account lock their owners out everywhere.
    monkeypatch.setattr(throttle, "ADDRESS_SHARE", throttle.MAX_FAILURES)
    spray()
    assert _post(Client(), targets[3].username, PASSWORD, colleague).status_code == 429


@override_settings(PHARE_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_it_limits_the_real_client_behind_a_trusted_proxy_not_the_whole_instance(
    make_user: Any, org: Any, monkeypatch: Any
) -> None:
    targets = [make_user(Role.CASE_WORKER, org) for _ in range(10)]
    proxy, attacker, colleague = "10.0.0.5", "203.0.113.66", "198.51.100.7"

    def spray_then_colleague_signs_in() -> int:
        SignInAttempt.objects.all().delete()
        c = Client()
        for i in range(SPRAY):
            _post(c, targets[i % 10].username, WRONG, proxy, HTTP_X_FORWARDED_FOR=f"{attacker}, 10.0.0.9")
        assert _post(c, targets[0].username, PASSWORD, proxy, HTTP_X_FORWARDED_FOR=attacker).status_code == 429
        return int(_post(Client(), targets[1].username, PASSWORD, proxy, HTTP_X_FORWARDED_FOR=colleague).status_code)

    assert spray_then_colleague_signs_in() == 302
    failed = AuditEvent.objects.filter(action="signin.failed").last()
    assert failed is not None and failed.ip == attacker  # the audit log records the real client
    assert AuditEvent.objects.filter(action="signin").last().ip == colleague  # type: ignore[union-attr]
    assert set(SignInAttempt.objects.values_list("ip", flat=True)) == {attacker, colleague}
    # Negative control: without the trusted-proxy setting every request comes from the proxy, and one sprayer
    # blocks everybody behind it.
    monkeypatch.setattr(proxies, "trusted_networks", lambda: ())
    assert spray_then_colleague_signs_in() == 429


def test_it_ignores_forwarded_for_from_a_peer_that_is_not_a_trusted_proxy(make_user: Any, org: Any) -> None:
    targets = [make_user(Role.CASE_WORKER, org) for _ in range(10)]
    spare = make_user(Role.CASE_WORKER, org)
    attacker = "203.0.113.66"

    def spray_with_forged_headers_then_try() -> int:
        SignInAttempt.objects.all().delete()
        c = Client()
        for i in range(SPRAY):  # a new forged "client address" on every guess
            _post(c, targets[i % 10].username, WRONG, attacker, HTTP_X_FORWARDED_FOR=f"192.0.2.{i % 250}")
        return int(_post(c, spare.username, PASSWORD, attacker, HTTP_X_FORWARDED_FOR="192.0.2.251").status_code)

    with override_settings(PHARE_TRUSTED_PROXIES=["10.0.0.0/8"]):
        assert spray_with_forged_headers_then_try() == 429
        assert AuditEvent.objects.filter(action="signin.failed").last().ip == attacker  # type: ignore[union-attr]
    # Negative control: trusting the header from any peer lets the sprayer pose as a hundred addresses.
    with override_settings(PHARE_TRUSTED_PROXIES=["0.0.0.0/0"]):
        assert spray_with_forged_headers_then_try() == 302


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        ("203.0.113.5", "198.51.100.1", ["10.0.0.0/8"], "203.0.113.5"),  # not from a proxy: header ignored
        ("10.0.0.3", "198.51.100.1", ["10.0.0.0/8"], "198.51.100.1"),
        ("10.0.0.3", "1.1.1.1, 198.51.100.1, 10.0.0.2", ["10.0.0.0/8"], "198.51.100.1"),  # left of it: forged
        ("10.0.0.3", "1.1.1.1, 198.51.100.1, 10.0.0.2", ["10.0.0.3/32"], "10.0.0.2"),  # only one proxy trusted
        ("10.0.0.3", "not-an-address, 10.0.0.2", ["10.0.0.0/8"], "10.0.0.2"),  # garbage: the last trusted hop
        ("10.0.0.3", "", ["10.0.0.0/8"], "10.0.0.3"),
        ("::ffff:10.0.0.3", "[2001:db8::7]:443", ["10.0.0.0/8"], "2001:db8::7"),
        ("fd00::1", "203.0.113.9:5123", ["fd00::/8"], "203.0.113.9"),
        ("10.0.0.3", "198.51.100.1", [], "10.0.0.3"),  # no proxies configured
    ],
)
def test_it_reads_forwarded_for_right_to_left_skipping_trusted_hops(
    peer: str, forwarded: str, trusted: list[str], client: str
) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(PHARE_TRUSTED_PROXIES=trusted):
        assert proxies.client_address(request) == client
        assert audit_log.client_ip(request) == client  # the audit log's address is the same answer


def test_it_refuses_to_start_with_a_malformed_proxy_setting() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PHARE_TRUSTED_PROXIES": "10.0.0.0/8, proxy.example.org"}
    out = subprocess.run([sys.executable, "-m", "phare.cli", "check"], capture_output=True, text=True, env=env)
    assert out.returncode != 0 and "PHARE_TRUSTED_PROXIES" in out.stderr


def test_it_shows_failed_and_locked_sign_ins_in_the_accounts_organisation_only(
    make_user: Any, org: Any, other_org: Any, client_for: Any, monkeypatch: Any
) -> None:
    make_user(Role.CASE_WORKER, org, username="jonas")
    admin, stranger_admin = make_user(Role.ADMIN, org), make_user(Role.ADMIN, other_org)

    def attempts() -> None:
        c = Client()
        for i in range(throttle.MAX_FAILURES):
            _post(c, ("JONAS", "\uff4a\uff4f\uff4e\uff41\uff53")[i % 2], WRONG)
        _post(c, "jonas", PASSWORD)  # refused: locked
        _post(c, "nobody-by-that-name", WRONG)

    def page_events(who: Any) -> list[Any]:
        r = client_for(who).get("/accounts/audit/", {"action": "signin"})
        assert r.status_code == 200
        return list(r.context["events"])

    # Negative control: attempts recorded without the account's organisation never reach its audit page.
    monkeypatch.setattr(account_views, "_signin_organisation", lambda account: None)
    attempts()
    assert page_events(admin) == []
    monkeypatch.undo()
    SignInAttempt.objects.all().delete()
    attempts()
    events = page_events(admin)
    actions = [e.action for e in events]
    assert actions.count("signin.failed") == throttle.MAX_FAILURES and "signin.locked" in actions
    assert {e.detail["username"] for e in events} == {"JONAS", "\uff4a\uff4f\uff4e\uff41\uff53", "jonas"}
    assert all(e.target_type == "accounts.user" for e in events)
    # unknown names and other organisations' accounts stay out of every organisation's page
    assert page_events(stranger_admin) == []
    unknown = AuditEvent.objects.filter(action="signin.failed", detail__username="nobody-by-that-name")
    assert unknown.count() == 2 and not unknown.exclude(organisation=None).exists()
