"""Locust scenario for bench/bench_load.py: a supervisor working through cases.

Each simulated user signs in once (password, then a TOTP code computed from its own authenticator secret; a
code is accepted once per 30-second period, so nobody signs in twice), then loops with a think time
between requests (PHARE_LOAD_THINK, "min,max" seconds): the case list (first page, a filtered page, a deeper page), a name search, a case page, and
a comment with a unique token (the write). Request names start with `read:`, `write:` or `login:` so the
statistics separate them. Every response time is also written to PHARE_LOAD_TIMES (JSON) when the run stops,
so bench_load.py computes exact percentiles per kind, with the time each response ended.

Configuration (written by bench_load.py): PHARE_LOAD_CONF, a JSON file with `users` (username, password,
otpauth URI), `cases` (case numbers), `names` (first names to search for), `deep_pages`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import struct
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

from locust import HttpUser, between, events, task

with open(os.environ["PHARE_LOAD_CONF"], encoding="utf-8") as _fh:
    CONF: dict[str, Any] = json.load(_fh)
ACCOUNTS = itertools.cycle(CONF["users"])
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# (name, response time in ms, succeeded, wall-clock time the response ended): the end time lets bench_load.py
# leave the sign-in phase out of the throughput at saturation.
TIMES: list[tuple[str, float, bool, float]] = []
RUN_ID = uuid.uuid4().hex[:8]
COUNTER = itertools.count()


def totp(secret_b32: str, at: float | None = None, period: int = 30, digits: int = 6) -> str:
    """RFC 6238 (SHA-1), as django-otp computes it for Phare's devices."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if at is None else at) // period)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[off : off + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{code:0{digits}d}"


def secret_of(uri: str) -> str:
    return parse_qs(urlparse(uri).query)["secret"][0]


@events.request.add_listener
def _record(request_type: str, name: str, response_time: float, response_length: int, exception: Any = None,
            **kw: Any) -> None:  # fmt: skip
    TIMES.append((name, response_time, exception is None, time.time()))


@events.test_stop.add_listener
def _dump(**kw: Any) -> None:
    out = os.environ.get("PHARE_LOAD_TIMES")
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            json.dump(TIMES, fh)


class Supervisor(HttpUser):
    # Think time between requests, in seconds (bench_load.py's --profiles).
    wait_time = between(*(float(x) for x in os.environ.get("PHARE_LOAD_THINK", "2,8").split(",")))

    csrf = ""

    def _get(self, url: str, name: str) -> None:
        with self.client.get(url, name=name, catch_response=True, allow_redirects=False) as r:
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code} {r.headers.get('Location', '')}")
                return
            m = CSRF.search(r.text)
            if m:
                self.csrf = m.group(1)
            r.success()

    def on_start(self) -> None:
        acct = next(ACCOUNTS)
        self.account = acct
        r = self.client.get("/accounts/login/", name="login:form")
        m = CSRF.search(r.text)
        data = {
            "username": acct["username"],
            "password": acct["password"],
            "csrfmiddlewaretoken": m.group(1) if m else "",
        }
        with self.client.post("/accounts/login/", data=data, name="login:password", catch_response=True,
                              allow_redirects=False) as r:  # fmt: skip
            if r.status_code != 302 or "/accounts/mfa/" not in r.headers.get("Location", ""):
                r.failure(f"password step: HTTP {r.status_code}")
                return
        r = self.client.get("/accounts/mfa/", name="login:mfa-form")
        m = CSRF.search(r.text)
        code = totp(secret_of(acct["otpauth"]))
        with self.client.post("/accounts/mfa/", data={"code": code, "csrfmiddlewaretoken": m.group(1) if m else ""},
                              name="login:mfa", catch_response=True, allow_redirects=False) as r:  # fmt: skip
            if r.status_code != 302:
                r.failure(f"TOTP step: HTTP {r.status_code}")
                return
        self._get("/cases/", "read:list")

    @task
    def work(self) -> None:
        self._get("/cases/", "read:list")
        self.wait()
        self._get("/cases/?status=Active", "read:list-filtered")
        self.wait()
        self._get(f"/cases/?page={random.choice(CONF['deep_pages'])}", "read:list-deep")
        self.wait()
        self._get(f"/cases/?q={random.choice(CONF['names'])}", "read:search")
        self.wait()
        number = random.choice(CONF["cases"])
        self._get(f"/cases/{number}/", "read:case")
        self.wait()
        token = f"LOADTOKEN-{RUN_ID}-{next(COUNTER):07d}"
        data = {"cco_CaseComment": f"Follow-up call noted ({token})", "csrfmiddlewaretoken": self.csrf}
        with self.client.post(f"/cases/{number}/comments/add/", data=data, name="write:comment", catch_response=True,
                              allow_redirects=False) as r:  # fmt: skip
            if r.status_code != 302 or f"/cases/{number}/" not in r.headers.get("Location", ""):
                r.failure(f"HTTP {r.status_code} {r.headers.get('Location', '')}")
            else:
                r.success()
        self.wait()
