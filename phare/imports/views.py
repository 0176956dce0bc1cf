"""Import pages: upload a file and read its dry run, confirm, follow the progress, download rejected rows; the
mapping page that proposes which HTCDS field each column of another spreadsheet holds; and the export of the
case list's cases."""

from __future__ import annotations

import csv
import difflib
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from htcds import cells
from htcds.catalogue import load
from htcds.sources.limits import TooLargeError
from htcds.sources.mapped import MappingError, suggest_mapping
from htcds.sources.rejected import problems_text
from htcds.sources.tabular import UnreadableFileError, cell_text, open_table
from htcds.sources.xlsform import write_blank_template, write_xlsform
from phare.access import get_or_404, scoped
from phare.accounts.permissions import EXPORT, IMPORT, require_perm
from phare.cases.access import visible_cases
from phare.cases.filters import applied_filters, filter_cases, filter_form
from phare.cases.models import CaseParticipant, ExternalOrganisation
from phare.core.problems import problem_message
from phare.crypto.sealed import memory_file
from phare.imports import actions
from phare.imports.models import ImportedRecord, SavedMapping
from phare.imports.service import compared_cases
from phare.jobs import queue
from phare.jobs.models import Job

SAMPLE_ROWS = 20
RUNNING = (Job.Status.QUEUED, Job.Status.RUNNING)


def _job(request: HttpRequest, pk: int) -> Job:
    return get_or_404(request.user, Job, pk=pk, kind=actions.JOB)


@require_perm(IMPORT)
def index(request: HttpRequest) -> HttpResponse:
    mappings = scoped(request.user, SavedMapping)
    if request.method == "POST":
        file = request.FILES.get("file")
        mapping = None
        if request.POST.get("mapping"):
            mapping = get_or_404(request.user, SavedMapping, pk=request.POST["mapping"])
        if file is None:
            messages.error(request, _("Choose a file to import."))
        else:
            try:
                job = actions.upload(request.user, file, mode=request.POST.get("mode", "atomic"), mapping=mapping,
                                     request=request)  # fmt: skip
            except actions.ImportRefusedError as exc:
                messages.error(request, str(exc))
            else:
                return redirect("imports:detail", pk=job.pk)
    recent = scoped(request.user, Job).filter(kind=actions.JOB).order_by("-id")[:20]
    return render(request, "imports/index.html", {"mappings": mappings, "recent": recent, "modes": actions.MODES})


@require_perm(IMPORT)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    running = job.status in RUNNING
    result = actions.result_of(job)  # its rows are sealed on the job's row
    context = {"job": job, "running": running, "result": result, "error": queue.error_of(job),
               "progress": actions.progress_of(job) if running else {}, "file_kept": actions.file_of(job).exists(),
               "errors_kept": actions.errors_file_of(job).exists(), "no_worker": queue.unclaimed_too_long(job),
               "refused": actions.refused(result.get("file_problems") or [])}  # fmt: skip
    if not running and job.payload.get("dry_run"):
        context["unmatched"] = _unmatched(request.user, result)
    if not running and result.get("rows"):
        actions.open_report(request.user, job, request=request)  # the rows show values typed about people
        context["rows"] = _with_cases(request.user, result)
    if request.headers.get("HX-Request"):
        return render(request, "imports/_status.html", context)
    return render(request, "imports/detail.html", context)


def _unmatched(user: Any, result: dict[str, Any]) -> list[dict[str, Any]]:
    """The organisations the file names that the directory does not hold, once each, with the choice the page
    proposes: a directory entry whose name is close, else adding it."""
    problems = [p for p in result.get("file_problems") or [] if p.get("code") == "unknown-organisation"]
    if not problems:
        return []
    entries = [(str(pk), name) for pk, name in scoped(user, ExternalOrganisation).order_by("org_Name")
               .values_list("pk", "org_Name")]  # fmt: skip
    folded = {name.casefold(): pk for pk, name in entries}
    out = []
    for p in problems:
        name = str(p.get("value"))
        close = difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=0.85)
        out.append({"name": name, "rows": p.get("rows") or [], "fields": str(p.get("field") or "").split(","),
                    "proposed": folded[close[0]] if close else "add", "entries": entries})  # fmt: skip
    return out


