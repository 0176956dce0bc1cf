"""Who sees which documents: those who may open the case and read personal data (a document is about a person,
so it is personal whole, like a person's record). Everything else answers "not found", alike for a document
that does not exist, one of another organisation and one of a case the reader may not open."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from phare import access
from phare.cases.access import on_cases, visible_cases
from phare.cases.models import Case
from phare.documents.models import Document


def visible_documents(user: Any) -> QuerySet[Document]:
    if not access.reads_personal(user):
        return Document.objects.none()
    return access.scoped(user, Document).filter(on_cases(visible_cases(user)))


def get_document(user: Any, case: Case, uid: str) -> Document:
    try:
        return visible_documents(user).select_related("case").get(case=case, uid=uid)
    except (Document.DoesNotExist, ValueError, ValidationError):
        raise Http404("Not found") from None
