"""Encrypted, consistent backups, and restoring them into an empty instance.

The archive is a tar holding a snapshot of the database (SQLite's online backup API, or `pg_dump -Fc`,
both consistent while the app keeps writing), the stored files and a manifest with row counts. The tar is
encrypted as a stream of AES-256-GCM chunks under a key derived from the master key, so a backup is useless
without the master key, which never lives in the database or the backup. Each chunk's associated data binds
its index and whether it is the last one: chunks cannot be reordered, dropped or the archive truncated
unnoticed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

MAGIC = b"PHAREBK1"
CHUNK = 4 * 1024 * 1024


# Tables that `phare migrate` fills on an otherwise empty instance.
_SCAFFOLDING = {"django_migrations", "django_content_type", "auth_permission", "django_session"}


class BackupError(Exception):
    pass


def backup_key(master: bytes | None = None) -> bytes:
    if master is None:
        from phare.crypto.keys import load_master_key

        master = load_master_key()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"phare-backup-v1").derive(master)


def files_dir() -> Path:
    return Path(settings.DATA_DIR) / "files"


def _tables(conn: Any = None) -> list[str]:
    conn = conn or connection
    with conn.cursor() as cur:
        return sorted(conn.introspection.table_names(cur))


def table_counts(conn: Any = None) -> dict[str, int]:
    conn = conn or connection
    counts = {}
    with conn.cursor() as cur:
        for table in _tables(conn):
            cur.execute(f"SELECT COUNT(*) FROM {conn.ops.quote_name(table)}")
            counts[table] = int(cur.fetchone()[0])
    return counts


def _pg_env(db: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[var] = str(db[key])
    return env


def _snapshot_database(workdir: Path) -> Path:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        out = workdir / "db.sqlite3"
        connection.ensure_connection()
        dest = sqlite3.connect(out)
        with dest:
            connection.connection.backup(dest)
        dest.close()
        return out
    if connection.vendor == "postgresql":
        out = workdir / "db.pgdump"
        proc = subprocess.run(["pg_dump", "-Fc", "--no-owner", "-f", str(out), db["NAME"]], env=_pg_env(db),
                              capture_output=True, text=True)  # fmt: skip
        if proc.returncode:
            raise BackupError(f"pg_dump failed: {proc.stderr.strip()}")
        return out
    raise BackupError(f"backups of {connection.vendor} databases are not supported")


def _encrypt_stream(src: IO[bytes], dst: IO[bytes], key: bytes, header: bytes) -> None:
    aead = AESGCM(key)
    prefix = os.urandom(7)
    dst.write(MAGIC + struct.pack(">I", len(header)) + header + prefix)
    header_hash = hashlib.sha256(header).digest()
    index = 0
    chunk = src.read(CHUNK)
    while True:
        nxt = src.read(CHUNK)
        last = not nxt
        nonce = prefix + struct.pack(">IB", index, 1 if last else 0)
        sealed = aead.encrypt(nonce, chunk, header_hash + struct.pack(">IB", index, 1 if last else 0))
        dst.write(struct.pack(">I", len(sealed)) + sealed)
        if last:
            return
        chunk, index = nxt, index + 1


def _decrypt_stream(src: IO[bytes], dst: IO[bytes], key: bytes) -> dict[str, Any]:
    if src.read(len(MAGIC)) != MAGIC:
        raise BackupError("not a Phare backup (bad magic)")
    (hlen,) = struct.unpack(">I", src.read(4))
    header = src.read(hlen)
    prefix = src.read(7)
    header_hash = hashlib.sha256(header).digest()
    aead = AESGCM(key)
    index = 0
    while True:
        raw = src.read(4)
        if len(raw) < 4:
            raise BackupError("the backup is truncated")
        (size,) = struct.unpack(">I", raw)
        sealed = src.read(size)
        for last in (0, 1):
            try:
                nonce = prefix + struct.pack(">IB", index, last)
                plain = aead.decrypt(nonce, sealed, header_hash + struct.pack(">IB", index, last))
                break
            except Exception:
                plain = None
        if plain is None:
            raise BackupError("the backup cannot be decrypted: wrong master key, or the file was altered")
        dst.write(plain)
        if last:
            if src.read(1):
                raise BackupError("unexpected data after the last chunk")
            return dict(json.loads(header))
        index += 1


def create(out: Path, master: bytes | None = None) -> dict[str, Any]:
    """Write an encrypted backup to `out`; returns the manifest."""
    manifest = {
        "format": 1,
        "created": timezone.now().isoformat(),
        "vendor": connection.vendor,
        "tables": table_counts(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        snapshot = _snapshot_database(workdir)
        tar_path = workdir / "backup.tar"
        with tarfile.open(tar_path, "w") as tar:
            data = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            tar.add(snapshot, arcname=snapshot.name)
            if files_dir().is_dir():
                tar.add(files_dir(), arcname="files")
        header = json.dumps({"format": 1, "vendor": connection.vendor, "created": manifest["created"]}).encode()
        tmp_out = out.with_name(out.name + ".part")
        with tar_path.open("rb") as src, tmp_out.open("wb") as dst:
            _encrypt_stream(src, dst, backup_key(master), header)
        os.replace(tmp_out, out)  # a half-written backup never carries the final name
    return manifest


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    for m in tar.getmembers():
        if m.name.startswith("/") or ".." in Path(m.name).parts:
            raise BackupError(f"refusing unsafe path in backup: {m.name}")
        yield m


def restore(archive: Path, alias: str = "default", master: bytes | None = None, force: bool = False) -> dict[str, Any]:
    """Restore `archive` into the (empty) database `alias` and the files directory; returns the manifest."""
    conn = connections[alias]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        tar_path = workdir / "backup.tar"
        with archive.open("rb") as src, tar_path.open("wb") as dst:
            _decrypt_stream(src, dst, backup_key(master))
        with tarfile.open(tar_path) as tar:
            tar.extractall(workdir / "x", members=list(_members(tar)), filter="data")
        x = workdir / "x"
        manifest: dict[str, Any] = json.loads((x / "manifest.json").read_text())
        if manifest["vendor"] != conn.vendor:
            raise BackupError(f"this backup is of a {manifest['vendor']} database; the target is {conn.vendor}")
        existing = [t for t in _tables(conn) if t not in _SCAFFOLDING and table_counts_one(conn, t)]
        if existing and not force:
            raise BackupError(f"the target database is not empty ({len(existing)} tables hold rows); restore needs an empty instance")
        if conn.vendor == "sqlite":
            conn.ensure_connection()
            target = conn.connection
            src_db = sqlite3.connect(x / "db.sqlite3")
            with src_db:
                src_db.backup(target)
            src_db.close()
        else:
            db = conn.settings_dict
            conn.close()
            proc = subprocess.run(["pg_restore", "--no-owner", "--clean", "--if-exists", "--single-transaction",
                                   "-d", db["NAME"], str(x / "db.pgdump")], env=_pg_env(db), capture_output=True,
                                  text=True)  # fmt: skip
            if proc.returncode:
                raise BackupError(f"pg_restore failed: {proc.stderr.strip()}")
        if (x / "files").is_dir():
            shutil.copytree(x / "files", files_dir(), dirs_exist_ok=True)
    counts = table_counts(conn)
    differ = {t: (n, counts.get(t)) for t, n in manifest["tables"].items() if counts.get(t) != n}
    if differ:
        raise BackupError(f"restored row counts differ from the backup's manifest: {differ}")
    return manifest


def table_counts_one(conn: Any, table: str) -> int:
    with conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {conn.ops.quote_name(table)}")
        return int(cur.fetchone()[0])