def _with_cases(user: Any, result: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's rows, each possible duplicate with the cases the user may open to review it: the case the row
    became (`new_case`, once imported) and those of the people already recorded it may be (`seen_in`)."""
    rows = [dict(r) for r in result.get("rows") or []]
    flagged = [r for r in rows if r.get("duplicates")]
    if not flagged:
        return rows
    cases = visible_cases(user)
    seen = compared_cases(scoped(user, CaseParticipant).filter(case__in=cases), [r["duplicates"] for r in flagged])
    made: dict[str, str] = {}
    if not result.get("dry_run"):
        made = dict(scoped(user, ImportedRecord).filter(source=result.get("source", ""), case__in=cases,
                                                        source_key__in=[r["key"] for r in flagged])
                    .values_list("source_key", "case__number"))  # fmt: skip
    for r, numbers in zip(flagged, seen, strict=True):
        r["seen_in"] = numbers
        r["new_case"] = made.get(r["key"])
    return rows


@require_perm(IMPORT)
@require_POST
def confirm(request: HttpRequest, pk: int) -> HttpResponse:
    dry = _job(request, pk)
    try:
        chosen = {name: request.POST.get(f"organisation-{n}", "")
                  for n, name in enumerate(request.POST.getlist("organisation-name"))}  # fmt: skip
        job = actions.confirm(request.user, dry, request=request, source=request.POST.get("source", ""),
                              organisations=chosen)  # fmt: skip
    except actions.ImportRefusedError as exc:
        messages.error(request, str(exc))
        return redirect("imports:detail", pk=dry.pk)
    return redirect("imports:detail", pk=job.pk)


@require_perm(IMPORT)
@require_POST
def discard(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    actions.discard(request.user, job, request=request)
    messages.success(request, _("The file was deleted."))
    return redirect("imports:index")


@require_perm(IMPORT)
def rejected_rows(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The rejected rows as typed, each with its problems in the reader's language: the sheet to correct and
    upload again."""
    job = _job(request, pk)
    path = actions.errors_file_of(job)
    if not path.exists():
        raise Http404("Not found")
    actions.open_rejected_rows(request.user, job, request=request)
    problems_path = actions.problems_file_of(job)
    problems = json.loads(problems_path.read_text("utf-8")) if problems_path.exists() else {}
    # Written here, in the request's language: the rows stream after the view has returned.
    fix = _("fix")
    texts = {row: problems_text(ps, lambda p: problem_message(p["code"], p["message"]), fix) for row, ps in problems.items()}
    fh = path.open(newline="", encoding="utf-8")
    response = StreamingHttpResponse(_translated_rows(fh, texts), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rejected-rows-{job.pk}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _translated_rows(fh: Any, texts: dict[str, str]) -> Iterator[str]:
    """The stored rows, each one's problems (last column) replaced by `texts[its row number]` (the file keeps
    English)."""
    out = io.StringIO()
    writer = csv.writer(out)
    with fh:
        for row in csv.reader(fh):
            if len(row) >= 2 and row[-2] in texts:
                row[-1] = cells.neutralise(texts[row[-2]])
            writer.writerow(row)
            if out.tell() > 65536:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
    yield out.getvalue()


@require_perm(EXPORT)
@require_POST
def export(request: HttpRequest) -> HttpResponseBase:
    """The cases the case list shows for the filters posted with the button, as a file to download."""
    form = filter_form(request.user, request.POST)
    fmt = request.POST.get("format", "")
    if fmt not in actions.EXPORT_FORMATS or not form.is_valid():
        # Exporting every case when a filter is wrong would hand out more than the person asked for.
        messages.error(request, _("The export was not made: choose a format, and correct the filters."))
        return redirect("cases:list")
    if not actions.may_export(request.user):  # the export permission without sight of personal data
        raise PermissionDenied
    cases = filter_cases(request.user, form)
    if cases.count() > actions.EXPORT_INLINE:
        job = actions.queue_export(request.user, fmt, {k: request.POST.get(k, "") for k in form.fields}, request)
        return redirect("imports:export_job", pk=job.pk)
    path = actions.export_file(request.user, fmt)  # sealed at rest, like every file Phare keeps
    actions.export_cases(request.user, cases, fmt, path, applied_filters(form), request=request)
    fh = path.open("rb")
    path.unlink()  # the open file stays readable; nothing is left on disk once the response is sent
    response = FileResponse(fh, as_attachment=True, filename=f"cases-{timezone.localdate().isoformat()}.{fmt}")
    response["Cache-Control"] = "no-store"
    return response


def _export_job(request: HttpRequest, pk: int) -> Job:
    """A queued export, for the person who asked for it only (404 alike for anyone else's, in or out of the
    organisation)."""
    job = get_or_404(request.user, Job, pk=pk, kind=actions.EXPORT_JOB)
    if job.payload.get("actor") != request.user.pk:
        raise Http404("Not found")
    return job


@require_perm(EXPORT)
def export_job(request: HttpRequest, pk: int) -> HttpResponse:
    """A large export while the worker writes it, then its download link."""
    job = _export_job(request, pk)
    context = {"job": job, "running": job.status in RUNNING, "ready": actions.ready_export(job) is not None,
               "error": queue.error_of(job)}  # fmt: skip
    if request.headers.get("HX-Request"):
        return render(request, "imports/_export_status.html", context)
    return render(request, "imports/export.html", context)


@require_perm(EXPORT)
def export_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The file of a queued export, once: it is deleted as it is sent."""
    job = _export_job(request, pk)
    path = actions.ready_export(job)
    if path is None:
        raise Http404("Not found")
    fh = path.open("rb")
    path.unlink()  # the open file stays readable until sent
    response = FileResponse(fh, as_attachment=True, filename=f"cases-{job.created.date().isoformat()}.{job.payload['format']}")
    response["Cache-Control"] = "no-store"
    return response


# Forms to collect cases with, generated from the catalogue: they hold no data.
BLANK_FORMS: dict[str, tuple[str, Callable[..., Path]]] = {"template": ("htcds-template", write_blank_template),
                                                           "xlsform": ("htcds-xlsform", write_xlsform)}  # fmt: skip


@require_perm(IMPORT)
def blank_form(request: HttpRequest, kind: str) -> HttpResponse:
    """A blank HTCDS Excel template or XLSForm, Core fields only or (`?fields=all`) every field."""
    if kind not in BLANK_FORMS:
        raise Http404("Not found")
    stem, write = BLANK_FORMS[kind]
    extended = request.GET.get("fields") == "all"
    name = f"{stem}{'-all-fields' if extended else ''}.xlsx"
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / name, extended=extended)
        body = path.read_bytes()
    response = HttpResponse(body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _analyse(upload: Any) -> tuple[list[str], list[list[str]]]:
    suffix = Path(upload.name or "").suffix.lower()
    with memory_file(f"sample{suffix}") as path:  # never in clear on disk
        with path.open("wb") as fh:
            for chunk in upload.chunks():
                fh.write(chunk)
        table = open_table(path)
        headers = [cell_text(c) for c in next(table.rows, [])]
        samples = []
        for row in table.rows:
            samples.append([cell_text(c) for c in row])
            if len(samples) == SAMPLE_ROWS:
                break
    return headers, samples


class DamagedFormError(Exception):
    """A posted form that the page cannot have sent (a hidden field edited or cut short)."""


def _proposal(post: Any, i: int) -> dict[str, Any]:
    """The proposal the page wrote in a hidden field for column `i`, as the page wrote it or refused."""
    try:
        proposal = json.loads(post.get(f"proposal-{i}") or "{}")
    except (ValueError, RecursionError) as exc:
        raise DamagedFormError from exc
    if not isinstance(proposal, dict) or not all(
        isinstance(proposal.get(k), t | None) for k, t in (("field", str), ("values", dict), ("date_format", str))
    ):
        raise DamagedFormError
    return proposal


def _mapping_yaml(post: Any) -> str:
    """The mapping the user checked: column -> field, "id" or "ignore"; value translations and date orders
    proposed for a column are kept only while its field is still the proposed one. DamagedFormError for a
    proposal the page did not write."""
    columns: dict[str, Any] = {}
    id_column = None
    for i, header in enumerate(post.getlist("header")):
        choice = (post.get(f"field-{i}") or "").strip()
        proposal = _proposal(post, i)
        if choice == "id":
            id_column = id_column or header
        elif not choice or choice == "ignore":
            columns[header] = "ignore"
        elif choice == proposal.get("field") and (proposal.get("values") or proposal.get("date_format")):
            rule = {"field": choice}
            rule.update({k: proposal[k] for k in ("values", "date_format") if proposal.get(k)})
            columns[header] = rule
        else:
            columns[header] = choice
    doc: dict[str, Any] = {"source": (post.get("name") or "mapped").strip()[:60]}
    if id_column:
        doc["id_column"] = id_column
    doc["columns"] = columns
    return str(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


@require_perm(IMPORT)
def mapping(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {"fields": load().fields, "sample_rows": SAMPLE_ROWS}
    if request.method == "POST" and "save" in request.POST:
        try:
            body = _mapping_yaml(request.POST)
        except DamagedFormError:
            # Only an edited or truncated page sends this: say so instead of guessing what the columns meant.
            messages.error(request, _("The mapping form came back damaged and was not saved: upload the file again "
                                      "to map its columns."))  # fmt: skip
            context["saved"] = scoped(request.user, SavedMapping)
            return render(request, "imports/mapping.html", context, status=400)
        try:
            saved = actions.save_mapping(request.user, request.POST.get("name", ""), body, request=request)
        except MappingError as exc:
            context["problems"] = [problem_message(p.code, p.message, detail=True)
                                   + (" " + _("Did you mean %(fix)s?") % {"fix": p.suggestion} if p.suggestion else "")
                                   for p in exc.problems]  # fmt: skip
            context["rows"] = _rows_from_post(request.POST)
            context["name"] = request.POST.get("name", "")
            return render(request, "imports/mapping.html", context, status=422)
        except actions.ImportRefusedError as exc:
            messages.error(request, str(exc))
            context["rows"] = _rows_from_post(request.POST)
            return render(request, "imports/mapping.html", context, status=422)
        messages.success(request, _("Mapping “%(name)s” saved: choose it when you import a file of this shape.")
                         % {"name": saved.name})  # fmt: skip
        return redirect("imports:index")
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose a file to import."))
        else:
            try:
                headers, samples = _analyse(upload)
            except TooLargeError as exc:  # names the limit and what to do, in English after the sentence
                messages.error(request, problem_message("file-too-large", str(exc), detail=True))
            except (UnreadableFileError, ValueError) as exc:
                messages.error(request, problem_message("unreadable-file", str(exc), detail=True))
            else:
                suggestions = suggest_mapping(headers, samples)
                context["rows"] = [
                    {"header": s.column, "choice": "id" if s.is_id else (s.field or "ignore"),
                     "confidence": round(s.confidence * 100), "reason": s.reason,
                     "samples": [r[i] for r in samples[:3] if i < len(r) and r[i]],
                     "proposal": json.dumps({"field": s.field, "values": s.values, "date_format": s.date_format})}
                    for i, s in enumerate(suggestions)
                ]  # fmt: skip
                context["name"] = Path(upload.name or "").stem
    context["saved"] = scoped(request.user, SavedMapping)
    return render(request, "imports/mapping.html", context)


def _rows_from_post(post: Any) -> list[dict[str, Any]]:
    return [{"header": h, "choice": post.get(f"field-{i}", ""), "confidence": None, "reason": "",
             "samples": [], "proposal": post.get(f"proposal-{i}", "{}")}
            for i, h in enumerate(post.getlist("header"))]  # fmt: skip
