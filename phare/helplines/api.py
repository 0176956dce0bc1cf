"""Contacts over the API: `GET/POST /api/v1/contacts`, `GET/PATCH /api/v1/contacts/{id}`, so that a telephony
system (an Asterisk dial plan, a cloud call centre) can record a contact when a call starts and the operator
completes it on the call screen (`screen` in the answer).

Scopes `contacts:read` / `contacts:write`. Reads go through `phare.helplines.access.visible_contacts` (itself on
`phare.access.scoped`), so another organisation's contact answers 404 exactly like a missing one; every read is
audited; writes go through the contact verbs (audited there). Contacts are personal data: roles that read none
(analysts, auditors) are refused, and only the helpline's roles (operators, supervisors, admins) write.
"""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias
from uuid import UUID

from django.db import transaction
from django.http import Http404, HttpRequest
from django.urls import reverse
from ninja import Router, Schema, Status
from pydantic import Field as PField
from pydantic import StrictBool, StrictStr, WithJsonSchema

from phare.api import records
from phare.api.v1 import ERRORS, Cursor, Limit, Unprocessable, _page, _read, need, need_personal, page_by_id
from phare.helplines import actions
from phare.helplines.access import visible_contacts
from phare.helplines.models import CallerType, Channel, Contact, ContactDirection, Outcome, Reason, Risk

router = Router(tags=["contacts"])

_When = Annotated[str | None, WithJsonSchema({"anyOf": [{"type": "string", "format": "date-time", "maxLength": 40},
                                                        {"type": "null"}]})]  # fmt: skip
_Names = Annotated[list[Annotated[StrictStr, PField(max_length=64)]], PField(max_length=64)]


def _text(field: str) -> Any:
    return Annotated[StrictStr, PField(max_length=actions.TEXT_LIMITS[field])]


if TYPE_CHECKING:
    ChannelName: TypeAlias = str
    DirectionName: TypeAlias = str
    CallerName: TypeAlias = str
    ReasonName: TypeAlias = str
    RiskName: TypeAlias = str
    OutcomeName: TypeAlias = str
    ScreenOutcome: TypeAlias = str
    CallerNameText: TypeAlias = str
    PhoneText: TypeAlias = str
    EmailText: TypeAlias = str
    LanguageText: TypeAlias = str
    RegionText: TypeAlias = str
    SummaryText: TypeAlias = str
    NoteText: TypeAlias = str
else:
    ChannelName = Literal[tuple(Channel.values)]
    DirectionName = Literal[tuple(ContactDirection.values)]
    CallerName = Literal[tuple(CallerType.values)]
    ReasonName = Literal[tuple(Reason.values)]
    RiskName = Literal[tuple(Risk.values)]
    OutcomeName = Literal[tuple(Outcome.values)]
    # The case outcomes are set by opening or linking a case, never written directly.
    ScreenOutcome = Literal[tuple(v for v in Outcome.values if v not in actions.CASE_OUTCOMES)]
    CallerNameText, PhoneText, EmailText = _text("caller_name"), _text("caller_phone"), _text("caller_email")
    LanguageText, RegionText, SummaryText, NoteText = (_text("language"), _text("region"), _text("summary"),
                                                       _text("callback_note"))  # fmt: skip


class ContactIn(Schema):
    """Every field optional: a telephony system may send only the channel and the caller's number."""

    model_config = {"extra": "forbid"}
    channel: ChannelName | None = None
    direction: DirectionName | None = None
    started_at: _When = None
    ended_at: _When = None
    caller_type: CallerName | None = None
    anonymous: StrictBool | None = None
    caller_name: CallerNameText | None = None
    caller_phone: PhoneText | None = None
    caller_email: EmailText | None = None
    language: LanguageText | None = PField(None, description="ISO 639-3 code")
    region: RegionText | None = None
    reason: ReasonName | None = None
    summary: SummaryText | None = None
    indicators: _Names | None = PField(None, description="HTCDS value names of vic_MethodsOfControl")
    exploitation: _Names | None = PField(None, description="HTCDS value names of vic_TypeOfExploitation")
    risk: RiskName | None = None
    outcome: ScreenOutcome | None = None
    follow_up: StrictBool | None = None
    callback_note: NoteText | None = None


class ContactOut(Schema):
    id: UUID
    reference: str
    screen: str
    channel: str
    direction: str
    started_at: datetime
    ended_at: datetime | None = None
    caller_type: str
    anonymous: bool
    caller_name: str | None = None
    caller_phone: str | None = None
    caller_email: str | None = None
    language: str | None = None
    region: str | None = None
    reason: str
    summary: str | None = None
    answers: str | None = None
    indicators: list[str]
    exploitation: list[str]
    risk: str
    outcome: str
    follow_up: bool
    callback_note: str | None = None
    case_id: UUID | None = None
    case_number: str | None = None


