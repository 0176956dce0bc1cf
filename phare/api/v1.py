"""The REST API, version 1 (`/api/v1/`), on django-ninja.

Same rules as the pages: reads go through `phare.access` (and `phare.cases.access` for roles within the tenant),
so another organisation's id answers 404 exactly like a missing one; writes go through `phare.cases.actions`;
reads of case and person records are written to the audit log in the request's transaction. A token acts for
its user and is narrowed by its scopes. Callers whose role may not read personal data never receive an
encrypted field and cannot use the person endpoints.
"""

import base64
import binascii
import difflib
import json
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import File, Form, NinjaAPI, Schema, Status, UploadedFile
from ninja.errors import ValidationError
from ninja.security import HttpBearer
from pydantic import Field as PField
from pydantic import WithJsonSchema, create_model

from htcds.catalogue import PARTICIPANT_ROLES, TASKS_KEY, load
from htcds.schema import bundle_schema
from htcds.validation import Problem, suggest_choice
from phare import access
from phare.accounts.permissions import READ_PERSONAL, REFER, can
from phare.api import records, tokens
from phare.api.models import ApiToken
from phare.audit import log as audit
from phare.cases import actions
from phare.cases.access import can_manage, can_write, visible_cases, visible_persons
from phare.cases.filters import has_exploitation
from phare.cases.models import (
    Assessment,
    Case,
    CaseComment,
    CaseParticipant,
    CaseStatus,
    Consent,
    ExternalOrganisation,
    Person,
    Referral,
    SupportPlan,
    TraffickingEvent,
)
from phare.work.bundle import tasks_by_case

MAX_LIMIT = 200
DEFAULT_LIMIT = 50

DESCRIPTION = """HTCDS 2.0 case management over JSON. Authenticate with `Authorization: Bearer <token>`
(`phare api token create`, or the page /api/tokens/). Payload keys are HTCDS field names, values HTCDS value
names, ISO codes and ISO dates. Lists are cursor-paginated: pass `next_cursor` back as `cursor`.
Validation errors answer 422 with `{"detail": [{"code", "field", "value", "message", "suggestion", "path"}]}`,
codes from htcds.validation. Another organisation's record answers 404, exactly like a missing one."""


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return tokens.authenticate(request, token)


api = NinjaAPI(
    title="Phare API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    docs_url=None,
    auth=TokenAuth(),
)


# --- errors ----------------------------------------------------------------------------------------------


class Error(Schema):
    detail: str


class ProblemOut(Schema):
    code: str
    field: str | None = None
    value: Any = None
    message: str
    suggestion: str | None = None
    path: str


class Problems(Schema):
    detail: list[ProblemOut]


ERRORS: dict[int, Any] = {400: Error, 401: Error, 403: Error, 404: Error, 422: Problems}


class Denied(Exception):  # noqa: N818
    pass


class Unprocessable(Exception):  # noqa: N818
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def _problem_json(p: Problem) -> dict[str, Any]:
    value = p.value
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        value = str(value)
    return {"code": p.code, "field": p.field, "value": value, "message": p.message, "suggestion": p.suggestion,
            "path": p.path}  # fmt: skip


def _problems_response(request: HttpRequest, problems: list[Problem]) -> HttpResponse:
    return api.create_response(request, {"detail": [_problem_json(p) for p in problems]}, status=422)


@api.exception_handler(Unprocessable)
def _on_unprocessable(request: HttpRequest, exc: Unprocessable) -> HttpResponse:
    return _problems_response(request, exc.problems)


@api.exception_handler(actions.Invalid)
def _on_invalid(request: HttpRequest, exc: actions.Invalid) -> HttpResponse:
    # A lifecycle rule of an action (the HTCDS checks ran before, with their own codes).
    out = [
        records.problem("rejected", None if f == "__all__" else f, m) for f, msgs in exc.problems.items() for m in msgs
    ]
    return _problems_response(request, out)


# pydantic error types -> HTCDS problem codes
_PYDANTIC_CODES = {
    "missing": "missing-required",
    "extra_forbidden": "unknown-field",
    "literal_error": "invalid-choice",
    "enum": "invalid-choice",
    "greater_than_equal": "out-of-range",
    "less_than_equal": "out-of-range",
    "int_parsing": "invalid-number",
    "int_type": "invalid-number",
    "float_parsing": "invalid-number",
    "float_type": "invalid-number",
    "date_parsing": "invalid-date",
    "date_type": "invalid-date",
    "date_from_datetime_parsing": "invalid-date",
    "date_from_datetime_inexact": "invalid-date",
    "list_type": "not-a-list",
    "model_type": "not-an-object",
    "model_attributes_type": "not-an-object",
    "dict_type": "not-an-object",
    "string_too_long": "too-long",
}


@api.exception_handler(ValidationError)
def _on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    out = []
    for e in exc.errors:
        loc = [str(x) for x in e.get("loc", ())]
        field = next((x for x in reversed(loc) if not x.isdigit()), None)
        code = _PYDANTIC_CODES.get(str(e.get("type", "")), "invalid-type")
        suggestion = None
        if code == "unknown-field" and field:
            suggestion = _suggest_field(loc)
        value = e.get("input") if code != "missing-required" else None
        out.append(records.problem(code, field, str(e.get("msg", "")), value, ".".join(loc), suggestion))
    return _problems_response(request, out)


def _suggest_field(loc: list[str]) -> str | None:
    names = [f.name for f in load().fields]
    close = difflib.get_close_matches(loc[-1], names, n=1, cutoff=0.8)
    return close[0] if close else None


@api.exception_handler(Denied)
def _on_denied(request: HttpRequest, exc: Denied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Forbidden"}, status=403)


@api.exception_handler(PermissionDenied)
def _on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": "Your role does not allow this."}, status=403)


@api.exception_handler(PermissionError)
def _on_permission_error(request: HttpRequest, exc: PermissionError) -> HttpResponse:
    # Rows of two organisations mixed (refused by the actions): answered as not found.
    return api.create_response(request, {"detail": "Not Found"}, status=404)


@api.exception_handler(Http404)
def _on_404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "Not Found"}, status=404)


# --- who may do what -------------------------------------------------------------------------------------


def _user(request: HttpRequest) -> Any:
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    return token.user


def need(request: HttpRequest, *scopes: str) -> Any:
    """The token's user, if the token holds every scope (403 otherwise)."""
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    missing = [s for s in scopes if s not in token.scopes]
    if missing:
        raise Denied(f"The token lacks the scope {', '.join(missing)}.")
    return token.user


def personal(user: Any) -> bool:
    return can(user, READ_PERSONAL)


def need_personal(user: Any) -> None:
    if not personal(user):
        raise Denied("Your role does not give access to personal data.")


def need_write(user: Any) -> None:
    if not (can_write(user) and personal(user)):
        raise Denied("Your role cannot change cases.")


def _case(user: Any, case_id: UUID) -> Case:
    try:
        return visible_cases(user).get(uid=case_id)
    except Case.DoesNotExist:
        raise Http404 from None


