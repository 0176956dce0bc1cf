"""A case's documents: the upload form, the download (always as an attachment, never shown by the browser from
Phare's origin), the server-made preview of an image, and deletion. Reads through `phare.documents.access`,
writes through `phare.documents.actions`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from phare.cases import actions as case_actions
from phare.cases import forms as cf
from phare.cases.models import Consent, Person
from phare.cases.views import _apply_problems, _back, _editable_case, _form_page
from phare.crypto import keys
from phare.crypto.sealed import SealedFileError
from phare.documents import actions
from phare.documents.access import get_document
from phare.documents.models import DocumentKind


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File"), help_text=gettext_lazy("PDF, JPEG, PNG or WebP."))
    kind = forms.ChoiceField(label=gettext_lazy("Kind of document"), choices=DocumentKind.choices)
    title = forms.CharField(label=gettext_lazy("Title"), required=False, max_length=255)
    person = forms.ChoiceField(label=gettext_lazy("About"), required=False)
    consent = forms.ChoiceField(label=gettext_lazy("Signed consent of"), required=False,
                                help_text=gettext_lazy("For a signed consent form: the consent record it proves."))  # fmt: skip

    def __init__(self, *args: Any, people: list[tuple[str, str]] | None = None,
                 consents: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["person"].choices = [("", _("The case as a whole")), *(people or [])]
        fields["consent"].choices = [("", "—"), *(consents or [])]
        fields["file"].widget.attrs["accept"] = "application/pdf,image/jpeg,image/png,image/webp"
        fields["file"].help_text = _("PDF, JPEG, PNG or WebP, at most %(mb)s MB.") % {"mb": actions.max_bytes() // (1024 * 1024)}


@login_required
def document_add(request: HttpRequest, number: str) -> HttpResponse:
    case = _editable_case(request, number)
    people_qs = Person.objects.filter(organisation_id=case.organisation_id, participations__case=case).distinct()
    keys.preload_person_keys(people_qs.values_list("uid", flat=True))
    people = {str(p.uid): p for p in people_qs}
    consents = {str(c.uid): c for c in Consent.objects.filter(case=case).order_by("-id")}
    form = UploadForm(request.POST or None, request.FILES or None,
                      people=[(u, cf.person_display(p, True)) for u, p in people.items()],
                      consents=[(u, f"{cf.display_value('con_Date', c.con_Date) or '—'} · {cf.display_value('con_Purpose', c.con_Purpose)}") for u, c in consents.items()])  # fmt: skip
    if request.method == "POST" and form.is_valid():
        try:
            actions.upload_document(request.user, case, form.cleaned_data["file"], kind=form.cleaned_data["kind"],
                                    title=form.cleaned_data["title"], person=people.get(form.cleaned_data["person"]),
                                    consent=consents.get(form.cleaned_data["consent"]), request=request)  # fmt: skip
        except case_actions.Invalid as exc:
            _apply_problems(form, exc)
        else:
            messages.success(request, _("Document kept with the case."))
            return _back(case, "documents")
    return _form_page(request, case, _("Add a document"), [form], multipart=True)


def _reader_case(request: HttpRequest, number: str) -> Any:
    from phare.cases.access import get_case

    return get_case(request.user, number)


def _sealed_gone() -> HttpResponse:
    return HttpResponse(_("This document can no longer be opened: the person's data was erased."), status=410,
                        content_type="text/plain; charset=utf-8")  # fmt: skip


@login_required
def document_download(request: HttpRequest, number: str, uid: str) -> HttpResponseBase:
    doc = get_document(request.user, _reader_case(request, number), uid)
    try:
        stream = actions.open_document(request.user, doc, request=request)
    except SealedFileError:
        return _sealed_gone()
    response = StreamingHttpResponse(actions.chunks(stream), content_type="application/octet-stream")
    ext = {c: e for _m, _a, c, e in actions.SIGNATURES}[doc.content_type]
    response["Content-Disposition"] = f'attachment; filename="document-{str(doc.uid)[:8]}.{ext}"'
    response["Content-Length"] = str(doc.size)
    _no_inline(response)
    return response


@login_required
def document_preview(request: HttpRequest, number: str, uid: str) -> HttpResponse:
    doc = get_document(request.user, _reader_case(request, number), uid)
    if not doc.has_preview:
        return HttpResponse(status=404)
    try:
        stream = actions.open_document(request.user, doc, preview=True, request=request)
    except SealedFileError:
        return _sealed_gone()
    with stream:
        response = HttpResponse(stream.read(), content_type="image/jpeg")  # re-encoded by Phare, never the upload
    _no_inline(response)
    return response


def _no_inline(response: HttpResponseBase) -> None:
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    response["Cross-Origin-Resource-Policy"] = "same-origin"


class DeleteForm(forms.Form):
    confirm = forms.BooleanField(label=gettext_lazy("Delete this document for good"))


@login_required
def document_delete(request: HttpRequest, number: str, uid: str) -> HttpResponse:
    case = _editable_case(request, number)
    doc = get_document(request.user, case, uid)
    form = DeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.delete_document(request.user, doc, request=request)
        except case_actions.Invalid as exc:
            _apply_problems(form, exc)
        else:
            messages.success(request, _("Document deleted."))
            return _back(case, "documents")
    title = doc.title or doc.filename
    return _form_page(request, case, _("Delete the document “%(t)s”") % {"t": title}, [form], danger=True,
                      submit=_("Delete"))  # fmt: skip
