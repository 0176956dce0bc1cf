"""Personal data kept outside model fields, sealed with the organisation's data key (the key that seals personal
fields, `phare.crypto.keys`): files (uploads waiting for their import, rejected rows, exports waiting for download)
and small values (an import's report and a queued export's filters on their job).

A sealed file is a stream of AES-256-GCM chunks, so a 37 MB upload is sealed and opened a chunk at a time and never
held whole, and never written in clear:

    MAGIC | header length (4 bytes) | header (JSON: version, key id, salt, nonce prefix) | chunk | chunk | ...
    chunk = length (4 bytes, top bit set on the last chunk) | ciphertext and tag of up to CHUNK bytes

Each file has its own key, derived by HKDF-SHA256 from the organisation key, a random salt and the file's binding
(organisation, purpose, and its place under DATA_DIR). A chunk's nonce is the file's random prefix, the chunk's
index and a last-chunk flag, and its associated data is the hash of the header with the same index and flag (the
STREAM construction): chunks cannot be reordered, dropped or cut short, the header cannot be changed, and a file
moved to another organisation, purpose or place does not open. The header names the organisation key by id, so a
file sealed before a key rotation still opens.

Readers of files need a path (the sources, openpyxl's sheet writer): `memory_file` gives one whose content lives
in memory only (a Linux memfd), and `SealedFile.clear_copy` decrypts into such a file for the length of a read.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from phare.crypto import keys

log = logging.getLogger(__name__)

MAGIC = b"PHARESF1"
CHUNK = 1 << 20  # bytes of plaintext per chunk: memory stays at a few chunks whatever the file's size
_LAST = 1 << 31
_TAG = 16
_MAX_HEADER = 4096
VALUE_PREFIX = "v1"


class SealedFileError(Exception):
    """A sealed file or value is not one, was altered or cut short, or is opened for another organisation, purpose
    or place than the one it was sealed for."""


# -- the stream ---------------------------------------------------------------------------------------------------


def _file_key(org_key: bytes, salt: bytes, binding: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"phare-file-v1|" + binding).derive(org_key)


def _chunk_aad(header_hash: bytes, index: int, last: bool) -> bytes:
    return header_hash + struct.pack(">IB", index, last)


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", index, last)


class _Writer(io.RawIOBase):
    """Seals what is written to `fh`, a chunk at a time; `close` writes the last chunk. `abort` (on an error while
    writing) leaves the stream unfinished, so it never opens as a whole file."""

    def __init__(self, fh: Any, key: bytes, kid: str, binding: bytes) -> None:
        super().__init__()
        salt, prefix = os.urandom(16), os.urandom(7)
        header = json.dumps({"v": 1, "kid": kid, "salt": keys.b64e(salt), "prefix": keys.b64e(prefix)}).encode()
        self._fh = fh
        self._aead = AESGCM(_file_key(key, salt, binding))
        self._prefix = prefix
        self._hash = hashlib.sha256(header).digest()
        self._buf = bytearray()
        self._index = 0
        self.aborted = False
        fh.write(MAGIC + struct.pack(">I", len(header)) + header)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("write to a closed sealed file")
        self._buf += data
        while len(self._buf) > CHUNK:  # the last chunk stays in the buffer until close: only then is it the last
            self._emit(bytes(self._buf[:CHUNK]), last=False)
            del self._buf[:CHUNK]
        return len(data)

    def _emit(self, plain: bytes, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._index, last), plain,
                                    _chunk_aad(self._hash, self._index, last))  # fmt: skip
        self._fh.write(struct.pack(">I", len(sealed) | (_LAST if last else 0)) + sealed)
        self._index += 1

    def abort(self) -> None:
        self.aborted = True
        if hasattr(self._fh, "abort"):
            self._fh.abort()

    def close(self) -> None:
        if self.closed:
            return
        try:
            if not self.aborted:
                self._emit(bytes(self._buf), last=True)
            self._buf = bytearray()
            self._fh.close()
        finally:
            super().close()


class _Reader(io.RawIOBase):
    """Opens a sealed stream a chunk at a time; raises SealedFileError on anything altered, or at the end of a
    stream cut short."""

    def __init__(self, fh: Any, key_of: Any, binding: bytes) -> None:
        super().__init__()
        self._fh = fh
        if fh.read(len(MAGIC)) != MAGIC:
            fh.close()
            raise SealedFileError("not a sealed file")
        try:
            (size,) = struct.unpack(">I", fh.read(4))
            if size > _MAX_HEADER:
                raise ValueError("header too long")
            raw = fh.read(size)
            header = json.loads(raw)
            key = _file_key(key_of(str(header["kid"])), keys.b64d(header["salt"]), binding)
            self._prefix = keys.b64d(header["prefix"])
        except (ValueError, KeyError, TypeError, struct.error) as exc:
            fh.close()
            raise SealedFileError("the sealed file's header is damaged") from exc
        self._aead = AESGCM(key)
        self._hash = hashlib.sha256(raw).digest()
        self._index = 0
        self._plain = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def _next(self) -> None:
        frame = self._fh.read(4)
        if len(frame) < 4:
            raise SealedFileError("the sealed file is cut short")
        (word,) = struct.unpack(">I", frame)
        last, size = bool(word & _LAST), word & ~_LAST
        if size > CHUNK + _TAG:  # never read more than a chunk on the word of a damaged file
            raise SealedFileError("the sealed file was altered")
        sealed = self._fh.read(size)
        try:
            plain = self._aead.decrypt(_nonce(self._prefix, self._index, last), sealed,
                                       _chunk_aad(self._hash, self._index, last))  # fmt: skip
        except InvalidTag as exc:
            raise SealedFileError("the sealed file was altered, or belongs to another organisation or place") from exc
        self._index += 1
        if last:
            if self._fh.read(1):
                raise SealedFileError("the sealed file has data after its last chunk")
            self._done = True
        self._plain = memoryview(plain)

    def readinto(self, b: Any) -> int:
        while not self._plain and not self._done:
            self._next()
        n = min(len(b), len(self._plain))
        b[:n] = self._plain[:n]
        self._plain = self._plain[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
        super().close()


class _BinaryWriter(io.BufferedWriter):
    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        if exc_type is not None:
            self.raw.abort()  # type: ignore[attr-defined]
        super().__exit__(exc_type, *rest)


class _TextWriter(io.TextIOWrapper):
    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        if exc_type is not None:
            self.buffer.raw.abort()  # type: ignore[attr-defined]
        super().__exit__(exc_type, *rest)


# -- files --------------------------------------------------------------------------------------------------------


def _org_key(kid: str) -> bytes:
    if not kid.startswith("o"):
        raise SealedFileError("a sealed file names an organisation key")
    try:
        return keys.key_by_kid(kid)
    except keys.CryptoKeyError as exc:
        raise SealedFileError(f"the key of this sealed file is missing: {exc}") from exc


def _person_key(kid: str) -> bytes:
    if not kid.startswith("p"):
        raise SealedFileError("this sealed file names a person's key")
    try:
        return keys.key_by_kid(kid)
    except keys.CryptoKeyError as exc:
        raise SealedFileError(f"the person's key of this sealed file is gone: {exc}") from exc


class SealedFile:
    """A file kept sealed at rest with its organisation's data key, opened like a Path: `open("w")` seals what is
    written (into `NAME.part`, renamed once whole, so nobody opens half a file), `open("r")` / `open("rb")` opens it
    a chunk at a time. `purpose` and the place under DATA_DIR are bound into it.

    With `subject` (a person's uid), the file is sealed with that person's key instead (a document about them):
    destroying the key (erasure, `keys.shred_person`) leaves the file unreadable wherever a copy of it lies."""

    def __init__(self, path: Path, organisation_id: int, purpose: str, subject: Any = None) -> None:
        self.path = Path(path)
        self.organisation_id = int(organisation_id)
        self.purpose = purpose
        self.subject = str(subject) if subject else ""
        try:
            self.ref = self.path.relative_to(Path(settings.DATA_DIR)).as_posix()
        except ValueError:
            self.ref = self.path.name

    def __repr__(self) -> str:
        return f"SealedFile({str(self.path)!r}, {self.organisation_id}, {self.purpose!r})"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def parent(self) -> Path:
        return self.path.parent

    def _binding(self) -> bytes:
        person = f"|p:{self.subject}" if self.subject else ""
        return f"{self.organisation_id}|{self.purpose}|{self.ref}{person}".encode()

    def exists(self) -> bool:
        return self.path.exists()

    def unlink(self, missing_ok: bool = False) -> None:
        self.path.with_name(self.path.name + ".part").unlink(missing_ok=True)
        self.path.unlink(missing_ok=missing_ok)

    def open(self, mode: str = "r", buffering: int = -1, encoding: str | None = None, errors: str | None = None,
             newline: str | None = None) -> IO[Any]:  # fmt: skip
        if mode not in ("r", "rb", "w", "wb"):
            raise ValueError(f"a sealed file opens for reading or writing, not {mode!r}")
        if "w" in mode:
            return self._writer(mode, encoding, errors, newline)
        raw = _Reader(self.path.open("rb"), _person_key if self.subject else _org_key, self._binding())
        binary = io.BufferedReader(raw, CHUNK)
        if mode == "rb":
            return binary
        return io.TextIOWrapper(binary, encoding=encoding or "utf-8", errors=errors, newline=newline)

    def _writer(self, mode: str, encoding: str | None, errors: str | None, newline: str | None) -> IO[Any]:
        part = self.path.with_name(self.path.name + ".part")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        fh = _Finishing(os.fdopen(fd, "wb"), part, self.path)
        if self.subject:
            pk, key = keys.person_key_for(self.organisation_id, self.subject)
            kid = keys.kid("p", pk, key)
        else:
            pk, key = keys.active_org_key(self.organisation_id, "data")
            kid = keys.kid("o", pk, key)
        binary = _BinaryWriter(_Writer(fh, key, kid, self._binding()), CHUNK)
        if mode == "wb":
            return binary
        return _TextWriter(binary, encoding=encoding or "utf-8", errors=errors, newline=newline, write_through=False)

    def read_text(self, encoding: str = "utf-8") -> str:
        with self.open("r", encoding=encoding) as fh:
            return str(fh.read())

    def write_text(self, data: str, encoding: str = "utf-8") -> int:
        with self.open("w", encoding=encoding, newline="") as fh:
            return int(fh.write(data))

    def read_bytes(self) -> bytes:
        with self.open("rb") as fh:
            return bytes(fh.read())

    def write_chunks(self, chunks: Any) -> None:
        with self.open("wb") as fh:
            for chunk in chunks:
                fh.write(chunk)

    @contextlib.contextmanager
    def clear_copy(self) -> Iterator[Path]:
        """The file's content under its own name in a file held in memory, for a reader that needs a path; gone
        when the block ends. The whole file is checked before the block starts (a file cut short never reaches a
        reader half-read)."""
        with memory_file(self.name) as path:
            with self.open("rb") as src, path.open("wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
            yield path


class _Finishing(io.RawIOBase):
    """The `.part` file a sealed file is written to, renamed to its name once closed without an error."""

    def __init__(self, fh: IO[bytes], part: Path, final: Path) -> None:
        super().__init__()
        self._fh, self._part, self._final = fh, part, final
        self.aborted = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self._fh.write(data)

    def abort(self) -> None:
        self.aborted = True

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._fh.close()
            if self.aborted:
                self._part.unlink(missing_ok=True)
            else:
                os.replace(self._part, self._final)
        finally:
            super().close()


# -- memory-backed paths ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def memory_file(name: str) -> Iterator[Path]:
    """A path named `name` (in a private temporary folder) whose content lives in memory only: a symbolic link to a
    Linux memfd through /proc/self/fd, which a forked reading process opens too. Removed when the block ends.

    Where the system has no memfd, the file is an ordinary temporary file, deleted when the block ends."""
    folder = Path(tempfile.mkdtemp(prefix="phare-"))  # mode 0700
    path = folder / (Path(name).name or "file")
    fd = -1
    try:
        try:
            fd = os.memfd_create(path.name)
            os.symlink(f"/proc/self/fd/{fd}", path)
            if not path.exists():  # no /proc
                raise OSError("no /proc/self/fd")
        except (AttributeError, OSError):
            if fd >= 0:
                os.close(fd)
                fd = -1
            path.unlink(missing_ok=True)
            log.warning("no memfd: %s is held in an ordinary temporary file while it is read", path.name)
        yield path
    finally:
        if fd >= 0:
            os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)


# -- values -------------------------------------------------------------------------------------------------------


def _value_aad(organisation_id: int, purpose: str, ref: str) -> bytes:
    return f"phare:value:{organisation_id}:{purpose}:{ref}".encode()


def seal_value(organisation_id: int, purpose: str, ref: str, value: Any) -> str:
    """`value` (anything JSON holds) as a token sealed with the organisation's data key, bound to `purpose` and
    `ref` (such as a job's id): `v1:<key id>:<nonce+ciphertext>`."""
    pk, key = keys.active_org_key(organisation_id, "data")
    body = keys.seal_bytes(key, json.dumps(value, default=str).encode(), _value_aad(organisation_id, purpose, ref))
    return f"{VALUE_PREFIX}:{keys.kid('o', pk, key)}:{body}"


def open_value(organisation_id: int, purpose: str, ref: str, token: str) -> Any:
    try:
        prefix, kid, body = token.split(":", 2)
        if prefix != VALUE_PREFIX:
            raise ValueError(prefix)
        plain = keys.open_bytes(_org_key(kid), body, _value_aad(organisation_id, purpose, ref))
    except (ValueError, InvalidTag) as exc:
        raise SealedFileError(f"a sealed {purpose} does not open here") from exc
    return json.loads(plain)
