"""The referral package endpoints of the REST API (mounted at /api/v1/referrals): the organisation's card, trusting
a partner's card, packing a case for a trusted partner, opening a package (dry run or import). Same verbs, same
checks and audit as the commands and the pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field as PField

from phare.accounts.permissions import MANAGE_USERS, can
from phare.api.v1 import ERRORS, Denied, need, need_personal
from phare.cases.access import get_case
from phare.referrals import actions, packages, parts

router: Router = Router(tags=["referral packages"])


class TrustIn(Schema):
    card: dict[str, Any]
    fingerprint: str = PField("", description="the fingerprint the partner gave you out of band; refused if different")


class PackIn(Schema):
    case: str = PField(description="case number")
    partner: str = PField(description="fingerprint of the partner's trusted card")
    services: list[str]
    parts: list[str] = list(parts.DEFAULT_PARTS)
    urgency: str = "routine"
    details: str = ""


class OpenIn(Schema):
    package: str
    dry_run: bool = False


def _refuse(e: Any) -> Status[dict[str, Any]]:
    """A refusal in the API's one problem format (the reason's stable code, its message)."""
    return Status(422, {"detail": [{"code": e.code, "message": e.message, "path": "body"}]})


@router.get("/card", response={200: dict[str, Any], **ERRORS}, summary="Your organisation's card")
def get_card(request: HttpRequest) -> dict[str, Any]:
    user = need(request, "organisations:read")
    return packages.card(user.organisation)


@router.post("/partners", response={201: dict[str, Any], **ERRORS},
             summary="Trust a partner's card")  # fmt: skip
def trust_partner(request: HttpRequest, payload: TrustIn) -> Status[dict[str, Any]]:
    user = need(request, "organisations:write")
    if not can(user, MANAGE_USERS):
        raise Denied("Only an organisation admin trusts partners.")
    try:
        row = packages.trust(user, user.organisation, payload.card, expected=payload.fingerprint, request=request)
    except packages.PackageRefused as e:
        return _refuse(e)
    return Status(201, {"partner": row.partner_id, "name": row.name, "fingerprint": row.fingerprint})


@router.post("/packages", response={201: dict[str, Any], **ERRORS},
             summary="Pack the chosen parts of a case for a trusted partner")  # fmt: skip
def pack(request: HttpRequest, payload: PackIn) -> Status[dict[str, Any]]:
    user = need(request, "cases:read", "cases:write")
    need_personal(user)
    case = get_case(user, payload.case)
    partner = packages.trusted(user.organisation, fp=payload.partner.replace(" ", "").lower())
    try:
        if partner is None:
            raise packages.PackageRefused("partner-untrusted")
        token, claims = packages.pack(user, case, partner, services=payload.services, chosen=payload.parts,
                                      urgency=payload.urgency, details=payload.details, request=request)  # fmt: skip
    except (packages.PackageRefused, actions.Refused) as e:
        return _refuse(e)
    return Status(201, {"id": claims["id"], "to": claims["aud"], "expires": claims["exp"],
                        "parts": claims["referral"]["parts"], "package": token})  # fmt: skip


@router.post("/packages/open", response={200: dict[str, Any], **ERRORS},
             summary="Check a package addressed to your organisation, and import it unless dry_run")  # fmt: skip
def open_package(request: HttpRequest, payload: OpenIn) -> Status[dict[str, Any]]:
    user = need(request, "cases:read", "cases:write")
    need_personal(user)
    try:
        out = packages.open_package(user, payload.package, dry_run=payload.dry_run, request=request)
    except actions.Refused as e:
        return _refuse(e)
    if not out.ok:
        return Status(422, {"detail": [{"code": out.code, "message": out.message, "path": "body.package"}]})
    return Status(200, out.to_dict())
