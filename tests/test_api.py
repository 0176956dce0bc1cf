"""The REST API (/api/v1/): tokens, scopes, tenant isolation, roles, audit, validation errors, pagination."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import jsonschema
import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from htcds.schema import bundle_schema
from htcds.validation import errors, validate_bundle
from phare.accounts.models import Role
from phare.api import tokens
from phare.api.models import ApiToken
from phare.audit.models import AuditEvent
from phare.cases import actions
from phare.cases.models import Case, CaseComment, ExternalOrganisation

pytestmark = pytest.mark.django_db

ALL_SCOPES = list(tokens.SCOPES)
V1 = "/api/v1"


# --- helpers (also used by tests/test_api_fuzz.py) -------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def token_for(user: Any, scopes: list[str] | None = None, days: int = 30) -> str:
    return tokens.create(user, scopes or ALL_SCOPES, days)[1]


def seed_case(user: Any, marker: str, *, opened: date | None = None, **context: Any) -> Case:
    """A case with a victim, a perpetrator, and one record of every kind, each carrying `marker`."""
    directory = actions.add_external_organisation(user, {"org_Name": f"{marker} Shelter", "org_ShippingCountry": "NG"})
    ctx = {"vic_TypeOfExploitation": ["ForcedLabour"], "vic_TraffickingStatus": "PossibleVictimOfTrafficking",
           "vic_MethodsOfControl": ["DebtBondage"], "vic_LocationOfExploitation": directory, **context}  # fmt: skip
    case = actions.open_case(user, person_data={"prs_FirstName": f"{marker}Ada", "prs_SecondName": f"{marker}Obi",
                                                "prs_Birthdate": date(1990, 5, 17), "prs_Citizenship": ["NG"]},
                             role="Victim", context=ctx, opened=opened or date(2024, 3, 1))  # fmt: skip
    victim = case.participants.get().person
    actions.add_participant(user, case, role="Perpetrator", person_data={"prs_FirstName": f"{marker}Per"},
                            context={"per_RoleInProcess": ["RecruiterOrIntermediary"], "per_RoleDetails": f"{marker} details"})  # fmt: skip
    actions.add_comment(user, case, f"{marker} comment", on=date(2024, 3, 2))
    actions.add_event(user, case, {"hte_Type": "Recruitment", "hte_Date": date(2023, 12, 1), "hte_City": "Lagos",
                                   "hte_Country": "NG", "hte_Description": f"{marker} event", "person": victim})  # fmt: skip
    actions.add_support_plan(user, case, {"spl_Type": "Health", "spl_Objectives": f"{marker} plan",
                                          "spl_StartDate": date(2024, 3, 5), "person": victim})  # fmt: skip
    actions.record_consent(user, case, {"con_Consent": True, "con_Purpose": ["CaseManagement"],
                                        "con_Date": date(2024, 3, 1), "person": victim})  # fmt: skip
    actions.receive_referral(user, case, {"cas_ReferringOrganisation": directory, "cas_IncomingReferralDate": date(2024, 2, 28),
                                          "cas_IncomingReferralDetails": f"{marker} referral"})  # fmt: skip
    actions.record_assessment(user, case, {"asm_Level": "Individual", "asm_Date": date(2024, 3, 3),
                                           "asm_Notes": f"{marker} notes", "person": victim},
                              [{"question": "ind_age", "answer": "Yes", "notes": f"{marker} why"}])  # fmt: skip
    return case


@pytest.fixture
def worker(org: Any, make_user: Callable[..., Any]) -> Any:
    return make_user(Role.SUPERVISOR, org)


@pytest.fixture
def case(worker: Any) -> Case:
    return seed_case(worker, "ALPHA")


@pytest.fixture
def api() -> Client:
    return Client()


# --- tokens ----------------------------------------------------------------------------------------------


def test_it_needs_a_valid_token(api: Client, worker: Any, case: Case) -> None:
    assert api.get(f"{V1}/cases").status_code == 401
    assert api.get(f"{V1}/cases", **bearer("phr_not-a-token")).status_code == 401
    assert api.get(f"{V1}/cases", HTTP_AUTHORIZATION="Basic abc").status_code == 401
    r = api.get(f"{V1}/cases", **bearer(token_for(worker)))
    assert r.status_code == 200
    assert r.json()["items"][0]["id"] == str(case.uid)
    assert "no-store" in r.headers["Cache-Control"]
    # Token requests need no CSRF cookie: the CSRF middleware applies to the cookie-authenticated pages.
    strict = Client(enforce_csrf_checks=True)
    r = strict.post(f"{V1}/cases/{case.uid}/comments", {"cco_CaseComment": "By token."}, content_type="application/json",
                    **bearer(token_for(worker)))  # fmt: skip
    assert r.status_code == 201


def test_it_stores_only_the_hash_of_a_token(worker: Any) -> None:
    row, token = tokens.create(worker, ["cases:read"], 7, "ci")
    row.refresh_from_db()
    assert token.startswith("phr_") and len(token) > 40
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {row.digest, row.prefix, row.name} and token[:12] == row.prefix
    assert ApiToken.objects.filter(digest=row.digest).count() == 1
    assert AuditEvent.objects.filter(action="api.token.create", target_id=str(row.pk)).exists()


def test_it_refuses_expired_and_revoked_tokens(api: Client, worker: Any, case: Case) -> None:
    row, token = tokens.create(worker, ALL_SCOPES, 1)
    assert api.get(f"{V1}/cases", **bearer(token)).status_code == 200
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api.get(f"{V1}/cases", **bearer(token)).status_code == 401
    row2, token2 = tokens.create(worker, ALL_SCOPES, 1)
    tokens.revoke(row2)
    assert api.get(f"{V1}/cases", **bearer(token2)).status_code == 401
    assert AuditEvent.objects.filter(action="api.token.revoke", target_id=str(row2.pk)).exists()
    # A deactivated user's tokens stop working at once.
    _, token3 = tokens.create(worker, ALL_SCOPES, 1)
    worker.is_active = False
    worker.save()
    assert api.get(f"{V1}/cases", **bearer(token3)).status_code == 401


def test_it_refuses_bad_token_requests(worker: Any) -> None:
    with pytest.raises(ValueError, match="unknown scope"):
        tokens.create(worker, ["cases:delete"], 1)
    with pytest.raises(ValueError):
        tokens.create(worker, [], 1)
    with pytest.raises(ValueError):
        tokens.create(worker, ["cases:read"], 10_000)


def test_it_narrows_the_user_to_the_token_scopes(api: Client, worker: Any, case: Case) -> None:
    reader = bearer(token_for(worker, ["cases:read"]))
    assert api.get(f"{V1}/cases/{case.uid}", **reader).status_code == 200
    r = api.post(
        f"{V1}/cases/{case.uid}/comments", {"cco_CaseComment": "hi"}, content_type="application/json", **reader
    )
    assert r.status_code == 403 and "cases:write" in r.json()["detail"]
    assert api.get(f"{V1}/persons", **reader).status_code == 403
    assert api.get(f"{V1}/cases/{case.uid}/bundle", **reader).status_code == 403
    assert api.get(f"{V1}/organisations", **reader).status_code == 403
    writer = bearer(token_for(worker, ["cases:write"]))
    r = api.post(
        f"{V1}/cases/{case.uid}/comments", {"cco_CaseComment": "hi"}, content_type="application/json", **writer
    )
    assert r.status_code == 201
    # Opening a case around a new person also needs persons:write.
    r = api.post(f"{V1}/cases", {"person_data": {"prs_FirstName": "Eve"}}, content_type="application/json", **writer)
    assert r.status_code == 403


def test_it_creates_tokens_from_the_command_line(api: Client, worker: Any, case: Case) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("api", "token", "create", "--user", worker.username, "--scopes", "cases:read", "--days", "3",
                 stdout=out, stderr=err)  # fmt: skip
    token = out.getvalue().strip()
    assert api.get(f"{V1}/cases", **bearer(token)).status_code == 200
    assert "shown once" in err.getvalue()
    listing = io.StringIO()
    call_command("api", "token", "list", "--user", worker.username, stdout=listing)
    assert token not in listing.getvalue() and token[:12] in listing.getvalue()
    call_command("api", "token", "revoke", token[:12], stdout=io.StringIO())
    assert api.get(f"{V1}/cases", **bearer(token)).status_code == 401


def test_it_lets_users_create_and_revoke_their_tokens_on_a_page(
    client_for: Callable[[Any], Client], worker: Any
) -> None:
    browser = client_for(worker)
    r = browser.post("/api/tokens/", {"create": "1", "name": "laptop", "scopes": ["cases:read"], "days": "30"})
    assert r.status_code == 200
    row = ApiToken.objects.get(user=worker)
    token = r.context["created"]
    assert hashlib.sha256(token.encode()).hexdigest() == row.digest
    assert browser.get("/api/tokens/").context["created"] is None
    browser.post("/api/tokens/", {"revoke": str(row.pk)})
    row.refresh_from_db()
    assert row.revoked_at is not None


# --- tenant isolation and roles --------------------------------------------------------------------------


def _all_record_urls(case: Case) -> list[str]:
    base = f"{V1}/cases/{case.uid}"
    urls = [base, f"{base}/bundle"]
    for part, rel in [("participants", case.participants), ("referrals", case.referrals), ("comments", case.comments),
                      ("events", case.events), ("support-plans", case.support_plans), ("consents", case.consents),
                      ("assessments", case.assessments)]:  # fmt: skip
        urls.append(f"{base}/{part}")
        urls += [f"{base}/{part}/{uid}" for uid in rel.values_list("uid", flat=True)]
    urls += [f"{V1}/persons/{p.person.uid}" for p in case.participants.select_related("person")]
    return urls


def test_it_answers_404_alike_for_another_organisations_ids(api: Client, worker: Any, case: Case, other_org: Any,
                                                           make_user: Callable[..., Any]) -> None:  # fmt: skip
    outsider = bearer(token_for(make_user(Role.ADMIN, other_org)))
    mine = bearer(token_for(worker))
    missing = f"{V1}/cases/00000000-0000-4000-8000-000000000000"
    expected = api.get(missing, **outsider)
    assert expected.status_code == 404
    for url in _all_record_urls(case):
        assert api.get(url, **mine).status_code == 200, url
        r = api.get(url, **outsider)
        assert (r.status_code, r.json()) == (404, expected.json()), url
    org_id = ExternalOrganisation.objects.filter(organisation=worker.organisation).first().pk  # type: ignore[union-attr]
    assert api.get(f"{V1}/organisations/{org_id}", **outsider).status_code == 404
    # Writes too, and the other organisation's lists hold none of our rows.
    r = api.post(
        f"{V1}/cases/{case.uid}/comments", {"cco_CaseComment": "x"}, content_type="application/json", **outsider
    )
    assert r.status_code == 404
    for url in (f"{V1}/cases", f"{V1}/persons", f"{V1}/organisations"):
        body = api.get(url, **outsider)
        assert body.status_code == 200 and body.json()["items"] == [] and "ALPHA" not in body.content.decode()
    # A lookup to another organisation's directory entry is an unknown reference, not a link.
    r = api.post(f"{V1}/cases/{case.uid}/participants",
                 {"role": "Victim", "person_data": {"prs_FirstName": "Bo"}, "vic_LocationOfExploitation": "999999"},
                 content_type="application/json", **mine)  # fmt: skip
    assert r.status_code == 422 and r.json()["detail"][0]["code"] == "unknown-reference"


def test_it_narrows_case_workers_to_their_cases(api: Client, org: Any, worker: Any, case: Case,
                                               make_user: Callable[..., Any]) -> None:  # fmt: skip
    other_worker = make_user(Role.CASE_WORKER, org)
    own = seed_case(other_worker, "OWN")
    auth = bearer(token_for(other_worker))
    assert [c["id"] for c in api.get(f"{V1}/cases", **auth).json()["items"]] == [str(own.uid)]
    assert api.get(f"{V1}/cases/{case.uid}", **auth).status_code == 404
    people = {p["id"] for p in api.get(f"{V1}/persons", **auth).json()["items"]}
    assert people == {str(p.person.uid) for p in own.participants.select_related("person")}


@pytest.mark.parametrize("role", [Role.ANALYST, Role.AUDITOR])
def test_it_keeps_person_data_from_analysts(api: Client, org: Any, case: Case, role: str,
                                            make_user: Callable[..., Any]) -> None:  # fmt: skip
    auth = bearer(token_for(make_user(role, org)))
    person = case.participants.first().person  # type: ignore[union-attr]
    for url in (f"{V1}/persons", f"{V1}/persons/{person.uid}", f"{V1}/cases/{case.uid}/bundle",
                f"{V1}/cases/{case.uid}/comments"):  # fmt: skip
        r = api.get(url, **auth)
        assert r.status_code == 403, url
        assert "ALPHA" not in r.content.decode()
    # They see cases and the victims' context, never a name, identifier or free text.
    for url in _all_record_urls(case):
        r = api.get(url, **auth)
        assert r.status_code in (200, 403), url
        assert "ALPHA" not in r.content.decode(), url
    body = api.get(f"{V1}/cases/{case.uid}/participants", **auth).json()
    assert body["items"][0]["vic_MethodsOfControl"] == ["DebtBondage"]
    # And they cannot write.
    r = api.post(f"{V1}/cases/{case.uid}/events", {"hte_Type": "Recruitment"}, content_type="application/json", **auth)
    assert r.status_code == 403


# --- audit -----------------------------------------------------------------------------------------------


def test_it_audits_reads_and_writes(api: Client, worker: Any, case: Case) -> None:
    auth = bearer(token_for(worker))
    before = AuditEvent.objects.count()
    api.get(f"{V1}/cases/{case.uid}", **auth)
    ev = AuditEvent.objects.order_by("-id").first()
    assert ev is not None and (ev.action, ev.target_id, ev.actor_id) == ("api.case.read", str(case.uid), worker.pk)
    api.get(f"{V1}/cases/{case.uid}/events", **auth)
    ev = AuditEvent.objects.order_by("-id").first()
    assert ev is not None and ev.action == "api.case.read" and ev.detail["part"] == "events"
    person = case.participants.first().person  # type: ignore[union-attr]
    api.get(f"{V1}/persons/{person.uid}", **auth)
    assert AuditEvent.objects.filter(action="api.person.read", target_id=str(person.uid)).exists()
    api.get(f"{V1}/cases", **auth)
    ev = AuditEvent.objects.order_by("-id").first()
    assert ev is not None and ev.action == "api.case.list" and case.number in ev.detail["cases"]
    r = api.post(f"{V1}/cases/{case.uid}/comments", {"cco_CaseComment": "Seen today."}, content_type="application/json",
                 **auth)  # fmt: skip
    assert r.status_code == 201
    comment = CaseComment.objects.get(uid=r.json()["id"])
    assert AuditEvent.objects.filter(action="case.comment.add", target_id=str(comment.uid), actor=worker).exists()
    assert AuditEvent.objects.count() == before + 5
    # A refused write leaves no row and no audit event.
    n = AuditEvent.objects.count()
    r = api.post(f"{V1}/cases/{case.uid}/events", {"hte_Type": "Nope"}, content_type="application/json", **auth)
    assert r.status_code == 422 and AuditEvent.objects.count() == n


def test_it_closes_a_case_on_the_day_the_pages_use_whatever_the_process_clock_says(
    api: Client, worker: Any, monkeypatch: Any
) -> None:
    """The API dates a closure by the day the pages use (Django's current time zone), not by the process's clock:
    the two agree today only because Django sets the process's zone to TIME_ZONE, and would part once a request
    activates a zone of its own. Here they differ by a day, and a case opened today still closes today."""
    from htcds import validation

    ahead = date.today() + timedelta(days=1)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: ahead)
    monkeypatch.setattr(validation, "_today", lambda now=None: ahead.isoformat())  # the latest zone is there too
    try:
        case = actions.open_case(worker, person_data={"prs_FirstName": "Ana"})
        assert case.cas_OpenedDate == ahead
        r = api.post(f"{V1}/cases/{case.uid}/close", {"cas_ReasonForCaseClosure": "Returned home safely."},
                     content_type="application/json", **bearer(token_for(worker)))  # fmt: skip
        assert r.status_code == 200, r.content
        case.refresh_from_db()
        assert case.cas_ClosedDate == ahead
    finally:
        validation._compiled.cache_clear()  # its checkers now hold tomorrow as the last day read


# --- validation errors -----------------------------------------------------------------------------------


def test_it_answers_htcds_problems_as_structured_422(api: Client, worker: Any, case: Case) -> None:
    auth = bearer(token_for(worker))
    r = api.post(f"{V1}/cases/{case.uid}/participants",
                 {"role": "Victim", "person_data": {"prs_FirstName": "Bo", "prs_Birthdate": "1990-02-30"},
                  "vic_MethodsOfControl": ["Debt bondage"], "vic_TypeOfExploitaton": ["ForcedLabour"]},
                 content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert {d["code"] for d in detail} == {"unknown-field"}
    assert detail[0]["field"] == "vic_TypeOfExploitaton" and detail[0]["suggestion"] == "vic_TypeOfExploitation"
    r = api.post(f"{V1}/cases/{case.uid}/participants",
                 {"role": "Victim", "person_data": {"prs_FirstName": "Bo"}, "vic_MethodsOfControl": ["Debt bondage"]},
                 content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 422
    (p,) = r.json()["detail"]
    assert p == {"code": "invalid-choice", "field": "vic_MethodsOfControl", "value": ["Debt bondage"],
                 "message": p["message"], "suggestion": "DebtBondage", "path": "body.vic_MethodsOfControl"}  # fmt: skip
    assert p["message"]
    r = api.post(f"{V1}/cases", {"person_data": {"prs_Birthdate": "1990-02-30", "prs_Email": "nope"},
                                 "vic_TraffickingStatus": "Victim"}, content_type="application/json", **auth)  # fmt: skip
    codes = {(d["code"], d["path"]) for d in r.json()["detail"]}
    assert r.status_code == 422
    assert codes == {("invalid-date", "body.person_data.prs_Birthdate"), ("invalid-email", "body.person_data.prs_Email"),
                     ("invalid-choice", "body.vic_TraffickingStatus")}  # fmt: skip
    r = api.post(f"{V1}/cases/{case.uid}/participants", {"role": "Perpetrator", "vic_MethodsOfControl": ["DebtBondage"],
                                                         "person_data": {}}, content_type="application/json", **auth)  # fmt: skip
    assert [d["code"] for d in r.json()["detail"]] == ["field-not-for-role"]
    r = api.post(f"{V1}/cases/{case.uid}/close", {"cas_ReasonForCaseClosure": ""}, content_type="application/json",
                 **auth)  # fmt: skip
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "cas_ReasonForCaseClosure"
    r = api.get(f"{V1}/cases?exploitation=Forced%20labour", **auth)
    assert r.status_code == 422 and r.json()["detail"][0]["suggestion"] == "ForcedLabour"
    r = api.get(f"{V1}/cases/not-a-uuid", **auth)
    assert r.status_code == 422 and r.json()["detail"][0]["path"] == "path.case_id"


# --- reads and writes ------------------------------------------------------------------------------------


def test_it_writes_every_record_through_the_actions(api: Client, worker: Any) -> None:
    auth = bearer(token_for(worker))

    def post(url: str, body: dict[str, Any]) -> dict[str, Any]:
        r = api.post(f"{V1}{url}", body, content_type="application/json", **auth)
        assert r.status_code == 201, r.content
        return dict(r.json())

    org = post(
        "/organisations", {"org_Name": "Harbour Police", "org_Type": "LawEnforcement", "org_ShippingCountry": "GH"}
    )
    c = post("/cases", {"person_data": {"prs_FirstName": "Ama", "prs_Citizenship": ["GH"]},
                        "vic_TypeOfExploitation": ["SexualExploitation"], "vic_LocationOfRecruitment": org["id"],
                        "cas_OpenedDate": "2024-06-01"})  # fmt: skip
    assert c["cas_OpenedDate"] == "2024-06-01" and c["exploitation_types"] == ["SexualExploitation"]
    base = f"/cases/{c['id']}"
    victim = api.get(f"{V1}{base}/participants", **auth).json()["items"][0]
    assert victim["vic_LocationOfRecruitment"] == org["id"]
    person = post("/persons", {"prs_FirstName": "Kofi", "prs_Gender": "Masculine"})
    p = post(
        f"{base}/participants",
        {"role": "Perpetrator", "person": person["id"], "per_RoleInProcess": ["RecruiterOrIntermediary"]},
    )
    assert p["person"] == person["id"]
    post(f"{base}/referrals", {"direction": "Outgoing", "cas_ReferredOrganisation": org["id"],
                               "cas_OutgoingReferralDate": "2024-06-03"})  # fmt: skip
    post(f"{base}/comments", {"cco_CaseComment": "First meeting."})
    post(
        f"{base}/events",
        {"hte_Type": "Exploitation", "hte_Country": "GH", "hte_Latitude": 5.6, "person": victim["person"]},
    )
    post(f"{base}/support-plans", {"spl_Type": "Health", "spl_StartDate": "2024-06-02"})
    consent = post(f"{base}/consents", {"con_Consent": True, "con_Date": "2024-06-01", "person": victim["person"]})
    post(f"{base}/assessments", {"asm_Level": "Individual", "answers": [{"question": "ind_age", "answer": "No"}]})
    r = api.post(f"{V1}{base}/consents/{consent['id']}/withdraw", {"con_WithdrawnDate": "2024-06-05"},
                 content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 200 and r.json()["con_WithdrawnDate"] == "2024-06-05", r.content
    r = api.patch(f"{V1}{base}/participants/{victim['id']}", {"vic_MethodsOfControl": ["WithholdsDocuments"]},
                  content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 200 and r.json()["vic_MethodsOfControl"] == ["WithholdsDocuments"]
    r = api.patch(f"{V1}/persons/{person['id']}", {"prs_SecondName": "Mensah"}, content_type="application/json", **auth)
    assert r.status_code == 200 and r.json()["prs_FirstName"] == "Kofi" and r.json()["prs_SecondName"] == "Mensah"
    r = api.post(f"{V1}{base}/close", {"cas_ReasonForCaseClosure": "Returned home safely."},
                 content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 200 and r.json()["cas_Status"] == "Closed"
    r = api.post(f"{V1}{base}/close", {"cas_ReasonForCaseClosure": "again"}, content_type="application/json", **auth)
    assert r.status_code == 422 and r.json()["detail"][0]["code"] == "rejected"
    assert api.post(f"{V1}{base}/reopen", {}, content_type="application/json", **auth).json()["cas_Status"] == "Active"
    bundle = api.get(f"{V1}{base}/bundle", **auth).json()
    assert len(bundle["participants"]) == 2 and len(bundle["referrals"]) == 1 and len(bundle["assessments"]) == 1
    assert bundle["organisations"][0]["org_Name"] == "Harbour Police"


def test_it_serves_the_case_bundle_valid_against_the_schema(api: Client, worker: Any, case: Case) -> None:
    r = api.get(f"{V1}/cases/{case.uid}/bundle", **bearer(token_for(worker)))
    assert r.status_code == 200
    bundle = r.json()
    jsonschema.Draft202012Validator(bundle_schema()).validate(bundle)
    assert errors(validate_bundle(bundle)) == []
    assert {
        len(bundle[k]) for k in ("comments", "events", "support_plans", "consents", "referrals", "assessments")
    } == {1}
    assert len(bundle["persons"]) == 2 and bundle["case"]["id"] == str(case.uid)
    assert AuditEvent.objects.filter(action="api.case.bundle", target_id=str(case.uid)).exists()


def test_it_filters_cases_as_the_case_list_does(api: Client, worker: Any, case: Case) -> None:
    auth = bearer(token_for(worker))
    sexual = seed_case(worker, "BETA", opened=date(2024, 5, 1), vic_TypeOfExploitation=["SexualExploitation"],
                       vic_TraffickingStatus="ActualVictimOfTrafficking")  # fmt: skip
    actions.close_case(worker, sexual, reason="done", closed=date(2024, 6, 1))

    def ids(query: str) -> set[str]:
        r = api.get(f"{V1}/cases?{query}", **auth)
        assert r.status_code == 200, r.content
        return {c["id"] for c in r.json()["items"]}

    a, b = str(case.uid), str(sexual.uid)
    assert ids("") == {a, b}
    assert ids("status=open") == {a} and ids("status=Closed") == {b}
    assert ids("exploitation=SexualExploitation") == {b}
    assert ids("trafficking=ActualVictimOfTrafficking") == {b}
    assert ids("opened_from=2024-04-01") == {b} and ids("opened_to=2024-04-01") == {a}
    assert ids("owner=me") == {a, b} and ids(f"owner={worker.pk + 1000}") == set()


def test_it_paginates_with_a_stable_cursor(api: Client, worker: Any) -> None:
    auth = bearer(token_for(worker, ["cases:read"]))
    made = [actions.open_case(worker, person_data={"prs_FirstName": f"P{i}"}, opened=date(2024, 1, 1 + i % 3))
            for i in range(7)]  # fmt: skip
    seen: list[str] = []
    r = api.get(f"{V1}/cases?limit=3", **auth).json()
    seen += [c["id"] for c in r["items"]]
    # Rows added while paging (newer, so before the cursor) neither shift nor repeat what follows.
    actions.open_case(worker, person_data={"prs_FirstName": "Late"}, opened=date(2024, 1, 3))
    while r.get("next_cursor"):
        r = api.get(f"{V1}/cases?limit=3&cursor={r['next_cursor']}", **auth).json()
        seen += [c["id"] for c in r["items"]]
    expected = sorted(made, key=lambda c: (c.cas_OpenedDate, c.id), reverse=True)
    assert seen == [str(c.uid) for c in expected]
    assert api.get(f"{V1}/cases?limit=201", **auth).status_code == 422
    assert api.get(f"{V1}/cases?limit=0", **auth).status_code == 422
    bad = api.get(f"{V1}/cases?cursor=bm9wZQ", **auth)
    assert bad.status_code == 422 and bad.json()["detail"][0]["code"] == "invalid-cursor"
    persons = bearer(token_for(worker, ["persons:read"]))
    page1 = api.get(f"{V1}/persons?limit=4", **persons).json()
    page2 = api.get(f"{V1}/persons?limit=4&cursor={page1['next_cursor']}", **persons).json()
    assert len(page1["items"]) == 4 and not {p["id"] for p in page1["items"]} & {p["id"] for p in page2["items"]}


def test_it_serves_its_openapi_document_and_docs(api: Client) -> None:
    r = api.get(f"{V1}/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1") and f"{V1}/cases/{{case_id}}/bundle" in doc["paths"]
    assert "vic_MethodsOfControl" in doc["components"]["schemas"]["ParticipantIn"]["properties"]
    page = api.get(f"{V1}/docs")
    assert page.status_code == 200 and b"/api/v1/cases/{case_id}/bundle" in page.content
    assert b"<script" not in page.content


def test_it_sets_the_row_level_security_tenant_for_token_requests(api: Client, worker: Any, case: Case, other_org: Any,
                                                                 make_user: Callable[..., Any], settings: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """On PostgreSQL, a token request runs as the application role with its user's organisation as the tenant:
    even with the ORM's tenant filter switched off, the database returns only that organisation's rows."""
    from django.db import connection

    from phare import access, rls

    if connection.vendor != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")
    outsider = make_user(Role.ADMIN, other_org)
    theirs = seed_case(outsider, "THEIRS")
    rls.install("phare_app")
    settings.PHARE_DB_ROLE = "phare_app"
    monkeypatch.setattr(access, "ENFORCE_TENANT_FILTER", False)
    r = api.get(f"{V1}/cases", **bearer(token_for(worker)))
    assert r.status_code == 200
    assert [c["id"] for c in r.json()["items"]] == [str(case.uid)]
    assert api.get(f"{V1}/cases/{theirs.uid}", **bearer(token_for(worker))).status_code == 404


def test_it_changes_cases_and_records(api: Client, org: Any, worker: Any, case: Case,
                                      make_user: Callable[..., Any]) -> None:  # fmt: skip
    auth = bearer(token_for(worker))
    base = f"{V1}/cases/{case.uid}"
    r = api.post(f"{base}/follow-up", {"follow_up_date": "2031-01-15"}, content_type="application/json", **auth)
    assert r.status_code == 200 and (r.json()["cas_Status"], r.json()["follow_up_date"]) == ("FollowUp", "2031-01-15")
    colleague = make_user(Role.CASE_WORKER, org)
    r = api.post(f"{base}/reassign", {"cas_CaseOwner": str(colleague.pk), "reason": "Leave"},
                 content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 200 and r.json()["cas_CaseOwner"] == str(colleague.pk)
    stranger = make_user(Role.CASE_WORKER, None)
    r = api.post(f"{base}/reassign", {"cas_CaseOwner": str(stranger.pk), "reason": "Leave"},
                 content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 422 and r.json()["detail"][0]["code"] == "unknown-reference"
    # A case worker may not reassign (as on the pages).
    r = api.post(f"{base}/reassign", {"cas_CaseOwner": str(worker.pk), "reason": "Leave"},
                 content_type="application/json", **bearer(token_for(colleague)))  # fmt: skip
    assert r.status_code == 403
    event = case.events.get()
    r = api.patch(f"{base}/events/{event.uid}", {"hte_City": "Abuja"}, content_type="application/json", **auth)
    assert r.status_code == 200 and r.json()["hte_City"] == "Abuja" and r.json()["hte_Type"] == "Recruitment"
    plan = case.support_plans.get()
    r = api.patch(f"{base}/support-plans/{plan.uid}", {"spl_ActualEndDate": "2024-01-01", "spl_StartDate": "2024-03-05"},
                  content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 422
    referral = case.referrals.get()
    r = api.patch(f"{base}/referrals/{referral.uid}", {"cas_OutgoingReferralDate": "2024-03-01"},
                  content_type="application/json", **auth)  # fmt: skip
    assert r.status_code == 422 and r.json()["detail"][0]["code"] == "field-not-for-direction"
    assert AuditEvent.objects.filter(action="case.event.update", target_id=str(event.uid)).exists()
    assert AuditEvent.objects.filter(action="case.reassign", target_id=str(case.uid)).exists()


def test_it_answers_422_not_500_for_control_characters(api: Client, worker: Any) -> None:
    # Found by the fuzz test on PostgreSQL, which refuses NUL in text columns.
    auth = bearer(token_for(worker))
    response = api.post(f"{V1}/organisations", data=json.dumps({"org_Name": "Shelter\u0000"}),
                        content_type="application/json", **auth)  # fmt: skip
    assert response.status_code == 422
    assert response.json()["detail"][0]["code"] == "invalid-character"
    assert response.json()["detail"][0]["suggestion"] == "Shelter"
