"""Guess limits, counted in the database so that they hold across workers and restarts.

Every failed guess (password, second-factor code, enrolment code, old password when changing it) is counted
against an **account** and a **client address** (the real one behind trusted proxies, `phare.accounts.proxies`),
over a sliding WINDOW of 15 minutes:

- an address is refused for an account after MAX_FAILURES (10) failed guesses at that account;
- an account is refused to every address once its failures reach MAX_FAILURES, each address counting for at most
  ADDRESS_SHARE (5) of them: a guesser at one address locks only themself out, never the account's owner, while
  guessing spread over many addresses still stops after about 2 x MAX_FAILURES guesses per window;
- an address is refused for every account after MAX_IP_FAILURES (100) failures (password spraying). The limit
  is that address's: other addresses, and the accounts it tried, are not affected.

The account is what the typed name signs in to, whatever form of it was typed: Unicode compatibility forms
(full-width and mathematical letters, modifier letters, ligatures) and case variants of one account are one
budget. `attempted` resolves the name (NFKC, then case folding) to the account, and the sign-in form then
authenticates exactly that account, so no form of a name can sign in to an account other than the one counted.
Attempts are kept for a day.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from phare.accounts.models import SignInAttempt, User

MAX_FAILURES = 10
ADDRESS_SHARE = 5
MAX_IP_FAILURES = 100
WINDOW = timedelta(minutes=15)
KEY_LENGTH = 150


def canonical(username: str) -> str:
    """NFKC, case-folded, NFKC again (case folding can leave a string that is not NFKC): the full-width,
    mathematical-bold and modifier-letter spellings of 'worker', and 'Worker', are all 'worker'."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())
    return folded.strip()[:KEY_LENGTH]


def accounts_named(username: str) -> list[User]:
    """Every user whose name has the same canonical form as `username`."""
    key = canonical(username)
    if not key:
        return []
    typed = unicodedata.normalize("NFKC", username).strip()
    # Case-insensitive matches in SQL for ASCII names (SQLite folds only ASCII); names with any other character
    # are compared here, in Python, with the same canonical form.
    candidates = User.objects.filter(Q(username__iexact=typed) | Q(username__iexact=key) | Q(username__regex=r"[^ -~]"))
    return [u for u in candidates if canonical(u.username) == key]


def find_account(username: str) -> User | None:
    """The account a typed name signs in to: the user of exactly that (NFKC) name, else the one user whose name
    has the same canonical form; None when there is none, or several (then no form of the name signs in)."""
    typed = unicodedata.normalize("NFKC", username).strip()
    if not typed:
        return None
    exact = User.objects.filter(username=typed).first()
    if exact is not None:
        return exact
    named = accounts_named(username)
    return named[0] if len(named) == 1 else None


def account_key(typed: str, account: Any) -> str:
    """The budget a guess counts against: the account it would sign in to (whatever form of its name was typed),
    or the canonical form of the typed name when no account has it."""
    return canonical(account.get_username() if account is not None else typed)


@dataclass(frozen=True)
class Attempt:
    key: str
    account: User | None


def attempted(username: str) -> Attempt:
    account = find_account(username)
    return Attempt(account_key(username, account), account)


def key_of(user: Any) -> str:
    return account_key(user.get_username(), user)


def lock_reason(key: str, ip: str) -> str | None:
    """'address' when the address is refused for every account, 'account' when this account is refused to this
    address; None when the guess may go ahead."""
    recent = SignInAttempt.objects.filter(ok=False, at__gte=timezone.now() - WINDOW)
    if recent.filter(ip=ip).count() >= MAX_IP_FAILURES:
        return "address"
    per_address = dict(recent.filter(username=key).values("ip").annotate(n=Count("id")).values_list("ip", "n"))
    if per_address.get(ip, 0) >= MAX_FAILURES:
        return "account"
    if sum(min(n, ADDRESS_SHARE) for n in per_address.values()) >= MAX_FAILURES:
        return "account"
    return None


def is_locked(key: str, ip: str) -> bool:
    return lock_reason(key, ip) is not None


def failures(key: str) -> int:
    since = timezone.now() - WINDOW
    return SignInAttempt.objects.filter(username=key, ok=False, at__gte=since).count()


def note(key: str, ok: bool, ip: str, kind: str = "password") -> None:
    SignInAttempt.objects.create(username=key[:KEY_LENGTH], ok=ok, ip=ip[:64], kind=kind)
    if ok:
        SignInAttempt.objects.filter(at__lt=timezone.now() - timedelta(days=1)).delete()
