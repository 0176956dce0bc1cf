from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from phare.accounts.models import Organisation, User
from phare.audit.log import record, verify
from phare.jobs.queue import enqueue
from phare.ops import backup

pytestmark = pytest.mark.django_db(transaction=True)
MASTER = os.urandom(32)
MARKER = "ZZMARKER-backup-7f3a"


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, so a restore can be compared exactly."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with connection.cursor() as cur:
        for table in connection.introspection.table_names(cur):
            cur.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            out[table] = sorted(tuple(map(str, row)) for row in cur.fetchall())
    return out


@pytest.fixture
def data() -> None:
    org = Organisation.objects.create(slug="shelter", org_Name=MARKER)
    user = User.objects.create_user("ana", password="a long enough password", organisation=org, role="admin")
    with transaction.atomic():
        record("case.opened", actor=user, detail={"note": MARKER})
        record("case.viewed", actor=user)
    enqueue("import.run", {"file": "cases.xlsx"}, organisation=org)


def test_it_restores_every_table_exactly(data: None, tmp_path: Path) -> None:
    before = snapshot()
    archive = tmp_path / "phare.backup"
    manifest = backup.create(archive, MASTER)
    assert manifest["tables"]["accounts_organisation"] == 1
    call_command("flush", interactive=False, verbosity=0)
    assert snapshot() != before
    backup.restore(archive, master=MASTER)
    assert snapshot() == before
    assert verify().ok


def test_it_encrypts_the_archive(data: None, tmp_path: Path) -> None:
    archive = tmp_path / "phare.backup"
    backup.create(archive, MASTER)
    raw = archive.read_bytes()
    assert MARKER.encode() not in raw
    assert b"SQLite format" not in raw and b"PGDMP" not in raw


def test_it_refuses_a_wrong_key_a_tampered_or_truncated_archive(data: None, tmp_path: Path) -> None:
    archive = tmp_path / "phare.backup"
    backup.create(archive, MASTER)
    call_command("flush", interactive=False, verbosity=0)
    with pytest.raises(backup.BackupError, match="wrong master key"):
        backup.restore(archive, master=os.urandom(32))
    raw = bytearray(archive.read_bytes())
    raw[len(raw) // 2] ^= 1
    tampered = tmp_path / "tampered.backup"
    tampered.write_bytes(bytes(raw))
    with pytest.raises(backup.BackupError, match="altered"):
        backup.restore(tampered, master=MASTER)
    truncated = tmp_path / "truncated.backup"
    truncated.write_bytes(archive.read_bytes()[:-100])
    with pytest.raises(backup.BackupError):
        backup.restore(truncated, master=MASTER)
    assert not Organisation.objects.exists()  # nothing half-restored


def test_it_refuses_to_restore_over_data(data: None, tmp_path: Path) -> None:
    archive = tmp_path / "phare.backup"
    backup.create(archive, MASTER)
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(archive, master=MASTER)


def test_it_carries_the_documents_and_they_open_after_a_restore(tmp_path: Path) -> None:
    import shutil

    from django.core.files.uploadedfile import SimpleUploadedFile

    from phare.accounts.models import Role
    from phare.cases.models import CaseParticipant
    from phare.crypto import keys
    from phare.documents import actions as documents
    from phare.documents.models import Document
    from tests.test_cases_helpers import make_case, make_org, make_user

    worker = make_user(make_org("backup-docs"), Role.CASE_WORKER, "docs-worker")
    case = make_case(worker)
    content = b"%PDF-1.4\n" + MARKER.encode() + b"\n%%EOF\n"
    doc = documents.upload_document(worker, case, SimpleUploadedFile("id.pdf", content), kind="identity",
                                    person=CaseParticipant.objects.get(case=case).person)  # fmt: skip
    archive = tmp_path / "phare.backup"
    backup.create(archive, MASTER)
    assert MARKER.encode() not in archive.read_bytes()
    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(backup.files_dir() / "documents")
    backup.restore(archive, master=MASTER)
    keys.reset_caches()
    restored = Document.objects.get(uid=doc.uid)
    assert documents.sealed_file(restored).read_bytes() == content
