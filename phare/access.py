"""The one door to tenant data.

Views, the API and exports read tenant rows only through these functions. They answer `Http404` alike for
a row that does not exist and a row of another organisation, so that probing ids tells an attacker nothing.

* `scoped` / `get_or_404`: a user sees rows of their own organisation only (and on PostgreSQL row-level
  security enforces the same below the ORM, see `phare.rls`). Within the tenant, roles narrow further in the
  app's own access module (`phare.cases.access`), using the hooks below.
* Rows opened to one user by name: `restricted_open(user, model)` is the Q of rows the user was named on
  (`RestrictedAccess`) or holds an active break-glass grant for (`phare.accounts.views.break_glass`);
  `phare.cases.access.visible_cases` adds it to what a case worker sees.
* Fields: `field_shown(field, reads_personal)` is the one rule for what a role sees of a field, used by the
  pages, the API, exports and PDFs.
* Records another organisation shared by referral (`SharedRecord`, made by `share()`): `shared_uids`
  for a subquery, `readable` / `get_readable_or_404` for the read-only union; `scoped`
  (the writable set) never includes them.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.utils import timezone

M = TypeVar("M", bound=Model)

# Tests switch this off to prove that the cross-tenant tests catch a missing filter.
ENFORCE_TENANT_FILTER = True


def _label(model: type[Model]) -> str:
    return model._meta.label_lower


def holds_personal_data(model: type[Model]) -> bool:
    return any(personal_field(f) for f in model._meta.concrete_fields)


# Models whose every field is about one identifiable person: shown whole or not at all.
PERSONAL_MODELS = frozenset({"cases.person"})


def personal_field(field: Any) -> bool:
    """Whether a model field holds personal data: identifying fields and free text (which Phare stores
    encrypted), and every field of a person's own record."""
    from phare.crypto.fields import EncryptedDateField, EncryptedTextField

    if isinstance(field, EncryptedTextField | EncryptedDateField):
        return True
    model = getattr(field, "model", None)
    return model is not None and model._meta.label_lower in PERSONAL_MODELS and not field.primary_key


def field_shown(field: Any, reads_personal: bool) -> bool:
    """The one rule for what a reader sees of a field: personal fields only to roles that read personal data
    (`can(user, READ_PERSONAL)`); everything else to every role that may see the record."""
    return reads_personal or not personal_field(field)


def reads_personal(user: Any) -> bool:
    from phare.accounts.permissions import READ_PERSONAL, can

    return can(user, READ_PERSONAL)


def _field_names(model: type[Model]) -> set[str]:
    return {f.name for f in model._meta.concrete_fields}


def restricted_open(user: Any, model: type[Model]) -> Q:
    """Rows of `model` opened to this one user by name: a named membership (`RestrictedAccess`), or an
    active break-glass grant, until it expires."""
    from phare.accounts.models import BreakGlassGrant, RestrictedAccess

    label = _label(model)
    mine = {"user_id": getattr(user, "pk", None), "organisation_id": getattr(user, "organisation_id", None),
            "target_type": label}  # fmt: skip
    members = RestrictedAccess.objects.filter(**mine).values("target_uid")
    glass = BreakGlassGrant.objects.filter(expires_at__gt=timezone.now(), **mine).values("target_uid")
    return Q(uid__in=members) | Q(uid__in=glass)


def shared_uids(user: Any, model: type[Model] | str) -> QuerySet[Any]:
    """Uids of `model` rows another organisation shared with the user's organisation by referral."""
    from phare.accounts.models import SharedRecord

    label = model if isinstance(model, str) else _label(model)
    org_id = getattr(user, "organisation_id", None)
    if org_id is None:
        return SharedRecord.objects.none().values("target_uid")
    return SharedRecord.objects.filter(organisation_id=org_id, target_type=label, revoked_at__isnull=True).values(
        "target_uid"
    )


def share(obj: Model, to_organisation: Any) -> None:
    """Make `obj` (a row with `uid` and `organisation`) readable by `to_organisation` (an accepted referral).
    The caller records the referral in the audit log."""
    from phare.accounts.models import SharedRecord

    SharedRecord.objects.update_or_create(
        organisation_id=getattr(to_organisation, "pk", to_organisation),
        target_type=_label(type(obj)),
        target_uid=obj.uid,  # type: ignore[attr-defined]
        defaults={"owner_id": obj.organisation_id, "revoked_at": None},  # type: ignore[attr-defined]
    )


def unshare(obj: Model, to_organisation: Any) -> None:
    from phare.accounts.models import SharedRecord

    SharedRecord.objects.filter(
        organisation_id=getattr(to_organisation, "pk", to_organisation),
        target_type=_label(type(obj)),
        target_uid=obj.uid,  # type: ignore[attr-defined]
    ).update(revoked_at=timezone.now())


def _may_read(user: Any, model: type[Model]) -> bool:
    return not holds_personal_data(model) or reads_personal(user)


def scoped(user: Any, model: type[M]) -> QuerySet[M]:
    """Rows of `model` that belong to the user's organisation (none for a user without one)."""
    qs: QuerySet[M] = model._default_manager.all()
    if not ENFORCE_TENANT_FILTER:
        return qs
    org_id = getattr(user, "organisation_id", None)
    if org_id is None or not getattr(user, "is_active", True):
        return qs.none()
    return qs.filter(organisation_id=org_id)


def readable(user: Any, model: type[M]) -> QuerySet[M]:
    """`scoped` plus rows shared with the user's organisation by referral: for reading only."""
    if not ENFORCE_TENANT_FILTER:
        return model._default_manager.all()
    own = scoped(user, model)
    if "uid" not in _field_names(model) or getattr(user, "organisation_id", None) is None:
        return own
    if not getattr(user, "is_active", True):
        return own
    shared = model._default_manager.filter(uid__in=shared_uids(user, model))
    if "restricted" in _field_names(model):
        shared = shared.filter(restricted=False)
    return own | shared


def scoped_aggregate(user: Any, model: type[M]) -> QuerySet[M]:
    """The organisation's rows for counting and de-identified aggregates (`read_aggregates`): callers must
    not display personal fields from it."""
    from phare.accounts.permissions import READ_AGGREGATES, can

    qs: QuerySet[M] = model._default_manager.all()
    if not ENFORCE_TENANT_FILTER:
        return qs
    org_id = getattr(user, "organisation_id", None)
    if org_id is None or not (can(user, READ_AGGREGATES) or _may_read(user, model)):
        return qs.none()
    return qs.filter(organisation_id=org_id)


def get_or_404(user: Any, model: type[M], **lookup: Any) -> M:
    try:
        return scoped(user, model).get(**lookup)
    except (model.DoesNotExist, ValueError):  # type: ignore[attr-defined]
        raise Http404("Not found") from None


def get_readable_or_404(user: Any, model: type[M], **lookup: Any) -> M:
    try:
        return readable(user, model).get(**lookup)
    except (model.DoesNotExist, ValueError):  # type: ignore[attr-defined]
        raise Http404("Not found") from None


def active_grant(user: Any, obj: Model) -> Any:
    """The user's active break-glass grant for this row of their organisation, or None."""
    from phare.accounts.models import BreakGlassGrant

    lookup: dict[str, Any] = {
        "user_id": getattr(user, "pk", None),
        "organisation_id": getattr(user, "organisation_id", None),
        "target_type": _label(type(obj)),
        "target_uid": getattr(obj, "uid", None),
    }
    if None in lookup.values():
        return None
    return BreakGlassGrant.objects.filter(expires_at__gt=timezone.now(), **lookup).order_by("-expires_at").first()
