"""Personal data at rest outside model fields (phare.crypto.sealed): uploads waiting for their import, rejected rows,
exports waiting for download, and the job rows that queue them, never in clear on disk or in the database.

Each test looks for a marker value, typed as a person's name, in every file under DATA_DIR and the temporary folder
(or in the job's row), and switches off the one protection it proves to show the marker appear: sealing (the
cipher replaced by a pass-through), the memory copy a reader gets, the upload handler, the sealing of a job's
result, request or error, and retention's purge of finished jobs."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from phare.accounts.models import Role
from phare.crypto import sealed
from phare.imports import actions, jobs
from phare.jobs import (
    handlers,  # noqa: F401  (registers the job kinds, as the worker does)
    queue,
)
from phare.jobs.models import Job
from tests.fixtures.sources import big_template_rows, csv_row

pytestmark = pytest.mark.django_db

MARKER = "Zqxmarker" + secrets.token_hex(4)


# -- the negative controls ---------------------------------------------------------------------------------------


class PlainWriter(io.RawIOBase):
    """Sealing switched off: the bytes go to disk as they are."""

    def __init__(self, fh: Any, *args: Any) -> None:
        super().__init__()
        self._fh = fh

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return int(self._fh.write(data))

    def abort(self) -> None:
        if hasattr(self._fh, "abort"):
            self._fh.abort()

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
        super().close()


class PlainReader(io.RawIOBase):
    def __init__(self, fh: Any, *args: Any) -> None:
        super().__init__()
        self._fh = fh

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._fh.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
        super().close()


def unsealed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sealed, "_Writer", PlainWriter)
    monkeypatch.setattr(sealed, "_Reader", PlainReader)


@contextlib.contextmanager
def on_disk(name: str) -> Iterator[Path]:
    """`memory_file` switched off: an ordinary temporary file."""
    folder = Path(tempfile.mkdtemp())
    try:
        yield folder / name
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- looking for the marker --------------------------------------------------------------------------------------


@pytest.fixture
def disk(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """DATA_DIR and the temporary folder of this test alone (Django's, openpyxl's and Phare's temporary files go
    there); `disk()` lists the files on them holding the marker (a symbolic link to memory is not a file on disk)."""
    settings.DATA_DIR = tmp_path / "data"
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))

    def holding(marker: str = MARKER) -> list[str]:
        found = []
        for root in (tmp_path / "data", temp):
            for path in root.rglob("*") if root.exists() else ():
                if path.is_file() and not path.is_symlink() and marker.encode() in path.read_bytes():
                    found.append(str(path.relative_to(tmp_path)))
        return found

    return holding


def job_row_holds(marker: str = MARKER) -> bool:
    """Whether any job row holds the marker in clear, read below the ORM."""
    with connection.cursor() as cur:
        cur.execute("SELECT payload, result, error, progress FROM jobs_job")
        return any(marker in str(value) for row in cur.fetchall() for value in row)


def _csv(bad: bool = False) -> bytes:
    rows = list(big_template_rows(3))
    rows[2][rows[0].index("prs_FirstName")] = MARKER
    if bad:
        rows[2][rows[0].index("prs_Gender")] = "Femnine!"  # this row is rejected, its marker name with it
    out = io.StringIO()
    csv.writer(out).writerows(map(csv_row, rows))  # dates as a spreadsheet saves them
    return out.getvalue().encode()


def _upload(client: Any, mode: str = "atomic", bad: bool = False) -> int:
    r = client.post("/data/import/", {"file": SimpleUploadedFile("cases.csv", _csv(bad), "text/csv"), "mode": mode})
    assert r.status_code == 302, r.content[:300]
    return int(r["Location"].rstrip("/").rsplit("/", 1)[1])


def _confirm(client: Any, dry: int) -> int:
    return int(client.post(f"/data/import/{dry}/confirm/")["Location"].rstrip("/").rsplit("/", 1)[1])


@pytest.fixture
def supervisor(org: Any, make_user: Any, client_for: Any) -> Any:
    return client_for(make_user(Role.SUPERVISOR, org))


# -- uploads -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("switch_off", [None, "sealing", "memory copy", "upload handler"])
def test_it_keeps_an_upload_sealed_from_its_arrival_to_its_import(switch_off: str | None, supervisor: Any, org: Any,
                                                                  disk: Any, settings: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from django.core.files.uploadedfile import TemporaryUploadedFile

    from phare.cases.models import CaseParticipant
    from phare.crypto import uploads

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # the upload goes to the handler that keeps large files
    settings.PHARE_IMPORT_READER_MIN_BYTES = 0  # the import reads in a forked process, through the memory copy
    if switch_off == "sealing":
        unsealed(monkeypatch)
    elif switch_off == "memory copy":
        monkeypatch.setattr(sealed, "memory_file", on_disk)
    elif switch_off == "upload handler":
        settings.FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler",
                                         "django.core.files.uploadhandler.TemporaryFileUploadHandler"]  # fmt: skip
    seen: dict[str, list[str]] = {}
    upload, run_import = actions.upload, jobs.run_import

    handed: list[type] = []

    def arriving(actor: Any, file: Any, **kw: Any) -> Any:  # while the request that brings the file is read
        handed.append(type(file))
        seen["arriving"] = disk()
        return upload(actor, file, **kw)

    def reading(*args: Any, **kw: Any) -> Any:  # while the dry run and the import read it
        seen.setdefault("reading", []).extend(disk())
        return run_import(*args, **kw)

    monkeypatch.setattr(actions, "upload", arriving)
    monkeypatch.setattr(jobs, "run_import", reading)
    from phare.imports import reading as reader

    forked: list[bool] = []
    use_reader_process = reader.use_reader_process
    monkeypatch.setattr(reader, "use_reader_process", lambda source: forked.append(use_reader_process(source)) or forked[-1])
    dry = _upload(supervisor)
    seen["waiting"] = disk()
    assert queue.drain() == 1
    _confirm(supervisor, dry)
    assert queue.drain() == 1
    # The import read the file as it was: the person is there, with the marker for a name.
    names = [p.person.prs_FirstName for p in CaseParticipant.objects.filter(case__organisation=org).select_related("person")]
    assert MARKER in names
    assert forked[-1] is ((os.cpu_count() or 1) > 1)  # the import read in a forked process, from the memory copy
    assert handed == [TemporaryUploadedFile if switch_off == "upload handler" else uploads.SealedUploadedFile]
    leaks = {moment for moment, found in seen.items() if found}
    expected = {None: set(), "sealing": {"waiting", "reading"}, "memory copy": {"reading"}, "upload handler": {"arriving"}}
    assert leaks == expected[switch_off], seen


@pytest.mark.parametrize("in_memory", [True, False])
def test_it_reads_the_mapping_pages_sample_from_memory(in_memory: bool, supervisor: Any, disk: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from phare.imports import views

    if not in_memory:
        monkeypatch.setattr(views, "memory_file", on_disk)
    seen: list[list[str]] = []
    open_table = views.open_table

    def reading(path: Path, *args: Any) -> Any:
        seen.append(disk())
        return open_table(path, *args)

    monkeypatch.setattr(views, "open_table", reading)
    legacy = f"Given name,Sex\n{MARKER},female\n".encode()
    page = supervisor.post("/data/import/mapping/", {"file": SimpleUploadedFile("legacy.csv", legacy)})
    assert MARKER in page.content.decode()  # the sample is shown
    assert len(seen) == 1 and (seen[0] == []) is in_memory


def test_it_seals_a_large_upload_as_it_arrives(monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path) -> None:
    from phare.crypto.uploads import SealedUploadHandler

    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    body = (MARKER + ",") * 200_000  # 2.6 MB: several chunks

    def arrive() -> Any:
        handler = SealedUploadHandler()
        handler.new_file("file", "cases.csv", "text/csv", len(body))
        for start in range(0, len(body), 65536):
            handler.receive_data_chunk(body[start : start + 65536].encode(), start)
        return handler.file_complete(len(body))

    upload = arrive()
    upload._tmp.seek(0)
    assert MARKER.encode() not in upload._tmp.read() and os.listdir(tmp_path) == []  # sealed, and unnamed
    assert b"".join(upload.chunks()) == body.encode() and upload.read(9) == b""  # read whole ...
    upload.seek(0)
    assert upload.read(9) == MARKER.encode()[:9]  # ... and again from the start
    upload.close()
    unsealed(monkeypatch)
    upload = arrive()
    upload._tmp.seek(0)
    assert MARKER.encode() in upload._tmp.read()


def test_it_keeps_what_the_browser_said_of_an_upload_and_reads_it_only_from_the_start(settings: Any,
                                                                                     tmp_path: Path) -> None:  # fmt: skip
    from phare.crypto.uploads import SealedUploadHandler

    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    handler = SealedUploadHandler()
    handler.new_file("file", "cases.csv", "text/csv", 5, charset="latin-1", content_type_extra={"boundary": b"x"})
    handler.receive_data_chunk("café\n".encode("latin-1"), 0)
    upload = handler.file_complete(5)
    # Django's upload API: the charset sent with the part is how a reader decodes it.
    assert (upload.name, upload.content_type, upload.size) == ("cases.csv", "text/csv", 5)
    assert (upload.charset, upload.content_type_extra) == ("latin-1", {"boundary": b"x"})
    assert upload.read().decode(upload.charset) == "café\n"
    with pytest.raises(io.UnsupportedOperation, match=r"^a sealed upload is read from the start$"):
        upload.seek(2)
    upload.close()


def test_it_reads_a_sealed_text_file_in_the_encoding_asked_for(org: Any, disk: Any, settings: Any) -> None:
    root = Path(settings.DATA_DIR) / "files"
    root.mkdir(parents=True)
    file = sealed.SealedFile(root / "rows.csv", org.pk, "import")
    file.write_chunks(["café\n".encode("latin-1")])
    with file.open("r", encoding="latin-1") as fh:
        assert fh.read() == "café\n"
    with file.open("r") as fh, pytest.raises(UnicodeDecodeError):  # UTF-8 unless told otherwise
        fh.read()


# -- rejected rows -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sealing", [True, False])
def test_it_keeps_rejected_rows_and_their_problems_sealed(sealing: bool, supervisor: Any, disk: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    if not sealing:
        unsealed(monkeypatch)
    dry = _upload(supervisor, mode="skip-bad", bad=True)
    queue.drain()
    real = _confirm(supervisor, dry)
    queue.drain()
    job = Job.objects.get(pk=real)
    assert actions.errors_file_of(job).exists() and actions.problems_file_of(job).exists()
    leaks = {Path(found).name for found in disk() + disk("Femnine!")}  # the name, and the value the problem names
    assert leaks == (set() if sealing else {"rejected-rows.csv", "rejected-rows.json"})
    download = b"".join(supervisor.get(f"/data/import/{real}/rejected-rows.csv").streaming_content).decode()
    assert MARKER in download and "Femnine!" in download  # opened for the person allowed to correct them


# -- exports -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sealing", [True, False])
def test_it_keeps_an_export_sealed_until_it_is_downloaded(sealing: bool, org: Any, make_user: Any, client_for: Any,
                                                          disk: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from tests.test_cases_helpers import make_case

    if not sealing:
        unsealed(monkeypatch)
    sup = make_user(Role.SUPERVISOR, org)
    make_case(sup, first=MARKER)
    client = client_for(sup)
    # Written by the page while the person waits: looked at once written, before it is sent.
    written: list[list[str]] = []
    export_cases = actions.export_cases

    def spy(*args: Any, **kw: Any) -> int:
        n = export_cases(*args, **kw)
        written.append(disk())
        return n

    monkeypatch.setattr(actions, "export_cases", spy)
    inline = b"".join(client.post("/data/export/", {"format": "csv"}).streaming_content)
    assert MARKER.encode() in inline and (written == [[]]) is sealing
    # Written by the worker for later: sealed on disk until downloaded.
    monkeypatch.setattr(actions, "EXPORT_INLINE", 0)
    page = client.post("/data/export/", {"format": "json"})["Location"]
    queue.drain()
    assert (disk() == []) is sealing
    assert MARKER.encode() in b"".join(client.get(page + "file").streaming_content)


@pytest.mark.parametrize("in_memory", [True, False])
def test_it_assembles_an_xlsx_export_in_memory(in_memory: bool, org: Any, make_user: Any, disk: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """openpyxl keeps a sheet's XML in a file until it zips it: a file held in memory, not a temporary file."""
    from openpyxl.worksheet import _writer

    from phare.cases.models import Case
    from tests.test_cases_helpers import make_case

    if not in_memory:
        monkeypatch.setattr(actions, "memory_file", on_disk)
    sup = make_user(Role.SUPERVISOR, org)
    make_case(sup, first=MARKER)
    seen: list[list[str]] = []
    cleanup = _writer.WorksheetWriter.cleanup

    def spy(self: Any) -> None:  # the sheet is whole and about to be removed
        seen.append(disk())
        cleanup(self)

    monkeypatch.setattr(_writer.WorksheetWriter, "cleanup", spy)
    out = sealed.SealedFile(Path(tempfile.gettempdir()) / "cases.xlsx", org.pk, "export")
    assert actions.export_cases(sup, Case.objects.filter(organisation=org), "xlsx", out) == 1
    assert len(seen) == 1 and (seen[0] == []) is in_memory
    with out.clear_copy() as path:
        from python_calamine import CalamineWorkbook

        assert MARKER in str(CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Case Sheet").to_python())


# -- the sealed file itself ----------------------------------------------------------------------------------------


def test_it_opens_a_sealed_file_only_whole_unaltered_and_where_it_was_sealed(org: Any, other_org: Any, disk: Any,
                                                                              settings: Any) -> None:  # fmt: skip
    from django.core.management import call_command

    from phare.accounts.management.commands.rotate_keys import rotate_org_data_key

    root = Path(settings.DATA_DIR) / "files"
    root.mkdir(parents=True)
    body = os.urandom(sealed.CHUNK * 2 + 12345) + MARKER.encode()  # three chunks, the last one short
    kept = sealed.SealedFile(root / "a" / "cases.csv", org.pk, "import-upload")
    kept.parent.mkdir()
    kept.write_chunks([body[:1000], body[1000:]])
    assert disk() == [] and kept.read_bytes() == body
    with kept.open("rb") as fh:  # read in pieces of any size
        assert fh.read(7) + fh.read(sealed.CHUNK) + fh.read() == body
    raw = kept.path.read_bytes()

    def opens(data: bytes, path: Path, organisation: int = org.pk, purpose: str = "import-upload") -> str:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        try:
            return "opens" if sealed.SealedFile(path, organisation, purpose).read_bytes() == body else "wrong"
        except sealed.SealedFileError:
            return "refused"

    assert opens(raw, kept.path) == "opens"
    assert opens(raw, kept.path, organisation=other_org.pk) == "refused"  # another organisation's
    assert opens(raw, kept.path, purpose="export") == "refused"  # kept for another purpose
    assert opens(raw, root / "b" / "cases.csv") == "refused"  # moved to another place
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 1
    assert opens(bytes(flipped), kept.path) == "refused"
    last_chunk = len(raw) - (4 + 12345 + len(MARKER) + 16)
    assert opens(raw[:last_chunk], kept.path) == "refused"  # cut after whole chunks: the last one is missing
    assert opens(raw + b"x", kept.path) == "refused"
    assert opens(b"plain text", kept.path) == "refused"
    assert opens(raw, kept.path) == "opens"
    # A key rotation retires the key, never deletes it: a file sealed before it still opens.
    rotate_org_data_key(org)
    assert kept.read_bytes() == body
    call_command("check", verbosity=0)


def test_it_seals_a_file_about_a_person_with_that_persons_key_alone(org: Any, disk: Any, settings: Any) -> None:
    import uuid

    root = Path(settings.DATA_DIR) / "files"
    root.mkdir(parents=True)
    subject = uuid.uuid4()
    about = sealed.SealedFile(root / "doc.pdf", org.pk, "document", subject=subject)
    about.write_chunks([MARKER.encode()])
    assert disk() == [] and about.read_bytes() == MARKER.encode()
    # The same place read as the organisation's file, or as another person's, does not open.
    with pytest.raises(sealed.SealedFileError, match=r"^a sealed file names an organisation key$"):
        sealed.SealedFile(about.path, org.pk, "document").read_bytes()
    with pytest.raises(sealed.SealedFileError):
        sealed.SealedFile(about.path, org.pk, "document", subject=uuid.uuid4()).read_bytes()
    # A file sealed with the organisation's key is not taken for a person's, whatever it is bound to.
    with pytest.raises(sealed.SealedFileError, match="names a person's key"):
        sealed._person_key(sealed.keys.kid("o", *sealed.keys.active_org_key(org.pk, "data")))


def test_it_never_leaves_half_a_sealed_file(org: Any, disk: Any, settings: Any) -> None:
    root = Path(settings.DATA_DIR) / "files"
    root.mkdir(parents=True)
    out = sealed.SealedFile(root / "export.csv", org.pk, "export")
    with pytest.raises(RuntimeError), out.open("w") as fh:
        fh.write(MARKER)
        raise RuntimeError("the export failed halfway")
    assert not out.exists() and list(root.iterdir()) == []
    out.write_text(MARKER)
    assert out.read_text() == MARKER and [p.name for p in root.iterdir()] == ["export.csv"]


@pytest.mark.django_db(transaction=True)
def test_it_backs_up_and_restores_sealed_files(org: Any, disk: Any, settings: Any, tmp_path: Path,
                                               request: pytest.FixtureRequest) -> None:  # fmt: skip
    from django.core.management import call_command

    from phare.accounts.models import Organisation
    from phare.crypto import keys
    from phare.ops import backup

    keys.reset_caches()  # the master key of this DATA_DIR, read again after the restore
    request.addfinalizer(keys.reset_caches)
    root = Path(settings.DATA_DIR) / "files" / "imports" / str(org.pk) / "abc"
    root.mkdir(parents=True)
    kept = sealed.SealedFile(root / "cases.csv", org.pk, "import-upload")
    kept.write_text(f"prs_FirstName\n{MARKER}\n")
    master = os.urandom(32)
    archive = tmp_path / "phare.backup"
    backup.create(archive, master)
    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(Path(settings.DATA_DIR) / "files")
    keys.reset_caches()
    backup.restore(archive, master=master)
    assert Organisation.objects.filter(pk=org.pk).exists()
    assert kept.read_text() == f"prs_FirstName\n{MARKER}\n" and disk() == []


# -- job rows ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sealing", [True, False])
def test_it_keeps_rejected_values_off_the_job_row(sealing: bool, supervisor: Any, disk: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    if not sealing:
        monkeypatch.setattr(jobs, "seal_result", lambda job, result: result)
    dry = _upload(supervisor, mode="skip-bad", bad=True)
    queue.drain()
    assert job_row_holds("Femnine!") is not sealing  # the rejected value and the message naming it
    page = supervisor.get(f"/data/import/{dry}/").content.decode()
    assert "Femnine!" in page  # the person importing still reads the report
    result = actions.result_of(Job.objects.get(pk=dry))
    assert result["rejected"] == 1 and result["rows"][0]["problems"][0]["value"] == "Femnine!"


@pytest.mark.parametrize("sealing", [True, False])
def test_it_keeps_an_export_search_off_the_job_row(sealing: bool, org: Any, make_user: Any, client_for: Any, disk: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import json

    from tests.test_cases_helpers import make_case

    if not sealing:
        monkeypatch.setattr(actions, "seal_value", lambda org, purpose, ref, value: value)
        monkeypatch.setattr(actions, "open_value", lambda org, purpose, ref, token: token)
    sup = make_user(Role.SUPERVISOR, org)
    make_case(sup, first=MARKER)
    make_case(sup, first="Amaka")
    monkeypatch.setattr(actions, "EXPORT_INLINE", 0)
    client = client_for(sup)
    page = client.post("/data/export/", {"format": "json", "q": MARKER})["Location"]
    assert job_row_holds() is not sealing
    queue.drain()
    bundles = json.loads(b"".join(client.get(page + "file").streaming_content))["bundles"]
    assert [b["persons"][0]["prs_FirstName"] for b in bundles] == [MARKER]  # the worker searched what was asked


@pytest.mark.parametrize("sealing", [True, False])
def test_it_keeps_an_error_message_off_the_job_row(sealing: bool, org: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    if not sealing:
        monkeypatch.setattr(queue, "_error_text", lambda job, exc: str(exc))

    @queue.handler("test.fails")
    def fails(job: Job) -> None:
        raise ValueError(f"row 3: {MARKER!r} is not a date")

    try:
        job = queue.enqueue("test.fails", organisation=org, max_attempts=1)
        queue.drain()
    finally:
        queue.HANDLERS.pop("test.fails")
    job.refresh_from_db()
    assert job.status == "failed" and job_row_holds() is not sealing
    assert MARKER in queue.error_of(job)


@pytest.mark.parametrize("purging", [True, False])
def test_it_deletes_finished_job_rows_when_retention_runs(purging: bool, org: Any, other_org: Any, settings: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from django.core.management import call_command

    if not purging:
        monkeypatch.setattr(queue, "purge_finished", lambda *args, **kw: 0)
    settings.PHARE_JOB_KEEP_DAYS = 30
    now = timezone.now()

    def job(organisation: Any, status: str, days: int, note: str) -> int:
        made = queue.enqueue("import.file", {"note": note}, organisation=organisation)
        Job.objects.filter(pk=made.pk).update(status=status, result={"note": note},
                                              finished=now - timedelta(days=days) if status in ("done", "failed") else None)  # fmt: skip
        return made.pk

    old_done, old_failed = job(org, "done", 31, MARKER), job(org, "failed", 40, MARKER)
    fresh, waiting, theirs = job(org, "done", 29, "fresh"), job(org, "queued", 0, "waiting"), job(other_org, "done", 31, "theirs")
    instance = job(None, "done", 31, "instance")
    out = io.StringIO()
    call_command("retention", "run", "--org", org.slug, "--dry-run", stdout=out)
    assert ('"jobs_due": 2' in out.getvalue()) is purging and Job.objects.count() == 6  # a dry run deletes nothing
    call_command("retention", "run", "--org", org.slug, stdout=io.StringIO())
    left = set(Job.objects.values_list("pk", flat=True))
    assert job_row_holds() is not purging
    if purging:
        assert left == {fresh, waiting, theirs, instance}  # only this organisation's, only finished and old
        call_command("retention", "run", stdout=io.StringIO())
        assert set(Job.objects.values_list("pk", flat=True)) == {fresh, waiting}
        # Never sooner than an upload may wait for its confirmation (its check is a finished job).
        settings.PHARE_JOB_KEEP_DAYS, settings.PHARE_UPLOAD_KEEP_DAYS = 1, 7
        checked = job(org, "done", 3, "checked")
        call_command("retention", "run", stdout=io.StringIO())
        assert set(Job.objects.values_list("pk", flat=True)) == {waiting, checked}
    else:
        assert {old_done, old_failed} <= left
