"""Guess limits, counted in the database so that they hold across workers and restarts.

At most MAX_FAILURES failed guesses (password or second factor) per account in WINDOW, and MAX_IP_FAILURES per
client address (password spraying across accounts). Attempts are kept for a day.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from phare.accounts.models import SignInAttempt

MAX_FAILURES = 10
MAX_IP_FAILURES = 100
WINDOW = timedelta(minutes=15)


def _norm(username: str) -> str:
    return username.strip().lower()[:150]


def failures(username: str) -> int:
    since = timezone.now() - WINDOW
    return SignInAttempt.objects.filter(username=_norm(username), ok=False, at__gte=since).count()


def is_locked(username: str, ip: str = "") -> bool:
    if failures(username) >= MAX_FAILURES:
        return True
    if ip:
        since = timezone.now() - WINDOW
        return SignInAttempt.objects.filter(ip=ip, ok=False, at__gte=since).count() >= MAX_IP_FAILURES
    return False


def note(username: str, ok: bool, ip: str = "", kind: str = "password") -> None:
    SignInAttempt.objects.create(username=_norm(username), ok=ok, ip=ip[:64], kind=kind)
    if ok:
        SignInAttempt.objects.filter(at__lt=timezone.now() - timedelta(days=1)).delete()