def contact_json(c: Contact) -> dict[str, Any]:
    def text(value: Any) -> str | None:
        return str(value) if value else None

    return {"id": c.uid, "reference": c.reference, "screen": reverse("helplines:contact", args=[c.reference]),
            "channel": c.channel, "direction": c.direction, "started_at": c.started_at, "ended_at": c.ended_at,
            "caller_type": c.caller_type, "anonymous": c.anonymous, "caller_name": text(c.caller_name),
            "caller_phone": text(c.caller_phone), "caller_email": text(c.caller_email), "language": c.language or None,
            "region": c.region or None, "reason": c.reason, "summary": text(c.summary), "answers": text(c.answers),
            "indicators": list(c.indicators or []), "exploitation": list(c.exploitation or []), "risk": c.risk,
            "outcome": c.outcome, "follow_up": c.follow_up, "callback_note": text(c.callback_note),
            "case_id": c.case.uid if c.case else None, "case_number": c.case.number if c.case else None}  # fmt: skip


def _reader(request: HttpRequest) -> Any:
    user = need(request, "contacts:read")
    need_personal(user)  # a contact is about a caller: personal whole
    return user


def _writer(request: HttpRequest) -> Any:
    user = need(request, "contacts:write")
    need_personal(user)
    return user  # the verbs refuse the roles that do not work the line


def _contact(user: Any, contact_id: UUID) -> Contact:
    contact = visible_contacts(user).select_related("case").filter(uid=contact_id).first()
    if contact is None:
        raise Http404
    return contact


def _when(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        when = None
    offset = when.utcoffset() if when is not None else None
    # Real offsets run from -12:00 to +14:00; PostgreSQL refuses beyond 15:59, Python allows up to 23:59.
    if when is None or offset is None or abs(offset) > timedelta(hours=14):
        raise Unprocessable([records.problem("invalid-date", field, f"{value!r} is not a date and time with its "
                                             "offset, such as 2026-03-01T14:05:00+00:00.", value, f"body.{field}")])  # fmt: skip
    return when


def _values(payload: ContactIn) -> dict[str, Any]:
    data = payload.model_dump(exclude_unset=True)
    for field in ("started_at", "ended_at"):
        if field in data:
            data[field] = _when(data[field], field)
    # An explicit null means "leave it": the verbs take a value or no key at all.
    return {k: v for k, v in data.items() if v is not None or k == "ended_at"}


@router.get("/contacts", response={200: _page("ContactPage", ContactOut), **ERRORS}, exclude_none=True)
def list_contacts(request: HttpRequest, outcome: OutcomeName | None = None, cursor: Cursor = None,
                  limit: Limit = 50) -> dict[str, Any]:  # fmt: skip
    """The contacts the token's user may see, oldest first (a stable cursor); `outcome=triage` for those waiting."""
    user = _reader(request)
    qs = visible_contacts(user).select_related("case")
    if outcome:
        qs = qs.filter(outcome=outcome)
    rows, nxt = page_by_id(qs, cursor, limit)
    _read(request, user, "api.contact.list", target_type="helplines.contact", contacts=[c.reference for c in rows])
    return {"items": [contact_json(c) for c in rows], "next_cursor": nxt}


@router.get("/contacts/{contact_id}", response={200: ContactOut, **ERRORS}, exclude_none=True)
def get_contact(request: HttpRequest, contact_id: UUID) -> dict[str, Any]:
    user = _reader(request)
    contact = _contact(user, contact_id)
    _read(request, user, "api.contact.read", contact)
    return contact_json(contact)


@router.post("/contacts", response={201: ContactOut, **ERRORS}, exclude_none=True)
@transaction.atomic
def create_contact(request: HttpRequest, payload: ContactIn) -> Status[dict[str, Any]]:
    """Record a contact, for example when a call starts (`channel`, `caller_phone`); the operator completes it."""
    user = _writer(request)
    contact = actions.record_contact(user, _values(payload), request=request)
    return Status(201, contact_json(contact))


@router.patch("/contacts/{contact_id}", response={200: ContactOut, **ERRORS}, exclude_none=True)
@transaction.atomic
def update_contact(request: HttpRequest, contact_id: UUID, payload: ContactIn) -> dict[str, Any]:
    """Change some fields, for example `ended_at` when the call ends."""
    user = _writer(request)
    contact = _contact(user, contact_id)
    actions.update_contact(user, contact, _values(payload), request=request)
    return contact_json(_contact(user, contact_id))
