"""The one door to tenant data.

Views, the API and exports read tenant rows only through these functions. They answer `Http404` alike for
a row that does not exist and a row of another organisation, so that probing ids tells an attacker nothing.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404

M = TypeVar("M", bound=Model)

# Tests switch this off to prove that the cross-tenant tests catch a missing filter.
ENFORCE_TENANT_FILTER = True


def scoped(user: Any, model: type[M]) -> QuerySet[M]:
    """Rows of `model` that belong to the user's organisation (none for a user without one)."""
    qs: QuerySet[M] = model._default_manager.all()
    if not ENFORCE_TENANT_FILTER:
        return qs
    org_id = getattr(user, "organisation_id", None)
    if org_id is None:
        return qs.none()
    return qs.filter(organisation_id=org_id)


def get_or_404(user: Any, model: type[M], **lookup: Any) -> M:
    try:
        return scoped(user, model).get(**lookup)
    except model.DoesNotExist:  # type: ignore[attr-defined]
        raise Http404("Not found") from None
