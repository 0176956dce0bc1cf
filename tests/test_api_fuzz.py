"""Schemathesis against the API through its WSGI application, as two users of two organisations.

For every operation of /api/v1/openapi.json, valid (positive) and invalid (negative) requests generated from
the document must get: no 5xx, a status code, content type, headers and body the document declares, invalid
data refused, and never a byte of the other organisation's data (each organisation's records carry a unique
marker). Half the positive requests carry real ids of the caller's or the other organisation's records in
their path, so that reads and writes hit data; another organisation's id must answer 404.

Kept under two minutes: a few examples per operation and mode (FUZZ_EXAMPLES to raise it locally).
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from phare.accounts.models import Role
from tests.helpline_helpers import call
from tests.test_api import seed_case, token_for

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.getenv("FUZZ_EXAMPLES", "6"))
MARK = {"a": "QZXALPHAMARK", "b": "QZXBRAVOMARK"}


@pytest.fixture
def wsgi_app() -> Iterator[Any]:
    """Django's WSGI application on the test's database connection: the request signals that would close the
    connection (and the test transaction with it) are disconnected while the fuzzer runs."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _ids(case: Any) -> dict[str, str]:
    """A real value for each path parameter of the API, from this case."""
    first = {
        "participant_id": case.participants.first(),
        "referral_id": case.referrals.first(),
        "comment_id": case.comments.first(),
        "event_id": case.events.first(),
        "plan_id": case.support_plans.first(),
        "consent_id": case.consents.first(),
        "assessment_id": case.assessments.first(),
    }
    out = {k: str(v.uid) for k, v in first.items()}
    out["case_id"] = str(case.uid)
    out["person_id"] = str(case.participants.first().person.uid)
    out["organisation_id"] = str(case.participants.first().vic_LocationOfExploitation_id)
    return out


def _runner(operation: Any, negative: bool, exercise: Any) -> Any:
    mode = schemathesis.GenerationMode.NEGATIVE if negative else schemathesis.GenerationMode.POSITIVE

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        exercise(case, negative)

    return run


def test_it_survives_fuzzing_without_errors_schema_breaks_or_leaks(wsgi_app: Any, org: Any, other_org: Any,
                                                                   make_user: Any) -> None:  # fmt: skip
    users = {"a": make_user(Role.ADMIN, org), "b": make_user(Role.ADMIN, other_org)}
    cases = {side: seed_case(u, MARK[side]) for side, u in users.items()}
    auth = {side: {"Authorization": f"Bearer {token_for(u)}"} for side, u in users.items()}
    ids = {side: _ids(c) for side, c in cases.items()}
    for side, u in users.items():  # a helpline contact each, its summary carrying the organisation's marker
        ids[side]["contact_id"] = str(call(u, summary=MARK[side]).uid)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi_app)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
              response_schema_conformance]  # fmt: skip
    turn = itertools.count()

    figures: Counter[str] = Counter()  # this run's own: a count left from an earlier run proves nothing

    def exercise(case: schemathesis.Case, negative: bool) -> None:
        n = next(turn)
        side, other = ("a", "b") if n % 2 == 0 else ("b", "a")
        target = None
        if not negative and case.path_parameters and n % 4 in (0, 1, 2):
            # Real ids: the caller's own (n % 4 == 0 or 1) or the other organisation's (n % 4 == 2).
            target = side if n % 4 < 2 else other
            case.path_parameters = {k: ids[target].get(k, v) for k, v in case.path_parameters.items()}
        response = case.call(headers=auth[side])
        case.validate_response(response, checks=checks + ([negative_data_rejection] if negative else []),
                               headers=auth[side])  # fmt: skip
        text = response.text
        assert MARK[other] not in text, f"{case.method} {case.formatted_path} as {side} leaked the other organisation"
        if target == other:
            assert response.status_code in (403, 404, 422), (case.method, case.formatted_path, response.status_code)
        figures["requests"] += 1
        figures[f"{response.status_code // 100}xx"] += 1
        if target == side and response.status_code < 300:
            figures["hits on real records"] += 1

    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for negative in (False, True):
            _runner(operation, negative, exercise)()
    print(f"\nfuzz: {operations} operations, {dict(figures)}")
    assert operations >= 20
    assert figures["5xx"] == 0 and figures["hits on real records"] > 0
