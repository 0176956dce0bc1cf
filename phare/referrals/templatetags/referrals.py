from typing import Any

from django import template

from phare.core.prepared import Prepared
from phare.referrals.views import case_transfers

register = template.Library()


@register.inclusion_tag("referrals/_case_panel.html", takes_context=True)
def referral_panel(context: Any, case: Any) -> dict[str, Any]:
    """The case page's referral panel: referrals to partners of this instance and their status."""
    user = context["request"].user
    from phare.accounts.permissions import READ_PERSONAL, REFER, can

    # An emergency (break-glass) reader is offered no referral: the page already asked whether they are one.
    emergency = context.get("grant") is not None
    return {"case": case, "transfers": case_transfers(user, case),
            "can_refer": can(user, REFER) and can(user, READ_PERSONAL) and not emergency, "request": context["request"]}


@register.simple_tag(takes_context=True)
def referrals_waiting(context: Any) -> str:
    """" (n)" after the menu's Referrals link when n referrals wait for the user's organisation to decide: the
    in-app notice of an arrival (the sender cannot write into the receiver's own notifications: row-level
    security keeps each tenant's rows its own; the shared referral row is what both see)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    from phare.accounts.permissions import READ_PERSONAL, REFER, can

    # `inbox(user).filter(status=RECEIVED).count()`, whose query is the same on every page: built once.
    if not (can(user, REFER) and can(user, READ_PERSONAL)) or not isinstance(user.organisation_id, int):
        return ""
    found = _WAITING.rows(user.organisation_id)
    n = found[0][0] if found else 0
    return f" ({n})" if n else ""


def _waiting_query(org_id: int) -> Any:
    from django.db.models import Count

    from phare.referrals.models import Status, Transfer

    return (Transfer.objects.filter(receiver_id=org_id, status=Status.RECEIVED).order_by().values("receiver_id")
            .annotate(n=Count("id")).values_list("n"))  # fmt: skip


_WAITING = Prepared(_waiting_query, int)
