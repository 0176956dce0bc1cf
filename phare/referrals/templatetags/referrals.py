from typing import Any

from django import template

from phare.referrals.views import case_transfers

register = template.Library()


@register.inclusion_tag("referrals/_case_panel.html", takes_context=True)
def referral_panel(context: Any, case: Any) -> dict[str, Any]:
    """The case page's referral panel: referrals to partners of this instance and their status."""
    user = context["request"].user
    from phare.accounts.permissions import READ_PERSONAL, REFER, can

    return {"case": case, "transfers": case_transfers(user, case), "can_refer": can(user, REFER) and can(user, READ_PERSONAL),
            "request": context["request"]}
