"""Who sees which documents: those who may open the case and read personal data (a document is about a person,
so it is personal whole, like a person's record). Everything else answers "not found", alike for a document
that does not exist, one of another organisation and one of a case the reader may not open."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from phare import access
from phare.cases.access import every_case_org, on_cases, visible_cases
from phare.cases.models import Case
from phare.core.prepared import PreparedObjects
from phare.documents.models import Document


def visible_documents(user: Any) -> QuerySet[Document]:
    if not access.reads_personal(user):
        return Document.objects.none()
    return access.scoped(user, Document).filter(on_cases(visible_cases(user)))


def _case_documents(docs: QuerySet[Document], case_id: int) -> QuerySet[Document]:
    return docs.filter(case_id=case_id).select_related("uploaded_by", "person").order_by("-uploaded_at")


def _every_case_documents(org_id: int, cases_org_id: int, case_id: int) -> QuerySet[Document]:
    """`visible_documents` of a reader who sees every case of the organisation (the same query, its two mentions of
    the organisation given apart as a prepared query's values must be; tests/test_prepared.py compares them)."""
    docs = Document._default_manager.all().filter(organisation_id=org_id)
    return _case_documents(docs.filter(on_cases(Case._default_manager.all().filter(organisation_id=cases_org_id))),
                           case_id)  # fmt: skip


_EVERY_CASE_DOCUMENTS = PreparedObjects(_every_case_documents, int, int, int)


def case_documents(user: Any, case_id: int) -> list[Document]:
    """The documents of one case the user may read, newest first (a case page's list): `visible_documents`, its
    query built once per process for a reader who sees every case of the organisation (phare.core.prepared)."""
    org_id = every_case_org(user)
    if org_id is not None and access.reads_personal(user):
        found: list[Document] = _EVERY_CASE_DOCUMENTS.objects(org_id, org_id, case_id)
        return found
    return list(_case_documents(visible_documents(user), case_id))


def get_document(user: Any, case: Case, uid: str) -> Document:
    try:
        return visible_documents(user).select_related("case").get(case=case, uid=uid)
    except (Document.DoesNotExist, ValueError, ValidationError):
        raise Http404("Not found") from None