def _read(
    request: HttpRequest, user: Any, action: str, target: Any = None, target_type: str = "", **detail: Any
) -> None:
    audit.record(action, actor=user, organisation=user.organisation, target=target, target_type=target_type,
                 request=request, detail={"via": "api", **detail})  # fmt: skip


# --- cursors ---------------------------------------------------------------------------------------------


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, shape: tuple[type, ...]) -> list[Any]:
    bad = Unprocessable([records.problem("invalid-cursor", "cursor", "The cursor is not one this API gave out.",
                                         cursor, "query.cursor")])  # fmt: skip
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if not isinstance(values, list) or len(values) != len(shape):
        raise bad
    out: list[Any] = []
    for v, t in zip(values, shape, strict=True):
        try:
            if t is date:
                out.append(date.fromisoformat(v))
            elif t is int and type(v) is int and 0 <= v < 2**62:
                out.append(v)
            else:
                raise ValueError
        except (TypeError, ValueError):
            raise bad from None
    return out


def page_by_id(qs: QuerySet[Any], cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    """Rows in id order after the cursor; stable while rows are added or changed."""
    if cursor:
        (after,) = decode_cursor(cursor, (int,))
        qs = qs.filter(id__gt=after)
    rows = list(qs.order_by("id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor([rows[-1].id]) if more and rows else None


def page_cases(qs: QuerySet[Case], cursor: str | None, limit: int) -> tuple[list[Case], str | None]:
    """Cases newest first, by (opened date, id) descending, as on the case list."""
    if cursor:
        opened, last = decode_cursor(cursor, (date, int))
        qs = qs.filter(Q(cas_OpenedDate__lt=opened) | Q(cas_OpenedDate=opened, id__lt=last))
    rows = list(qs.order_by("-cas_OpenedDate", "-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor([rows[-1].cas_OpenedDate.isoformat(), rows[-1].id]) if more and rows else None
    return rows, nxt


Limit = Annotated[int, PField(ge=1, le=MAX_LIMIT, description=f"Items per page, at most {MAX_LIMIT}.")]
Cursor = Annotated[str | None, PField(max_length=200, description="`next_cursor` of the previous page.")]


# --- schemas ---------------------------------------------------------------------------------------------

_CAT = load()
_Date = Annotated[str | None, WithJsonSchema({"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]})]
_Ref = Annotated[str | None, WithJsonSchema({"anyOf": [{"type": "string", "maxLength": 64}, {"type": "null"}],
                                             "description": "id of a person"})]  # fmt: skip
_PERSON_REF: dict[str, Any] = {"person": (_Ref, None)}
_ID: dict[str, Any] = {"id": (str, ...)}


def _page(name: str, item: Any) -> Any:
    return create_model(name, __base__=Schema, items=(list[item], ...), next_cursor=(str | None, None))


if TYPE_CHECKING:
    PersonIn = Schema
    CaseOpenIn = Schema
    ParticipantIn = Schema
    ParticipantUpdate = Schema
    ReferralIn = Schema
    ReferralUpdate = Schema
    EventUpdate = Schema
    SupportPlanUpdate = Schema
    CommentIn = Schema
    EventIn = Schema
    SupportPlanIn = Schema
    ConsentIn = Schema
    AssessmentIn = Schema
    OrganisationIn = Schema
else:
    PersonIn = records.make_model("PersonIn", "person", strict=True)
    _participant_extra = {
        "role": (Literal[PARTICIPANT_ROLES], ...),
        "person": (_Ref, None),
        "person_data": (PersonIn | None, None),
    }
    ParticipantIn = records.make_model("ParticipantIn", "participant", strict=True, extra=_participant_extra)
    CaseOpenIn = records.make_model("CaseOpenIn", "participant", strict=True, extra={
        **_participant_extra, "role": (Literal[PARTICIPANT_ROLES], "Victim"),
        "cas_OpenedDate": (records._annotated(str, _CAT["cas_OpenedDate"]), None), "restricted": (bool, False),
    })  # fmt: skip
    ParticipantUpdate = records.make_model("ParticipantUpdate", "participant", strict=True)
    ReferralUpdate = records.make_model("ReferralUpdate", "referral", strict=True)
    EventUpdate = records.make_model("EventUpdate", "event", strict=True)
    SupportPlanUpdate = records.make_model("SupportPlanUpdate", "support_plan", strict=True)
    ReferralIn = records.make_model("ReferralIn", "referral", strict=True,
                                    extra={"direction": (Literal["Incoming", "Outgoing"], ...)})  # fmt: skip
    CommentIn = records.make_model("CommentIn", "comment", strict=True)
    EventIn = records.make_model("EventIn", "event", strict=True, extra=_PERSON_REF)
    SupportPlanIn = records.make_model("SupportPlanIn", "support_plan", strict=True, extra=_PERSON_REF)
    ConsentIn = records.make_model("ConsentIn", "consent", strict=True, extra=_PERSON_REF,
                                   skip=frozenset({"con_WithdrawnDate"}))  # fmt: skip

    class AnswerIn(Schema):
        model_config = {"extra": "forbid", "strict": True}
        question: str = PField(max_length=64)
        answer: str = PField(max_length=32)
        notes: str | None = PField(None, max_length=2000)

    AssessmentIn = records.make_model("AssessmentIn", "assessment", strict=True,
                                      extra={**_PERSON_REF, "answers": (list[AnswerIn], [])})  # fmt: skip
    OrganisationIn = records.make_model("OrganisationIn", "organisation", strict=True)


class CloseIn(Schema):
    model_config = {"extra": "forbid", "strict": True}
    cas_Status: Literal["Closed", "ClosedReferred"] = "Closed"
    cas_ReasonForCaseClosure: str = PField(min_length=1, max_length=32000)
    cas_ClosedDate: _Date = None


class FollowUpIn(Schema):
    model_config = {"extra": "forbid", "strict": True}
    follow_up_date: _Date = None


class ReassignIn(Schema):
    model_config = {"extra": "forbid", "strict": True}
    cas_CaseOwner: str = PField(max_length=20, description="id of a user of your organisation")
    reason: str = PField(max_length=2000, description="why the case changes hands: the receiver reads it")


class ReopenIn(Schema):
    model_config = {"extra": "forbid", "strict": True}
    reason: str = PField("", max_length=32000)


class WithdrawIn(Schema):
    model_config = {"extra": "forbid", "strict": True}
    con_WithdrawnDate: _Date = None
    reason: str = PField("", max_length=32000)


class AnswerOut(Schema):
    question: str
    answer: str


CaseOut: Any = records.make_model("Case", "case", strict=False, extra={
    **_ID, "number": (str, ...), "follow_up_date": (date | None, None), "restricted": (bool, ...),
    "exploitation_types": (list[str], ...), "trafficking_status": (str, ...),
})  # fmt: skip
PersonOut: Any = records.make_model("Person", "person", strict=False, extra=_ID)
ParticipantOut: Any = records.make_model("Participant", "participant", strict=False,
                                         extra={**_ID, "person": (str, ...), "role": (str, ...)})  # fmt: skip
ReferralOut: Any = records.make_model("Referral", "referral", strict=False, extra={**_ID, "direction": (str, ...)})
CommentOut: Any = records.make_model("Comment", "comment", strict=False, extra={**_ID, "author": (str | None, None)})
EventOut: Any = records.make_model("Event", "event", strict=False, extra={**_ID, **_PERSON_REF})
SupportPlanOut: Any = records.make_model("SupportPlan", "support_plan", strict=False, extra={**_ID, **_PERSON_REF})
ConsentOut: Any = records.make_model("Consent", "consent", strict=False, extra={**_ID, **_PERSON_REF})
AssessmentOut: Any = records.make_model("Assessment", "assessment", strict=False,
                                        extra={**_ID, **_PERSON_REF, "answers": (list[AnswerOut], [])})  # fmt: skip
OrganisationOut: Any = records.make_model("Organisation", "organisation", strict=False, extra=_ID)


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The bundle schema with its `$defs` inlined, to sit inside the OpenAPI document."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return {k: walk(v) for k, v in schema.items() if k not in ("$schema", "$id", "$defs")}


BundleOut = Annotated[dict[str, Any], WithJsonSchema(_inline_refs(bundle_schema()))]


# --- rows -> JSON ----------------------------------------------------------------------------------------


def case_json(c: Case, names: bool) -> dict[str, Any]:
    return {"id": str(c.uid), "number": c.number, **records.to_json(c, "case", names), "follow_up_date": c.follow_up_date,
            "restricted": c.restricted, "exploitation_types": c.exploitation_types,
            "trafficking_status": c.trafficking_status}  # fmt: skip


def person_json(p: Person) -> dict[str, Any]:
    return {"id": str(p.uid), **records.to_json(p, "person", True)}


def participant_json(p: CaseParticipant, names: bool) -> dict[str, Any]:
    return {"id": str(p.uid), "person": str(p.person.uid), "role": p.role, **records.to_json(p, "participant", names)}


def referral_json(r: Referral, names: bool) -> dict[str, Any]:
    return {"id": str(r.uid), "direction": r.direction, **records.to_json(r, "referral", names)}


def comment_json(c: CaseComment, names: bool) -> dict[str, Any]:
    return {
        "id": str(c.uid),
        "author": str(c.author_id) if c.author_id else None,
        **records.to_json(c, "comment", names),
    }


def _with_person(obj: Any, entity: str, names: bool) -> dict[str, Any]:
    out = {"id": str(obj.uid), **records.to_json(obj, entity, names)}
    if obj.person_id:
        out["person"] = str(obj.person.uid)
    return out


def assessment_json(a: Assessment, names: bool) -> dict[str, Any]:
    out = _with_person(a, "assessment", names)
    out["answers"] = [{"question": x.get("question", ""), "answer": x.get("answer", "")} for x in a.answers or ()]
    return out


def organisation_json(o: ExternalOrganisation) -> dict[str, Any]:
    return {"id": str(o.pk), **records.to_json(o, "organisation", True)}


def case_bundle(case: Case, tasks: bool = False) -> dict[str, Any]:
    """The case as an HTCDS case bundle (validates against htcds.schema.bundle_schema()); with `tasks`, the
    case's tasks too, under the extension key (`x_phare_tasks`)."""
    persons: dict[int, dict[str, Any]] = {}
    person_rows: dict[int, Person] = {}

    def ref(person: Person | None) -> str | None:
        if person is None:
            return None
        if person.id not in persons:
            persons[person.id] = {"id": str(person.uid), **records.to_json(person, "person", True)}
            person_rows[person.id] = person
        return str(person.uid)

    def with_ref(obj: Any, entity: str) -> dict[str, Any]:
        out = {"id": str(obj.uid), **records.to_json(obj, entity, True)}
        r = ref(obj.person)
        if r:
            out["person"] = r
        return out

    participants = []
    for p in case.participants.select_related("person").order_by("id"):
        participants.append({"id": str(p.uid), "person": ref(p.person), "role": p.role,
                             **records.to_json(p, "participant", True)})  # fmt: skip
    referrals = [{"id": str(r.uid), "direction": r.direction, **records.to_json(r, "referral", True)}
                 for r in case.referrals.order_by("id")]  # fmt: skip
    comments = []
    for c in case.comments.order_by("id"):
        row = {"id": str(c.uid), **records.to_json(c, "comment", True)}
        if c.author_id:
            row["author"] = str(c.author_id)
        comments.append(row)
    events = [with_ref(e, "event") for e in case.events.select_related("person").order_by("id")]
    plans = [with_ref(s, "support_plan") for s in case.support_plans.select_related("person").order_by("id")]
    consents = [with_ref(c, "consent") for c in case.consents.select_related("person").order_by("id")]
    assessments = []
    for a in case.assessments.select_related("person").order_by("id"):
        row = with_ref(a, "assessment")
        row["answers"] = [{"question": x["question"], "answer": x["answer"]} for x in a.answers or ()]
        assessments.append(row)
    org_ids = {int(v) for rec in (*participants, *referrals) for k, v in rec.items()
               if k in records.lookup_fields() and isinstance(v, str) and v.isdigit()}  # fmt: skip
    orgs = ExternalOrganisation.objects.filter(organisation_id=case.organisation_id, pk__in=org_ids).order_by("pk")
    return {
        "htcds_version": "2.0",
        "case": {"id": str(case.uid), **records.to_json(case, "case", True)},
        "persons": list(persons.values()),
        "organisations": [organisation_json(o) for o in orgs],
        "participants": participants,
        "referrals": referrals,
        "comments": comments,
        "events": events,
        "support_plans": plans,
        "consents": consents,
        "assessments": assessments,
        **({TASKS_KEY: tasks_by_case([case.pk]).get(case.pk, [])} if tasks else {}),
    }


# --- JSON -> rows ----------------------------------------------------------------------------------------


def _clean(entity: str, data: dict[str, Any], user: Any, prefix: str = "", *, partial: bool = False,
           extra: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """Validated model values for an entity's HTCDS fields in `data` (422 with every problem otherwise)."""
    names = {s.name for s in records.specs(entity)}
    rec = {k: v for k, v in data.items() if k in names and (partial or v is not None)}
    found = records.validate(entity, {**(extra or {}), **rec}, prefix)
    if found:
        raise Unprocessable(found)
    values, found = records.to_python(entity, rec, user, prefix)
    if found:
        raise Unprocessable(found)
    return values


def _participant_values(request: HttpRequest, user: Any, data: dict[str, Any],
                        role: str) -> tuple[Person | None, dict[str, Any] | None, dict[str, Any]]:  # fmt: skip
    """The person (existing by id, or the values of a new one) and the participant's context, with every
    problem of both reported at once."""
    person = _person_ref(user, data.get("person"), None, "body.person")
    if person is None:
        need(request, "persons:write")
    found: list[Problem] = []
    person_data: dict[str, Any] | None = None
    context: dict[str, Any] = {}
    try:
        if person is None:
            person_data = _clean("person", data.get("person_data") or {}, user, "body.person_data.")
    except Unprocessable as exc:
        found += exc.problems
    try:
        context = _clean("participant", data, user, "body.", extra={"role": role})
    except Unprocessable as exc:
        found += exc.problems
    if found:
        raise Unprocessable(found)
    return person, person_data, context


def _person_ref(user: Any, value: Any, case: Case | None, path: str) -> Person | None:
    """A person the user may see, by id (on `case`, when given); 422 unknown-reference otherwise, alike for a
    missing id, another organisation's person and a person on cases the user may not open."""
    if value is None:
        return None
    qs = visible_persons(user)
    if case is not None:
        qs = qs.filter(participations__case=case)
    try:
        person = qs.filter(uid=UUID(str(value))).first()
    except ValueError:
        person = None
    if person is None:
        raise Unprocessable([records.problem("unknown-reference", path.rsplit(".", 1)[-1], f"No person with id {value!r}.",
                                             value, path)])  # fmt: skip
    return person


def _date_or_none(value: Any, field: str, path: str) -> date | None:
    if value is None:
        return None
    found = records.validate("case", {field: value}) if field.startswith("cas_") else []
    if not found:
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            found = [records.problem("invalid-date", field, f"{value!r} is not a date in the form YYYY-MM-DD.", value)]
    for p in found:
        p.path = path
    raise Unprocessable(found)


# --- cases -----------------------------------------------------------------------------------------------

_STATUS_FILTER = Literal["open", "Active", "FollowUp", "Closed", "ClosedReferred"]


def _choice_filter(name: str, field: str, value: str | None) -> str | None:
    if value is None:
        return None
    f = _CAT[field]
    if value not in f.choice_names:
        raise Unprocessable([records.problem("invalid-choice", name, f"{value!r} is not a value of {field}.", value,
                                             f"query.{name}", suggest_choice(f, value))])  # fmt: skip
    return value


@api.get("/cases", response={200: _page("CasePage", CaseOut), **ERRORS}, exclude_none=True, tags=["cases"],
         summary="List cases (filters as on the case list)")  # fmt: skip
def list_cases(
    request: HttpRequest,
    status: _STATUS_FILTER | None = None,
    owner: Annotated[str | None, PField(pattern=r"^(me|[0-9]{1,18})$", description="`me` or a user id")] = None,
    exploitation: Annotated[str | None, PField(max_length=64, description="a vic_TypeOfExploitation value")] = None,
    trafficking: Annotated[str | None, PField(max_length=64, description="a vic_TraffickingStatus value")] = None,
    opened_from: date | None = None,
    opened_to: date | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> dict[str, Any]:
    user = need(request, "cases:read")
    qs = visible_cases(user)
    if status == "open":
        qs = qs.filter(cas_Status__in=(CaseStatus.ACTIVE, CaseStatus.FOLLOW_UP))
    elif status:
        qs = qs.filter(cas_Status=status)
    if owner == "me":
        qs = qs.filter(cas_CaseOwner=user)
    elif owner:
        qs = qs.filter(cas_CaseOwner_id=int(owner))
    if _choice_filter("exploitation", "vic_TypeOfExploitation", exploitation):
        qs = qs.filter(has_exploitation(str(exploitation)))
    if _choice_filter("trafficking", "vic_TraffickingStatus", trafficking):
        qs = qs.filter(trafficking_status=trafficking)
    if opened_from:
        qs = qs.filter(cas_OpenedDate__gte=opened_from)
    if opened_to:
        qs = qs.filter(cas_OpenedDate__lte=opened_to)
    rows, nxt = page_cases(qs, cursor, limit)
    names = personal(user)
    _read(request, user, "api.case.list", target_type="cases.case", cases=[c.number for c in rows])
    return {"items": [case_json(c, names) for c in rows], "next_cursor": nxt}


@api.post("/cases", response={201: CaseOut, **ERRORS}, exclude_none=True, tags=["cases"],
          summary="Open a case around a person (existing, or new from person_data)")  # fmt: skip
@transaction.atomic
def open_case(request: HttpRequest, payload: CaseOpenIn) -> Status[dict[str, Any]]:
    user = need(request, "cases:write")
    need_write(user)
    data = payload.model_dump(exclude_unset=True)
    role = data.get("role", "Victim")
    person, person_data, context = _participant_values(request, user, data, role)
    opened = _date_or_none(data.get("cas_OpenedDate"), "cas_OpenedDate", "body.cas_OpenedDate")
    case = actions.open_case(user, person=person, person_data=person_data, role=role, context=context, opened=opened,
                             restricted=bool(data.get("restricted", False)), request=request)  # fmt: skip
    return Status(201, case_json(case, True))


@api.get("/cases/{case_id}", response={200: CaseOut, **ERRORS}, exclude_none=True, tags=["cases"])
def get_case(request: HttpRequest, case_id: UUID) -> dict[str, Any]:
    user = need(request, "cases:read")
    case = _case(user, case_id)
    _read(request, user, "api.case.read", case)
    return case_json(case, personal(user))


@api.get("/cases/{case_id}/bundle", response={200: BundleOut, **ERRORS}, tags=["cases"],
         summary="The case as an HTCDS 2.0 case bundle")  # fmt: skip
def get_bundle(request: HttpRequest, case_id: UUID) -> dict[str, Any]:
    user = need(request, "cases:read", "persons:read")
    need_personal(user)
    case = _case(user, case_id)
    _read(request, user, "api.case.bundle", case)
    # The tasks travel with the case for a token that may read them (the scope `tasks:read`).
    return case_bundle(case, tasks="tasks:read" in request.auth.scopes)  # type: ignore[attr-defined]


@api.post("/cases/{case_id}/close", response={200: CaseOut, **ERRORS}, exclude_none=True, tags=["cases"])
@transaction.atomic
def close_case(request: HttpRequest, case_id: UUID, payload: CloseIn) -> dict[str, Any]:
    user, case = _for_write(request, case_id)
    # The day is read once: the date checked here is the date written.
    closed = _date_or_none(payload.cas_ClosedDate, "cas_ClosedDate", "body.cas_ClosedDate") or timezone.localdate()
    found = records.validate("case", {"cas_Status": payload.cas_Status, "cas_ReasonForCaseClosure": payload.cas_ReasonForCaseClosure,
                                      "cas_OpenedDate": case.cas_OpenedDate.isoformat(),
                                      "cas_ClosedDate": closed.isoformat()}, "body.")  # fmt: skip
    if found:
        raise Unprocessable(found)
    actions.close_case(user, case, reason=payload.cas_ReasonForCaseClosure, status=payload.cas_Status, closed=closed,
                       request=request)  # fmt: skip
    return case_json(case, True)


@api.post("/cases/{case_id}/reopen", response={200: CaseOut, **ERRORS}, exclude_none=True, tags=["cases"])
@transaction.atomic
def reopen_case(request: HttpRequest, case_id: UUID, payload: ReopenIn) -> dict[str, Any]:
    user, case = _for_write(request, case_id)
    actions.reopen_case(user, case, reason=payload.reason, request=request)
    return case_json(case, True)


@api.post("/cases/{case_id}/follow-up", response={200: CaseOut, **ERRORS}, exclude_none=True, tags=["cases"],
          summary="Put an open case in follow-up, with the date it is due")  # fmt: skip
@transaction.atomic
def follow_up_case(request: HttpRequest, case_id: UUID, payload: FollowUpIn) -> dict[str, Any]:
    user, case = _for_write(request, case_id)
    due = None
    if payload.follow_up_date is not None:
        try:
            due = date.fromisoformat(payload.follow_up_date)
        except ValueError:
            raise Unprocessable([records.problem("invalid-date", "follow_up_date", "Not a date in the form YYYY-MM-DD.",
                                                 payload.follow_up_date, "body.follow_up_date")]) from None  # fmt: skip
    actions.set_follow_up(user, case, due, request=request)
    return case_json(case, True)


@api.post("/cases/{case_id}/reassign", response={200: CaseOut, 202: CaseOut, **ERRORS}, exclude_none=True,
          tags=["cases"], summary="Hand the case over to another case owner (supervisors and admins)",
          description="The safe hand-over of the pages: a reason, a receiver whose role works cases, both sides "
                      "notified. Where the organisation asks receivers to accept, the answer is 202 and the case "
                      "keeps its owner until the receiver accepts.")  # fmt: skip
@transaction.atomic
def reassign_case(request: HttpRequest, case_id: UUID, payload: ReassignIn) -> Status[dict[str, Any]]:
    from django.contrib.auth import get_user_model

    from phare.work.actions.handovers import hand_over
    from phare.work.models import Handover

    user = need(request, "cases:write")
    need_write(user)
    if not can_manage(user):
        raise Denied("Only supervisors and admins reassign cases.")
    case = _case(user, case_id)
    owner = None
    if payload.cas_CaseOwner.isdigit():
        owner = access.scoped(user, get_user_model()).filter(pk=int(payload.cas_CaseOwner), is_active=True).first()
    if owner is None:
        raise Unprocessable([records.problem("unknown-reference", "cas_CaseOwner", "No such user in your organisation.",
                                             payload.cas_CaseOwner, "body.cas_CaseOwner")])  # fmt: skip
    # Through the hand-over, as the pages: a reason, the receiver's role checked, both sides told, and (where the
    # organisation asks for it) nothing moves until the receiver accepts.
    handover = hand_over(user, case, owner, payload.reason, request=request)
    case.refresh_from_db()
    return Status(202 if handover.state == Handover.State.PENDING else 200, case_json(case, True))


def _update_record(request: HttpRequest, case_id: UUID, qs_of: Any, uid: UUID, entity: str, payload: Any,
                   update: Any, to_json: Any, extra: Any = None) -> dict[str, Any]:  # fmt: skip
    user, case = _for_write(request, case_id)
    obj = qs_of(case).filter(uid=uid).first()
    if obj is None:
        raise Http404
    more = extra(obj) if callable(extra) else (extra or {})
    values = _clean(entity, payload.model_dump(exclude_unset=True), user, "body.", partial=True, extra=more)
    update(user, obj, values, request=request)
    result: dict[str, Any] = to_json(obj, True)
    return result


# --- records on a case -----------------------------------------------------------------------------------


def _sub_list(request: HttpRequest, case_id: UUID, part: str, qs_of: Any, to_json: Any, cursor: str | None,
              limit: int, *, personal_only: bool = False) -> dict[str, Any]:  # fmt: skip
    user = need(request, "cases:read")
    if personal_only:
        need_personal(user)
    case = _case(user, case_id)
    rows, nxt = page_by_id(qs_of(case), cursor, limit)
    _read(request, user, "api.case.read", case, part=part, count=len(rows))
    names = personal(user)
    return {"items": [to_json(r, names) for r in rows], "next_cursor": nxt}


def _sub_get(request: HttpRequest, case_id: UUID, part: str, qs_of: Any, uid: UUID, to_json: Any,
             *, personal_only: bool = False) -> dict[str, Any]:  # fmt: skip
    user = need(request, "cases:read")
    if personal_only:
        need_personal(user)
    case = _case(user, case_id)
    obj = qs_of(case).filter(uid=uid).first()
    if obj is None:
        raise Http404
    _read(request, user, "api.case.read", case, part=part, record=str(uid))
    result: dict[str, Any] = to_json(obj, personal(user))
    return result


def _for_write(request: HttpRequest, case_id: UUID) -> tuple[Any, Case]:
    from phare.cases.access import EMERGENCY_READ_ONLY, opened_by_break_glass

    user = need(request, "cases:write")
    need_write(user)
    case = _case(user, case_id)
    if opened_by_break_glass(user, case) is not None:
        raise Denied(str(EMERGENCY_READ_ONLY))
    return user, case


def _participants(case: Case) -> QuerySet[CaseParticipant]:
    return case.participants.select_related("person")


@api.get("/cases/{case_id}/participants", response={200: _page("ParticipantPage", ParticipantOut), **ERRORS},
         exclude_none=True, tags=["participants"])  # fmt: skip
def list_participants(request: HttpRequest, case_id: UUID, cursor: Cursor = None,
                      limit: Limit = DEFAULT_LIMIT) -> dict[str, Any]:  # fmt: skip
    return _sub_list(request, case_id, "participants", _participants, participant_json, cursor, limit)


@api.get("/cases/{case_id}/participants/{participant_id}", response={200: ParticipantOut, **ERRORS},
         exclude_none=True, tags=["participants"])  # fmt: skip
def get_participant(request: HttpRequest, case_id: UUID, participant_id: UUID) -> dict[str, Any]:
    return _sub_get(request, case_id, "participants", _participants, participant_id, participant_json)


@api.post("/cases/{case_id}/participants", response={201: ParticipantOut, **ERRORS}, exclude_none=True,
          tags=["participants"], summary="Add a person (existing, or new from person_data) to the case in a role")  # fmt: skip
@transaction.atomic
def add_participant(request: HttpRequest, case_id: UUID, payload: ParticipantIn) -> Status[dict[str, Any]]:
    user, case = _for_write(request, case_id)
    data = payload.model_dump(exclude_unset=True)
    person, person_data, context = _participant_values(request, user, data, data["role"])
    p = actions.add_participant(user, case, role=data["role"], person=person, person_data=person_data, context=context,
                                request=request)  # fmt: skip
    return Status(201, participant_json(p, True))


@api.patch("/cases/{case_id}/participants/{participant_id}", response={200: ParticipantOut, **ERRORS},
           exclude_none=True, tags=["participants"], summary="Change a participant's victim or perpetrator context")  # fmt: skip
@transaction.atomic
def update_participant(request: HttpRequest, case_id: UUID, participant_id: UUID,
                       payload: ParticipantUpdate) -> dict[str, Any]:  # fmt: skip
    user, case = _for_write(request, case_id)
    p = _participants(case).filter(uid=participant_id).first()
    if p is None:
        raise Http404
    context = _clean("participant", payload.model_dump(exclude_unset=True), user, "body.", partial=True,
                     extra={"role": p.role})  # fmt: skip
    actions.update_participant(user, p, context, request=request)
    return participant_json(p, True)


def _referrals(case: Case) -> QuerySet[Referral]:
    return case.referrals.all()


@api.get("/cases/{case_id}/referrals", response={200: _page("ReferralPage", ReferralOut), **ERRORS},
         exclude_none=True, tags=["referrals"])  # fmt: skip
def list_referrals(
    request: HttpRequest, case_id: UUID, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> dict[str, Any]:
    return _sub_list(request, case_id, "referrals", _referrals, referral_json, cursor, limit)


@api.get("/cases/{case_id}/referrals/{referral_id}", response={200: ReferralOut, **ERRORS}, exclude_none=True,
         tags=["referrals"])  # fmt: skip
def get_referral(request: HttpRequest, case_id: UUID, referral_id: UUID) -> dict[str, Any]:
    return _sub_get(request, case_id, "referrals", _referrals, referral_id, referral_json)


@api.post("/cases/{case_id}/referrals", response={201: ReferralOut, **ERRORS}, exclude_none=True, tags=["referrals"],
          summary="Record an incoming referral or send an outgoing one")  # fmt: skip
@transaction.atomic
def add_referral(request: HttpRequest, case_id: UUID, payload: ReferralIn) -> Status[dict[str, Any]]:
    user, case = _for_write(request, case_id)
    data = payload.model_dump(exclude_unset=True)
    direction = data["direction"]
    values = _clean("referral", data, user, "body.", extra={"direction": direction})
    if direction == "Outgoing":
        if not can(user, REFER):
            raise Denied("Your role cannot refer cases.")
        r = actions.send_referral(user, case, values, request=request)
    else:
        r = actions.receive_referral(user, case, values, request=request)
    return Status(201, referral_json(r, True))


@api.patch("/cases/{case_id}/referrals/{referral_id}", response={200: ReferralOut, **ERRORS}, exclude_none=True,
           tags=["referrals"])  # fmt: skip
@transaction.atomic
def update_referral(request: HttpRequest, case_id: UUID, referral_id: UUID, payload: ReferralUpdate) -> dict[str, Any]:
    return _update_record(request, case_id, _referrals, referral_id, "referral", payload, actions.update_referral,
                          referral_json, extra=lambda r: {"direction": r.direction})  # fmt: skip


def _comments(case: Case) -> QuerySet[CaseComment]:
    return case.comments.all()


@api.get("/cases/{case_id}/comments", response={200: _page("CommentPage", CommentOut), **ERRORS},
         exclude_none=True, tags=["comments"])  # fmt: skip
def list_comments(
    request: HttpRequest, case_id: UUID, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> dict[str, Any]:
    return _sub_list(request, case_id, "comments", _comments, comment_json, cursor, limit, personal_only=True)


@api.get("/cases/{case_id}/comments/{comment_id}", response={200: CommentOut, **ERRORS}, exclude_none=True,
         tags=["comments"])  # fmt: skip
def get_comment(request: HttpRequest, case_id: UUID, comment_id: UUID) -> dict[str, Any]:
    return _sub_get(request, case_id, "comments", _comments, comment_id, comment_json, personal_only=True)


@api.post("/cases/{case_id}/comments", response={201: CommentOut, **ERRORS}, exclude_none=True, tags=["comments"])
@transaction.atomic
def add_comment(request: HttpRequest, case_id: UUID, payload: CommentIn) -> Status[dict[str, Any]]:
    user, case = _for_write(request, case_id)
    values = _clean("comment", payload.model_dump(exclude_unset=True), user, "body.")
    text = values.get("cco_CaseComment") or ""
    if not text.strip():
        raise Unprocessable([records.problem("missing-required", "cco_CaseComment", "Write a comment.", None,
                                             "body.cco_CaseComment")])  # fmt: skip
    c = actions.add_comment(user, case, text, on=values.get("cco_CreatedDate"), request=request)
    return Status(201, comment_json(c, True))


def _events(case: Case) -> QuerySet[TraffickingEvent]:
    return case.events.select_related("person")


def _plans(case: Case) -> QuerySet[SupportPlan]:
    return case.support_plans.select_related("person")


def _consents(case: Case) -> QuerySet[Consent]:
    return case.consents.select_related("person")


def _assessments(case: Case) -> QuerySet[Assessment]:
    return case.assessments.select_related("person")


def _event_json(e: TraffickingEvent, names: bool) -> dict[str, Any]:
    return _with_person(e, "event", names)


def _plan_json(s: SupportPlan, names: bool) -> dict[str, Any]:
    return _with_person(s, "support_plan", names)


def _consent_json(c: Consent, names: bool) -> dict[str, Any]:
    return _with_person(c, "consent", names)


@api.get("/cases/{case_id}/events", response={200: _page("EventPage", EventOut), **ERRORS}, exclude_none=True,
         tags=["events"], summary="List trafficking events")  # fmt: skip
def list_events(
    request: HttpRequest, case_id: UUID, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> dict[str, Any]:
    return _sub_list(request, case_id, "events", _events, _event_json, cursor, limit)


@api.get("/cases/{case_id}/events/{event_id}", response={200: EventOut, **ERRORS}, exclude_none=True, tags=["events"])
def get_event(request: HttpRequest, case_id: UUID, event_id: UUID) -> dict[str, Any]:
    return _sub_get(request, case_id, "events", _events, event_id, _event_json)


def _with_person_values(
    entity: str, request: HttpRequest, case: Case, user: Any, data: dict[str, Any]
) -> dict[str, Any]:
    values = _clean(entity, data, user, "body.")
    person = _person_ref(user, data.get("person"), case, "body.person")
    if person is not None:
        values["person"] = person
    return values


@api.post("/cases/{case_id}/events", response={201: EventOut, **ERRORS}, exclude_none=True, tags=["events"],
          summary="Add a trafficking event")  # fmt: skip
@transaction.atomic
def add_event(request: HttpRequest, case_id: UUID, payload: EventIn) -> Status[dict[str, Any]]:
    user, case = _for_write(request, case_id)
    values = _with_person_values("event", request, case, user, payload.model_dump(exclude_unset=True))
    e = actions.add_event(user, case, values, request=request)
    return Status(201, _event_json(e, True))


@api.patch("/cases/{case_id}/events/{event_id}", response={200: EventOut, **ERRORS}, exclude_none=True,
           tags=["events"])  # fmt: skip
@transaction.atomic
def update_event(request: HttpRequest, case_id: UUID, event_id: UUID, payload: EventUpdate) -> dict[str, Any]:
    return _update_record(request, case_id, _events, event_id, "event", payload, actions.update_event, _event_json)


@api.get("/cases/{case_id}/support-plans", response={200: _page("SupportPlanPage", SupportPlanOut), **ERRORS},
         exclude_none=True, tags=["support plans"])  # fmt: skip
def list_support_plans(request: HttpRequest, case_id: UUID, cursor: Cursor = None,
                       limit: Limit = DEFAULT_LIMIT) -> dict[str, Any]:  # fmt: skip
    return _sub_list(request, case_id, "support_plans", _plans, _plan_json, cursor, limit)


@api.get("/cases/{case_id}/support-plans/{plan_id}", response={200: SupportPlanOut, **ERRORS}, exclude_none=True,
         tags=["support plans"])  # fmt: skip
def get_support_plan(request: HttpRequest, case_id: UUID, plan_id: UUID) -> dict[str, Any]:
    return _sub_get(request, case_id, "support_plans", _plans, plan_id, _plan_json)


@api.post("/cases/{case_id}/support-plans", response={201: SupportPlanOut, **ERRORS}, exclude_none=True,
          tags=["support plans"])  # fmt: skip
@transaction.atomic
def add_support_plan(request: HttpRequest, case_id: UUID, payload: SupportPlanIn) -> Status[dict[str, Any]]:
    user, case = _for_write(request, case_id)
    values = _with_person_values("support_plan", request, case, user, payload.model_dump(exclude_unset=True))
    s = actions.add_support_plan(user, case, values, request=request)
    return Status(201, _plan_json(s, True))


@api.patch("/cases/{case_id}/support-plans/{plan_id}", response={200: SupportPlanOut, **ERRORS}, exclude_none=True,
           tags=["support plans"])  # fmt: skip
@transaction.atomic
def update_support_plan(
    request: HttpRequest, case_id: UUID, plan_id: UUID, payload: SupportPlanUpdate
) -> dict[str, Any]:
    return _update_record(request, case_id, _plans, plan_id, "support_plan", payload, actions.update_support_plan,
                          _plan_json)  # fmt: skip


@api.get("/cases/{case_id}/consents", response={200: _page("ConsentPage", ConsentOut), **ERRORS}, exclude_none=True,
         tags=["consents"])  # fmt: skip
def list_consents(
    request: HttpRequest, case_id: UUID, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
) -> dict[str, Any]:
    return _sub_list(request, case_id, "consents", _consents, _consent_json, cursor, limit)


@api.get("/cases/{case_id}/consents/{consent_id}", response={200: ConsentOut, **ERRORS}, exclude_none=True,
         tags=["consents"])  # fmt: skip
def get_consent(request: HttpRequest, case_id: UUID, consent_id: UUID) -> dict[str, Any]:
    return _sub_get(request, case_id, "consents", _consents, consent_id, _consent_json)


@api.post("/cases/{case_id}/consents", response={201: ConsentOut, **ERRORS}, exclude_none=True, tags=["consents"])
@transaction.atomic
def add_consent(request: HttpRequest, case_id: UUID, payload: ConsentIn) -> Status[dict[str, Any]]:
    user, case = _for_write(request, case_id)
    values = _with_person_values("consent", request, case, user, payload.model_dump(exclude_unset=True))
    c = actions.record_consent(user, case, values, request=request)
    return Status(201, _consent_json(c, True))


@api.post("/cases/{case_id}/consents/{consent_id}/withdraw", response={200: ConsentOut, **ERRORS},
          exclude_none=True, tags=["consents"])  # fmt: skip
@transaction.atomic
def withdraw_consent(request: HttpRequest, case_id: UUID, consent_id: UUID, payload: WithdrawIn) -> dict[str, Any]:
    user, case = _for_write(request, case_id)
    consent = _consents(case).filter(uid=consent_id).first()
    if consent is None:
        raise Http404
    on = None
    if payload.con_WithdrawnDate is not None:
        found = records.validate("consent", {"con_WithdrawnDate": payload.con_WithdrawnDate}, "body.")
        if found:
            raise Unprocessable(found)
        on = date.fromisoformat(payload.con_WithdrawnDate)
    actions.withdraw_consent(user, consent, on=on, reason=payload.reason, request=request)
    return _consent_json(consent, True)


@api.get("/cases/{case_id}/assessments", response={200: _page("AssessmentPage", AssessmentOut), **ERRORS},
         exclude_none=True, tags=["assessments"])  # fmt: skip
def list_assessments(request: HttpRequest, case_id: UUID, cursor: Cursor = None,
                     limit: Limit = DEFAULT_LIMIT) -> dict[str, Any]:  # fmt: skip
    return _sub_list(request, case_id, "assessments", _assessments, assessment_json, cursor, limit)


@api.get("/cases/{case_id}/assessments/{assessment_id}", response={200: AssessmentOut, **ERRORS}, exclude_none=True,
         tags=["assessments"])  # fmt: skip
def get_assessment(request: HttpRequest, case_id: UUID, assessment_id: UUID) -> dict[str, Any]:
    return _sub_get(request, case_id, "assessments", _assessments, assessment_id, assessment_json)


@api.post("/cases/{case_id}/assessments", response={201: AssessmentOut, **ERRORS}, exclude_none=True,
          tags=["assessments"], summary="Record a risk and vulnerability assessment")  # fmt: skip
@transaction.atomic
def add_assessment(request: HttpRequest, case_id: UUID, payload: AssessmentIn) -> Status[dict[str, Any]]:
    user, case = _for_write(request, case_id)
    data = payload.model_dump(exclude_unset=True)
    answers = [{k: v for k, v in a.items() if v is not None} for a in data.get("answers") or ()]
    values = _clean("assessment", data, user, "body.",
                    extra={"answers": [{"question": a["question"], "answer": a["answer"]} for a in answers]})  # fmt: skip
    person = _person_ref(user, data.get("person"), case, "body.person")
    if person is not None:
        values["person"] = person
    if "asm_Level" not in values:
        raise Unprocessable([records.problem("missing-required", "asm_Level", "An assessment needs its level.", None,
                                             "body.asm_Level")])  # fmt: skip
    a = actions.record_assessment(user, case, values, answers, request=request)
    return Status(201, assessment_json(a, True))


# --- persons ---------------------------------------------------------------------------------------------


@api.get("/persons", response={200: _page("PersonPage", PersonOut), **ERRORS}, exclude_none=True, tags=["persons"])
def list_persons(request: HttpRequest, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> dict[str, Any]:
    user = need(request, "persons:read")
    need_personal(user)
    rows, nxt = page_by_id(visible_persons(user), cursor, limit)
    _read(request, user, "api.person.list", target_type="cases.person", persons=[str(p.uid) for p in rows])
    return {"items": [person_json(p) for p in rows], "next_cursor": nxt}


def _person(user: Any, person_id: UUID) -> Person:
    person = visible_persons(user).filter(uid=person_id).first()
    if person is None:
        raise Http404
    return person


@api.get("/persons/{person_id}", response={200: PersonOut, **ERRORS}, exclude_none=True, tags=["persons"])
def get_person(request: HttpRequest, person_id: UUID) -> dict[str, Any]:
    user = need(request, "persons:read")
    need_personal(user)
    person = _person(user, person_id)
    _read(request, user, "api.person.read", person)
    return person_json(person)


@api.post("/persons", response={201: PersonOut, **ERRORS}, exclude_none=True, tags=["persons"])
@transaction.atomic
def create_person(request: HttpRequest, payload: PersonIn) -> Status[dict[str, Any]]:
    user = need(request, "persons:write")
    need_write(user)
    values = _clean("person", payload.model_dump(exclude_unset=True), user, "body.")
    person = actions.create_person(user, values, request=request)
    return Status(201, person_json(person))


@api.patch("/persons/{person_id}", response={200: PersonOut, **ERRORS}, exclude_none=True, tags=["persons"])
@transaction.atomic
def update_person(request: HttpRequest, person_id: UUID, payload: PersonIn) -> dict[str, Any]:
    user = need(request, "persons:write")
    need_write(user)
    person = _person(user, person_id)
    values = _clean("person", payload.model_dump(exclude_unset=True), user, "body.", partial=True)
    actions.update_person(user, person, values, request=request)
    return person_json(person)


# --- external organisations ------------------------------------------------------------------------------


@api.get("/organisations", response={200: _page("OrganisationPage", OrganisationOut), **ERRORS}, exclude_none=True,
         tags=["organisations"], summary="List the directory of external organisations")  # fmt: skip
def list_organisations(request: HttpRequest, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> dict[str, Any]:
    user = need(request, "organisations:read")
    rows, nxt = page_by_id(access.scoped(user, ExternalOrganisation), cursor, limit)
    return {"items": [organisation_json(o) for o in rows], "next_cursor": nxt}


@api.get("/organisations/{organisation_id}", response={200: OrganisationOut, **ERRORS}, exclude_none=True,
         tags=["organisations"])  # fmt: skip
def get_organisation(request: HttpRequest, organisation_id: Annotated[int, PField(ge=1, lt=2**62)]) -> dict[str, Any]:
    user = need(request, "organisations:read")
    return organisation_json(access.get_or_404(user, ExternalOrganisation, pk=organisation_id))


@api.post("/organisations", response={201: OrganisationOut, **ERRORS}, exclude_none=True, tags=["organisations"])
@transaction.atomic
def add_organisation(request: HttpRequest, payload: OrganisationIn) -> Status[dict[str, Any]]:
    user = need(request, "organisations:write")
    need_write(user)
    values = _clean("organisation", payload.model_dump(exclude_unset=True), user, "body.")
    if not values.get("org_Name"):
        raise Unprocessable([records.problem("missing-required", "org_Name", "An organisation needs a name.", None,
                                             "body.org_Name")])  # fmt: skip
    return Status(201, organisation_json(actions.add_external_organisation(user, values, request=request)))


# --- documents -------------------------------------------------------------------------------------------


class DocumentOut(Schema):
    id: UUID
    kind: str
    title: str | None = None
    filename: str | None = None
    content_type: str
    size: int
    person_id: UUID | None = None
    consent_id: UUID | None = None
    uploaded_at: str


def document_json(d: Any) -> dict[str, Any]:
    return {"id": d.uid, "kind": d.kind, "title": d.title or None, "filename": d.filename, "content_type": d.content_type,
            "size": d.size, "person_id": d.person.uid if d.person_id else None,
            "consent_id": d.consent.uid if d.consent_id else None, "uploaded_at": d.uploaded_at.isoformat()}  # fmt: skip


def _documents_of(user: Any, case: Case) -> Any:
    from phare.documents.access import visible_documents

    return visible_documents(user).filter(case=case).select_related("person", "consent")


@api.get("/cases/{case_id}/documents", response={200: _page("DocumentPage", DocumentOut), **ERRORS},
         exclude_none=True, tags=["documents"])  # fmt: skip
def list_documents(request: HttpRequest, case_id: UUID, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> dict[str, Any]:
    user = need(request, "cases:read")
    need_personal(user)
    return _sub_list(request, case_id, "documents", lambda case: _documents_of(user, case),
                     lambda d, _names: document_json(d), cursor, limit, personal_only=True)  # fmt: skip


@api.get("/cases/{case_id}/documents/{document_id}/content", response={200: None, **ERRORS}, tags=["documents"],
         summary="Download a document (always as an attachment)")  # fmt: skip
def download_document(request: HttpRequest, case_id: UUID, document_id: UUID) -> HttpResponse:
    from phare.crypto.sealed import SealedFileError
    from phare.documents import actions as documents

    user = need(request, "cases:read")
    need_personal(user)
    doc = _documents_of(user, _case(user, case_id)).filter(uid=document_id).first()
    if doc is None:
        raise Http404
    try:
        stream = documents.open_document(user, doc, request=request)
    except SealedFileError:
        return api.create_response(request, {"detail": "The document can no longer be opened: its person was erased."},
                                   status=410)  # fmt: skip
    with stream:
        response = HttpResponse(stream.read(), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="document-{str(doc.uid)[:8]}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@api.post("/cases/{case_id}/documents", response={201: DocumentOut, **ERRORS}, exclude_none=True, tags=["documents"],
          summary="Attach a document (multipart: file, kind, and optionally title, person_id, consent_id)")  # fmt: skip
@transaction.atomic
def add_document(request: HttpRequest, case_id: UUID, file: File[UploadedFile], kind: Form[str], title: Form[str] = "",
                 person_id: Form[UUID | None] = None, consent_id: Form[UUID | None] = None) -> Status[dict[str, Any]]:  # fmt: skip
    from phare.cases.models import Consent
    from phare.documents import actions as documents

    user, case = _for_write(request, case_id)
    person = _person_ref(user, str(person_id), case, "body.person_id") if person_id else None
    consent = Consent.objects.filter(case=case, uid=consent_id).first() if consent_id else None
    if consent_id and consent is None:
        raise Unprocessable([records.problem("unknown-reference", "consent_id", "No such consent on this case.", str(consent_id),
                                             "body.consent_id")])  # fmt: skip
    doc = documents.upload_document(user, case, file, kind=kind, title=title[:255], person=person, consent=consent,
                                    request=request)  # fmt: skip
    return Status(201, document_json(doc))
# --- the work around cases (tasks): phare.work.api, on the same API, its auth and its error handlers ---------

from phare.work.api import router as work_router  # noqa: E402

api.add_router("", work_router)
# Referral packages between systems (phare.referrals.api): mounted last, since it builds on the helpers above.
from phare.referrals.api import router as _referrals_router  # noqa: E402

api.add_router("/referrals", _referrals_router)
# Helpline contacts (phare.helplines.api), for telephony systems and the call screen's operators.
from phare.helplines.api import router as _contacts_router  # noqa: E402

api.add_router("", _contacts_router)
